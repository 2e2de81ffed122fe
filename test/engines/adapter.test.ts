/**
 * The Tekton/Argo adapter (src/platforms/results-dir.ts) through the real CLI
 * entry: result files on success and failure, Tekton's result budget, the
 * kubeconfig Secret, the writable-workspace check and AICR_CI_PLATFORM.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parseResultPaths, ResultsDirPlatform, tektonEntryBytes } from '../../src/platforms/results-dir.ts';
import { selectPlatform } from '../../src/platforms/select.ts';
import { AICR, NO_AICR, ROOT, tempDir } from '../helpers/env.ts';

const CLI = path.join(ROOT, 'src', 'entries', 'cli.ts');

function cli(args: string[], env: Record<string, string>, cwd: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('results-dir adapter (AICR_CI_PLATFORM=tekton|argo)', () => {
  it('selectPlatform picks tekton and argo, rejects others, and AICR_CI_PLATFORM never becomes the recipe input `platform`', () => {
    const p = selectPlatform(new Map(), { AICR_CI_PLATFORM: 'tekton', AICR_CI_OUTPUTS_DIR: '/x' });
    assert.equal(p.name, 'tekton');
    assert.equal(p.input('platform'), undefined);
    assert.equal(selectPlatform(new Map(), { AICR_CI_PLATFORM: 'argo' }).name, 'argo');
    assert.equal(selectPlatform(new Map(), { AICR_CI_PLATFORM: 'shell' }).input('platform'), undefined);
    assert.throws(() => selectPlatform(new Map(), { AICR_CI_PLATFORM: 'jenkins' }), /not one of: shell, tekton, argo/);
  });

  it('parseResultPaths reads name=path pairs and rejects malformed ones', () => {
    assert.deepEqual([...parseResultPaths(' a=/r/a\n b=/r/b ')], [['a', '/r/a'], ['b', '/r/b']]);
    assert.throws(() => parseResultPaths('a'), /not name=path/);
  });

  it('tekton: a bad param fails with the input message, and every result named in AICR_CI_RESULT_PATHS is written', () => {
    const res = tempDir();
    const ws = tempDir();
    const names = ['bundle-dir', 'checksums-sha256', 'file-count', 'deployer', 'error'];
    const r = cli(['bundle'], { AICR_CI_PLATFORM: 'tekton', AICR_CI_RESULT_PATHS: names.map((n) => `${n}=${res}/${n}`).join(' '), AICR_CI_DEPLOYER: 'flux' }, ws);
    assert.equal(r.code, 2);
    assert.deepEqual(fs.readdirSync(res).sort(), [...names].sort());
    assert.equal(fs.readFileSync(path.join(res, 'error'), 'utf8'), "bundle: invalid input\ninput 'deployer': expected one of helm, argocd; got 'flux'");
    assert.equal(fs.readFileSync(path.join(res, 'deployer'), 'utf8'), '');
    assert.deepEqual(JSON.parse(r.stdout.trim()), { error: "bundle: invalid input\ninput 'deployer': expected one of helm, argocd; got 'flux'" });
  });

  it('argo: failureOutputs (outcome=error) and every declared output plus error land in AICR_CI_OUTPUTS_DIR', () => {
    const out = tempDir();
    const r = cli(['drift-check', '--baseline', 'nope.yaml', '--snapshot', 'nope.yaml'], { AICR_CI_PLATFORM: 'argo', AICR_CI_OUTPUTS_DIR: out }, tempDir());
    assert.equal(r.code, 2);
    assert.equal(fs.readFileSync(path.join(out, 'outcome'), 'utf8'), 'error');
    for (const n of ['changes', 'report-json', 'baseline-updated', 'artifact-name']) assert.equal(fs.readFileSync(path.join(out, n), 'utf8'), '');
    assert.match(fs.readFileSync(path.join(out, 'error'), 'utf8'), /^drift-check: /);
  });

  it('without AICR_CI_RESULT_PATHS or AICR_CI_OUTPUTS_DIR the step fails naming both', () => {
    const r = cli(['recipe', '--service', 'eks'], { AICR_CI_PLATFORM: 'tekton' }, tempDir());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /AICR_CI_PLATFORM=tekton needs AICR_CI_RESULT_PATHS .* or AICR_CI_OUTPUTS_DIR/);
  });

  it("tekton: a result that would overflow Tekton's 4096-byte budget is left empty with a warning naming it; the JSON line keeps it", async () => {
    const res = tempDir();
    let stdout = '';
    let stderr = '';
    const p = new ResultsDirPlatform('tekton', new Map(), { AICR_CI_RESULT_PATHS: `small=${res}/small big=${res}/big error=${res}/error`, AICR_CI_RESULTS_MAX_BYTES: '1000' }, {
      stdout: (s) => (stdout += s),
      stderr: (s) => (stderr += s),
    });
    const big = 'x'.repeat(2000);
    await p.setOutputs({ small: 'ok', big }, ['small', 'big']);
    assert.equal(fs.readFileSync(path.join(res, 'small'), 'utf8'), 'ok');
    assert.equal(fs.readFileSync(path.join(res, 'big'), 'utf8'), '');
    assert.match(stderr, /warning: result 'big' \(2000 bytes\) left empty: it does not fit in the \d+ bytes left of Tekton's 4096-byte result budget/);
    assert.equal(JSON.parse(stdout).big, big);
    assert.equal(tektonEntryBytes('a', '<&>'), '{"key":"a","value":"\\u003c\\u0026\\u003e","type":1}'.length);
  });

  it('tekton: a long error message is cut to fit rather than dropped', async () => {
    const res = tempDir();
    const p = new ResultsDirPlatform('tekton', new Map(), { AICR_CI_RESULT_PATHS: `error=${res}/error`, AICR_CI_RESULTS_MAX_BYTES: '300' }, { stdout: () => {}, stderr: () => {} });
    p.fail(`recipe: ${'y'.repeat(1000)}`);
    await p.setOutputs({}, []);
    const e = fs.readFileSync(path.join(res, 'error'), 'utf8');
    assert.match(e, /^recipe: y+…$/);
    assert.ok(tektonEntryBytes('error', e) <= 300);
  });

  it('kubeconfig: the mounted Secret is used when bound; a bound one without the key is named; Argo falls back when optional', () => {
    const dir = tempDir();
    const base = { AICR_CI_OUTPUTS_DIR: '/x' };
    assert.equal(new ResultsDirPlatform('tekton', new Map(), { ...base, AICR_CI_KUBECONFIG_DIR: '' }).input('kubeconfig'), undefined);
    assert.equal(new ResultsDirPlatform('tekton', new Map(), { ...base, AICR_CI_KUBECONFIG_DIR: dir }).input('kubeconfig'), path.join(dir, 'kubeconfig'));
    assert.equal(new ResultsDirPlatform('argo', new Map(), { ...base, AICR_CI_KUBECONFIG_DIR: dir, AICR_CI_KUBECONFIG_OPTIONAL: 'true' }).input('kubeconfig'), undefined);
    fs.writeFileSync(path.join(dir, 'config'), 'apiVersion: v1\n');
    const p = new ResultsDirPlatform('argo', new Map(), { ...base, AICR_CI_KUBECONFIG_DIR: dir, AICR_CI_KUBECONFIG_KEY: 'config', AICR_CI_KUBECONFIG_OPTIONAL: 'true' });
    assert.equal(p.input('kubeconfig'), path.join(dir, 'config'));
    assert.equal(new ResultsDirPlatform('argo', new Map([['kubeconfig', '/given']]), { ...base, AICR_CI_KUBECONFIG_DIR: dir }).input('kubeconfig'), '/given');
  });

  it('a workspace the step cannot write fails before any work, naming the directory, the uid and fsGroup', { skip: NO_AICR }, () => {
    const out = tempDir();
    const r = cli(['recipe', '--service', 'eks', '--aicr-path', AICR!], { AICR_CI_PLATFORM: 'argo', AICR_CI_OUTPUTS_DIR: out, AICR_CI_WRITABLE_DIRS: '/proc' }, tempDir());
    assert.equal(r.code, 2);
    assert.match(fs.readFileSync(path.join(out, 'error'), 'utf8'), /^recipe: workspace \/proc is not writable by uid \d+ gid \d+ \(E[A-Z]+\); the step runs as non-root: set the Workflow's securityContext\.fsGroup/);
    assert.doesNotMatch(r.stderr, /\$ .*aicr recipe/, 'aicr never ran');
  });
});
