/**
 * bundle stage against the real aicr.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { listFiles, sha256 } from '../../src/core/fsutil.ts';
import { AICR, fixture, NO_AICR, NO_FIXTURES, tempDir } from '../helpers/env.ts';
import { tree } from '../helpers/tree.ts';
import { runShellStage } from '../helpers/stage.ts';


describe('bundle stage (real aicr)', { skip: NO_AICR }, () => {
  let work = '';
  let recipe = '';
  before(() => {
    work = tempDir();
    recipe = path.join(work, 'recipe.yaml');
    execFileSync(AICR!, ['recipe', '--service', 'eks', '--accelerator', 'h100', '--intent', 'training', '--os', 'ubuntu', '--output', recipe], { stdio: 'ignore' });
  });

  for (const deployer of ['helm', 'argocd']) {
    it(`produces the same tree, byte for byte, as bare aicr bundle (${deployer})`, async () => {
      const out = path.join(work, `ours-${deployer}`);
      const sets = 'gpuoperator:driver.version=570.133.20\nprometheus:prometheus.prometheusSpec.retention=30d';
      const r = await runShellStage('bundle', { recipe, deployer, set: sets, 'accelerated-node-selector': 'nodeGroup=gpu-worker', 'accelerated-node-toleration': 'nvidia.com/gpu=present:NoSchedule', output: out, 'aicr-path': AICR! });
      assert.equal(r.code, 0, r.stderr);
      const bare = path.join(work, `bare-${deployer}`);
      execFileSync(AICR!, ['bundle', '--recipe', recipe, '--deployer', deployer, '--set', 'gpuoperator:driver.version=570.133.20', '--set', 'prometheus:prometheus.prometheusSpec.retention=30d', '--accelerated-node-selector', 'nodeGroup=gpu-worker', '--accelerated-node-toleration', 'nvidia.com/gpu=present:NoSchedule', '--output', bare], { stdio: 'ignore' });
      assert.deepEqual(await tree(out), await tree(bare));
      assert.equal(r.outputs['bundle-dir'], out);
      assert.equal(r.outputs['checksums-sha256'], sha256(fs.readFileSync(path.join(out, 'checksums.txt'))));
      assert.equal(Number(r.outputs['file-count']), (await listFiles(out)).length);
      const values = parse(fs.readFileSync(path.join(out, 'gpu-operator', 'values.yaml'), 'utf8')) as { driver: { version: string } };
      assert.equal(values.driver.version, '570.133.20');
      const components = JSON.parse(r.outputs.components) as { name: string }[];
      assert.ok(components.some((c) => c.name === 'gpu-operator'));
      assert.equal(r.outputs.deployer, deployer);
    });
  }

  it('refuses a non-empty output directory and leaves it untouched', async () => {
    const out = path.join(work, 'busy');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'old.txt'), 'keep');
    const r = await runShellStage('bundle', { recipe, output: out, 'aicr-path': AICR! });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /busy: is not empty \(1 entries\)/);
    assert.deepEqual(fs.readdirSync(out), ['old.txt']);
  });

  it('applies storage-class where the recipe chose a storage class', async () => {
    const out = path.join(work, 'sc');
    const r = await runShellStage('bundle', { recipe, 'storage-class': 'gp3', output: out, 'aicr-path': AICR! });
    assert.equal(r.code, 0, r.stderr);
    const v = parse(fs.readFileSync(path.join(out, 'kube-prometheus-stack', 'values.yaml'), 'utf8')) as {
      prometheus: { prometheusSpec: { storageSpec: { volumeClaimTemplate: { spec: { storageClassName: string } } } } };
    };
    assert.equal(v.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName, 'gp3');
  });

  it('warns about --set keys that match no component (aicr ignores them silently)', async () => {
    const r = await runShellStage('bundle', { recipe, set: 'nosuchcomponent:a.b=1', output: path.join(work, 'warn'), 'aicr-path': AICR! });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: Unused --set: set 'nosuchcomponent:a.b=1': component 'nosuchcomponent' is not in the recipe/);
  });

  it('turns aicr exit 8 on a recipe naming a missing manifest into a clear error, leaving no directory', { skip: NO_FIXTURES }, async () => {
    const out = path.join(work, 'broken');
    const r = await runShellStage('bundle', { recipe: fixture('recipes', 'aks-h100-ubuntu-training.yaml'), output: out, 'aicr-path': AICR! });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /aicr (--log-json )?bundle .* exited 8/);
    assert.equal(fs.existsSync(out), false);
    assert.deepEqual(fs.readdirSync(work).filter((f) => f.startsWith('.broken')), []);
  });
});

describe('bundle stage input checks (before aicr runs)', () => {
  const nowhere = '/nonexistent/aicr';
  const recipeFile = (): string => {
    const f = path.join(tempDir(), 'r.yaml');
    fs.writeFileSync(f, 'kind: RecipeResult\ncomponentRefs:\n  - name: gpu-operator\n');
    return f;
  };
  it('names the deployers the pinned aicr has', async () => {
    const r = await runShellStage('bundle', { recipe: recipeFile(), deployer: 'flux', 'aicr-path': nowhere });
    assert.match(r.stderr, /input 'deployer': expected one of helm, argocd; got 'flux'/);
  });
  it('rejects a --set value with a comma (aicr would split it)', async () => {
    const r = await runShellStage('bundle', { recipe: recipeFile(), set: 'gpuoperator:a=1,2', 'aicr-path': nowhere });
    assert.match(r.stderr, /input 'set': 'gpuoperator:a=1,2' contains a comma/);
  });
  it('rejects a malformed toleration', async () => {
    const r = await runShellStage('bundle', { recipe: recipeFile(), 'accelerated-node-toleration': 'nvidia.com/gpu=present', 'aicr-path': nowhere });
    assert.match(r.stderr, /input 'accelerated-node-toleration': 'nvidia.com\/gpu=present' is not key=value:Effect/);
  });
  it('requires a recipe', async () => {
    const r = await runShellStage('bundle', { 'aicr-path': nowhere });
    assert.match(r.stderr, /input 'recipe': is required/);
  });
  it('names a missing recipe file', async () => {
    const r = await runShellStage('bundle', { recipe: '/nonexistent/recipe.yaml', 'aicr-path': nowhere });
    assert.match(r.stderr, /input 'recipe': '\/nonexistent\/recipe.yaml' does not exist/);
  });
});
