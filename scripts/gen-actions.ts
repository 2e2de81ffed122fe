/**
 * Generate every action.yml from the stage specs, so the actions, the shell
 * CLI and the docs can never disagree on an input. `npm run gen`; the test
 * `actions are generated from specs` fails when a file is stale.
 *
 * Usage: node scripts/gen-actions.ts [--check]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderActionYaml, actionFiles } from '../src/docs/action-yaml.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
let stale = 0;
for (const { file, stage } of await actionFiles()) {
  const target = path.join(root, file);
  const text = renderActionYaml(stage.spec, file);
  const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
  if (current === text) continue;
  stale++;
  if (check) {
    process.stderr.write(`stale: ${file}\n`);
  } else {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text);
    process.stderr.write(`wrote ${file}\n`);
  }
}
if (check && stale > 0) process.exitCode = 1;
