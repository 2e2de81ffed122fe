/**
 * The committed dist entries run as the GitHub runner runs them (INPUT_*,
 * GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP), job after job, handing
 * products over through @actions/artifact against the EMULATED Actions
 * artifact service (test/helpers/actions-runtime.ts). aicr is the real one.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { sha256 } from '../../src/core/fsutil.ts';
import { runAction } from '../helpers/action-runner.ts';
import { startActionsRuntime, type ActionsRuntime } from '../helpers/actions-runtime.ts';
import { AICR, NO_AICR, ROOT, tempDir } from '../helpers/env.ts';

const entry = (stage: string): string => path.join(ROOT, 'dist', stage, 'index.js');

describe('actions pipeline from dist/ on an emulated runner with the emulated artifact service', { skip: NO_AICR }, () => {
  let runtime: ActionsRuntime;
  let bareRecipe = '';
  before(async () => {
    runtime = await startActionsRuntime();
    bareRecipe = path.join(tempDir(), 'bare.yaml');
  });
  after(async () => {
    await runtime.close();
  });
  /** A fresh job: its own workspace and runtime token, same run. */
  const job = (): { env: Record<string, string>; cwd: string } => {
    const cwd = tempDir();
    return { env: { ...runtime.jobEnv(), GITHUB_WORKSPACE: cwd }, cwd };
  };

  let checksums = '';
  it('snapshot → recipe → bundle → deploy (dry-run) → validate across jobs', async () => {
    const j1 = job();
    const snap = await runAction(entry('snapshot'), { mode: 'local', cluster: 'ci', 'aicr-path': AICR!, 'artifact-name': 'aicr-snapshot' }, j1);
    assert.equal(snap.exitCode, 0, snap.stderr + snap.stdout);
    assert.match(snap.outputs['snapshot-path'], /snapshot-ci-\d{8}T\d{6}Z\.yaml$/);
    assert.equal(snap.outputs['artifact-name'], 'aicr-snapshot');
    const stored = runtime.artifacts({ name: 'aicr-snapshot' })[0];
    assert.deepEqual(Object.keys(stored.files()).sort(), [path.basename(snap.outputs['metadata-path']), path.basename(snap.outputs['snapshot-path'])].sort());
    assert.match(snap.summary, /## AICR snapshot of `ci`/);
    assert.match(snap.summary, /\| Kubernetes \| GPUs \|/);

    const j2 = job();
    const recipe = await runAction(entry('recipe'), { 'snapshot-artifact': 'aicr-snapshot', service: 'kind', intent: 'training', 'aicr-path': AICR!, 'artifact-name': 'aicr-recipe' }, j2);
    assert.equal(recipe.exitCode, 0, recipe.stderr + recipe.stdout);
    execFileSync(AICR!, ['recipe', '--snapshot', snap.outputs['snapshot-path'], '--service', 'kind', '--intent', 'training', '--format', 'yaml', '--output', bareRecipe], { stdio: 'ignore' });
    assert.deepEqual(fs.readFileSync(recipe.outputs['recipe-path']), fs.readFileSync(bareRecipe), 'recipe bytes equal bare aicr');
    const components = JSON.parse(recipe.outputs.components) as { name: string; version: string; chart: string }[];
    for (const c of components) assert.match(recipe.summary, new RegExp(`\\| ${c.name} \\| ${c.version.replace(/[.]/g, '\\.')} \\|`));

    const j3 = job();
    const bundle = await runAction(entry('bundle'), { 'recipe-artifact': 'aicr-recipe', 'aicr-path': AICR!, 'artifact-name': 'aicr-bundle' }, j3);
    assert.equal(bundle.exitCode, 0, bundle.stderr + bundle.stdout);
    checksums = bundle.outputs['checksums-sha256'];
    assert.equal(checksums, sha256(fs.readFileSync(path.join(bundle.outputs['bundle-dir'], 'checksums.txt'))));
    const uploaded = runtime.artifacts({ name: 'aicr-bundle' })[0].files();
    assert.equal(Object.keys(uploaded).length, Number(bundle.outputs['file-count']));
    assert.ok(uploaded['deploy.sh'] && uploaded['checksums.txt']);

    const j4 = job();
    const deploy = await runAction(entry('deploy'), { 'bundle-artifact': 'aicr-bundle', 'expected-checksums-sha256': checksums, 'dry-run': 'true' }, j4);
    assert.equal(deploy.exitCode, 0, deploy.stderr + deploy.stdout);
    assert.equal(deploy.outputs['checksums-sha256'], checksums);
    const recipeDoc = parse(fs.readFileSync(bareRecipe, 'utf8')) as { deploymentOrder: string[] };
    assert.deepEqual((JSON.parse(deploy.outputs.plan) as { component: string }[]).map((s) => s.component), recipeDoc.deploymentOrder);
    assert.match(deploy.summary, /dry-run: nothing was run/);

    const j5 = job();
    const validate = await runAction(entry('validate'), { 'recipe-artifact': 'aicr-recipe', 'snapshot-artifact': 'aicr-snapshot', snapshot: path.basename(snap.outputs['snapshot-path']), 'no-cluster': 'true', 'aicr-path': AICR! }, j5);
    assert.equal(validate.exitCode, 0, validate.stderr + validate.stdout);
    assert.equal(validate.outputs.outcome, 'passed');
    assert.equal(validate.outputs.skipped, validate.outputs.tests);
  });

  it('a tampered bundle artifact is refused by deploy with an error annotation and no outputs', async () => {
    const files = runtime.artifacts({ name: 'aicr-bundle' })[0].files();
    const tampered: Record<string, Buffer> = { ...files, 'gpu-operator/values.yaml': Buffer.concat([files['gpu-operator/values.yaml'] ?? Buffer.from(''), Buffer.from('\n# x\n')]) };
    runtime.seedArtifact({ name: 'tampered-bundle', files: tampered, runId: runtime.run.id });
    const j = job();
    const r = await runAction(entry('deploy'), { 'bundle-artifact': 'tampered-bundle', 'expected-checksums-sha256': checksums }, j);
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.outputs, {});
    const err = r.annotations.find((a) => a.level === 'error');
    assert.match(err?.message ?? '', /bundle failed verification, nothing was run/);
  });

  it('log-format json: every log line of the step is one JSON object, steps carry duration_ms', async () => {
    const j = job();
    const r = await runAction(entry('recipe'), { service: 'eks', accelerator: 'h100', 'log-format': 'json', 'aicr-path': AICR!, 'artifact-name': '' }, j);
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l && !l.startsWith('::'));
    assert.ok(lines.length > 3);
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const aicrStep = events.find((e) => e.event === 'aicr.recipe');
    assert.equal(aicrStep?.status, 'ok');
    assert.equal(typeof aicrStep?.duration_ms, 'number');
    assert.ok(events.some((e) => typeof e.message === 'string' && (e.message as string).startsWith('$ ') && (e.message as string).includes('--log-json recipe --service eks')));
    assert.ok(events.some((e) => e.msg !== undefined || (typeof e.message === 'string' && (e.message as string).includes('"msg"'))), 'aicr itself logged JSON');
  });

  it('bad input fails before aicr runs: error annotation, no outputs, no artifact', async () => {
    const j = job();
    const before = runtime.artifacts().length;
    const r = await runAction(entry('bundle'), { recipe: 'nope.yaml', deployer: 'flux', 'aicr-path': '/nonexistent/aicr', 'artifact-name': 'never' }, j);
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.outputs, {});
    assert.match(r.annotations.find((a) => a.level === 'error')?.message ?? '', /input 'deployer': expected one of helm, argocd; got 'flux'/);
    assert.equal(runtime.artifacts().length, before);
  });

  it('the root action installs aicr into the tool cache and adds it to PATH', async () => {
    // Reuse from PATH when the version matches: the installed aicr reports the pinned version.
    const version = execFileSync(AICR!, ['--version'], { encoding: 'utf8' });
    const j = job();
    const r = await runAction(path.join(ROOT, 'dist', 'setup', 'index.js'), { version: 'v0.11.1' }, { ...j, env: { ...j.env, PATH: `${path.dirname(AICR!)}:${process.env.PATH}` } });
    if (!/ 0\.11\.1 /.test(version)) {
      assert.notEqual(r.exitCode, 0, 'an aicr that does not report 0.11.1 is not reused; the download from github.com cannot happen here');
      return;
    }
    assert.equal(r.exitCode, 0, r.stderr + r.stdout);
    assert.equal(r.outputs['cache-hit'], 'path');
    assert.deepEqual(r.path, [path.dirname(AICR!)]);
  });
});
