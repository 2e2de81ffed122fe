/**
 * Generated and committed files are what the sources produce: dist/ (ncc),
 * every action.yml (from the stage specs), and the workflows pass actionlint.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { PINNED_AICR_VERSION } from '../../src/core/version.ts';
import { actionFiles, renderActionYaml } from '../../src/docs/action-yaml.ts';
import { actionSection, renderReadme } from '../../src/docs/readme.ts';
import { ACTIONLINT, ROOT, tempDir } from '../helpers/env.ts';
import { tree } from '../helpers/tree.ts';


const inGit = spawnSync('git', ['-C', ROOT, 'rev-parse', '--is-inside-work-tree'], { encoding: 'utf8' }).stdout.trim() === 'true';

describe('generated files', () => {
  it('dist/ is exactly what src/ builds to (no stale, missing or extra files), and is committed', async () => {
    const fresh = tempDir('aicr-ci-dist-');
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), fresh], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    const want = await tree(fresh);
    const have = await tree(path.join(ROOT, 'dist'));
    const missing = Object.keys(want).filter((f) => !(f in have));
    const extra = Object.keys(have).filter((f) => !(f in want));
    const stale = Object.keys(want).filter((f) => f in have && have[f] !== want[f]);
    assert.deepEqual({ missing, extra, stale }, { missing: [], extra: [], stale: [] }, 'run `npm run build` and commit dist/');
    if (inGit) {
      const status = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=all', '--', 'dist'], { encoding: 'utf8' });
      assert.equal(status, '', 'dist/ differs from what is committed (new untracked files included)');
    }
  });

  it('every action.yml is generated from its stage spec', async () => {
    for (const { file, stage } of await actionFiles()) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      assert.equal(text, renderActionYaml(stage.spec, file), `${file} is stale: run \`npm run gen\``);
      assert.match(text, /using: node24/);
      assert.ok(fs.existsSync(path.resolve(ROOT, path.dirname(file), /main: (\S+)/.exec(text)![1])), `${file} main exists`);
    }
  });

  it('README.md\'s action reference and included workflows are up to date', async () => {
    const actions = await actionFiles();
    const sections = actions.map(({ file, stage }) => actionSection(stage.spec, file === 'action.yml' ? 'nvidia/aicr@v1' : `nvidia/aicr/${path.dirname(file)}@v1`));
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    assert.equal(readme, renderReadme(readme, sections, (p) => fs.readFileSync(path.join(ROOT, p), 'utf8')), 'README.md is stale: run `npm run gen`');
    for (const { stage } of actions) assert.match(readme, new RegExp(`— ${stage.spec.title}\\n`), `README has a section for ${stage.spec.name}`);
  });

  it('actions/ holds exactly one action per stage', async () => {
    const names = (await actionFiles()).map((a) => a.file).filter((f) => f.startsWith('actions/')).map((f) => f.split('/')[1]).sort();
    assert.deepEqual(fs.readdirSync(path.join(ROOT, 'actions')).sort(), names);
    assert.deepEqual(names, ['bundle', 'deploy', 'drift-check', 'recipe', 'snapshot', 'validate']);
  });

  it('the workflows pass actionlint with no findings', { skip: ACTIONLINT ? false : 'actionlint not installed (scripts/setup-env.mjs installs it)' }, () => {
    const r = spawnSync(ACTIONLINT!, ['-no-color'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(`${r.stdout}${r.stderr}`, '');
    assert.equal(r.status, 0);
    const workflows = fs.readdirSync(path.join(ROOT, '.github', 'workflows'));
    const uses = workflows.map((w) => fs.readFileSync(path.join(ROOT, '.github', 'workflows', w), 'utf8')).join('\n');
    for (const stage of ['snapshot', 'recipe', 'bundle', 'deploy', 'validate', 'drift-check']) {
      assert.match(uses, new RegExp(`uses: \\./actions/${stage}\\n`), `a workflow uses ./actions/${stage}`);
    }
  });

  it('.aicr-version matches the version the suite pins', () => {
    assert.equal(fs.readFileSync(path.join(ROOT, '.aicr-version'), 'utf8').trim(), PINNED_AICR_VERSION);
  });

  it('no workflow interpolates an expression into a run: script', () => {
    for (const w of fs.readdirSync(path.join(ROOT, '.github', 'workflows'))) {
      const text = fs.readFileSync(path.join(ROOT, '.github', 'workflows', w), 'utf8');
      const runBlocks = text.split('\n').reduce<{ inRun: boolean; indent: number; bad: string[] }>(
        (acc, line) => {
          const m = /^(\s*)(- )?run: ?(.*)$/.exec(line);
          if (m) {
            const inline = m[3];
            if (inline.includes('${{')) acc.bad.push(line.trim());
            return { inRun: inline === '|' || inline === '>' || inline === '', indent: m[1].length + (m[2] ? 2 : 0), bad: acc.bad };
          }
          if (acc.inRun) {
            const indent = /^(\s*)/.exec(line)![1].length;
            if (line.trim() && indent <= acc.indent) return { ...acc, inRun: false };
            if (line.includes('${{')) acc.bad.push(line.trim());
          }
          return acc;
        },
        { inRun: false, indent: 0, bad: [] },
      ).bad;
      assert.deepEqual(runBlocks, [], `${w}: pass expressions through env:, not into run:`);
    }
  });
});
