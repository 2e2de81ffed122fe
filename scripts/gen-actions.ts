/**
 * Generate every action.yml and the generated parts of README.md from the
 * stage specs, so the actions, the shell CLI and the docs can never disagree
 * on an input. `npm run gen`; the test `generated files` fails when one is stale.
 *
 * Usage: node scripts/gen-actions.ts [--check]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { actionFiles, renderActionYaml } from '../src/docs/action-yaml.ts';
import { actionSection, renderReadme } from '../src/docs/readme.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
let stale = 0;

function emit(file: string, text: string): void {
  const target = path.join(root, file);
  const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
  if (current === text) return;
  stale++;
  if (check) {
    process.stderr.write(`stale: ${file}\n`);
    return;
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, text);
  process.stderr.write(`wrote ${file}\n`);
}

const actions = await actionFiles();
for (const { file, stage } of actions) emit(file, renderActionYaml(stage.spec, file));
const sections = actions.map(({ file, stage }) => actionSection(stage.spec, file === 'action.yml' ? 'nvidia/aicr@v1' : `nvidia/aicr/${path.dirname(file)}@v1`));
const readme = path.join(root, 'README.md');
emit('README.md', renderReadme(fs.readFileSync(readme, 'utf8'), sections, (p) => fs.readFileSync(path.join(root, p), 'utf8')));
if (check && stale > 0) process.exitCode = 1;
