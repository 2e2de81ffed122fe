/**
 * Every bad input of the issue, through the shell adapter: a clear message
 * naming the file (or URI) and the problem, outcome `error`, exit 2, and no
 * report that looks valid.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fixture, NO_FIXTURES, tempDir } from '../helpers/env.ts';
import { runShellStage } from '../helpers/stage.ts';
import { NO_K8S, saKubeconfig } from '../helpers/k8s.ts';
import { closedPort, cmStore, filesIn, serve } from './helpers.ts';
import { MAX_SNAPSHOT_BYTES } from '../../src/drift/index.ts';

const SNAPSHOT = 'kind: Snapshot\napiVersion: aicr.nvidia.com/v1alpha1\nmetadata:\n  timestamp: "2026-01-01T00:00:00Z"\nmeasurements:\n- type: GPU\n  subtypes:\n  - subtype: smi\n    data:\n      driver: 570.133.20\n';

/** Run drift-check with `bad` as the baseline and a good current snapshot; assert the error contract. */
async function expectError(bad: { file?: string; text?: string; ref?: string }, message: RegExp, extra: Record<string, string> = {}, env: Record<string, string> = {}): Promise<string> {
  const dir = tempDir('aicr-drift-bad-');
  const good = path.join(dir, 'current.yaml');
  fs.writeFileSync(good, SNAPSHOT);
  let ref = bad.ref ?? bad.file;
  if (bad.text !== undefined) {
    ref = path.join(dir, 'baseline.yaml');
    fs.writeFileSync(ref, bad.text);
  }
  const reportDir = path.join(dir, 'report');
  const r = await runShellStage('drift-check', { baseline: ref as string, snapshot: good, 'report-dir': reportDir, 'http-retries': '0', ...extra }, env);
  assert.equal(r.code, 2, `exit code; stderr:\n${r.stderr}`);
  assert.equal(r.outputs.outcome, 'error');
  assert.match(r.outputs.error ?? '', message);
  for (const o of ['changes', 'report-json', 'report-markdown', 'report-patch', 'report-metrics']) assert.equal(r.outputs[o], undefined, `output ${o} must not be set`);
  assert.deepEqual(filesIn(reportDir), [], 'no report may be written');
  assert.deepEqual(
    filesIn(dir).filter((f) => f.startsWith('.report')),
    [],
    'no temporary report directory may be left behind',
  );
  return r.outputs.error ?? '';
}

describe('bad input: each is an error naming the file and the problem, with no report', () => {
  it('a YAML mapping that is not a snapshot', async () => {
    await expectError({ text: 'kind: RecipeResult\napiVersion: aicr.nvidia.com/v1alpha1\ncomponentRefs: []\n' }, /baseline\.yaml: baseline: is not a snapshot: kind is 'RecipeResult', expected 'Snapshot'/);
  });

  it('a real recipe fixture given as the baseline', { skip: NO_FIXTURES }, async () => {
    const f = fixture('recipes', 'eks-any-training.yaml');
    await expectError({ file: f }, new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: baseline: is not a snapshot`));
  });

  it('a snapshot with no measurements', async () => {
    await expectError({ text: 'kind: Snapshot\napiVersion: aicr.nvidia.com/v1alpha1\nmeasurements: []\n' }, /baseline\.yaml: baseline: is a snapshot with no measurements/);
  });

  it('malformed YAML', async () => {
    await expectError({ text: 'kind: Snapshot\nmeasurements: [\n  - type: GPU\n' }, /baseline\.yaml: baseline: malformed YAML at line \d+/);
  });

  it('duplicate keys', async () => {
    await expectError({ text: `${SNAPSHOT}      driver: 580.82.07\n` }, /baseline\.yaml: baseline: duplicate key at line 11/);
  });

  it('a YAML alias bomb', async () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const text = `kind: Snapshot\napiVersion: aicr.nvidia.com/v1alpha1\nbomb:\n  ${levels.join('\n  ')}\nmeasurements:\n- type: GPU\n`;
    await expectError({ text }, /baseline\.yaml: baseline: too many YAML alias expansions \(limit 100\); refusing a possible alias bomb/);
  });

  it('an alias bomb over the alias count', async () => {
    const text = `kind: Snapshot\napiVersion: aicr.nvidia.com/v1alpha1\nx: &x "y"\nmany: [${Array(150).fill('*x').join(',')}]\nmeasurements:\n- type: GPU\n`;
    await expectError({ text }, /too many YAML alias expansions \(limit 100\)/);
  });

  it(`a file over the size limit (${MAX_SNAPSHOT_BYTES} bytes)`, async () => {
    const dir = tempDir('aicr-drift-big-');
    const big = path.join(dir, 'huge.yaml');
    const fd = fs.openSync(big, 'w');
    fs.ftruncateSync(fd, MAX_SNAPSHOT_BYTES + 1); // sparse: costs no disk
    fs.closeSync(fd);
    await expectError({ file: big }, new RegExp(`huge\\.yaml: baseline: is ${MAX_SNAPSHOT_BYTES + 1} bytes, over the limit of ${MAX_SNAPSHOT_BYTES} bytes`));
  });

  it('a missing baseline', async () => {
    await expectError({ ref: '/nonexistent/baseline.yaml' }, /\/nonexistent\/baseline\.yaml: baseline: does not exist/);
  });

  it('no baseline at all', async () => {
    await expectError({ ref: '' }, /input 'baseline': is required/);
  });

  it(`a cm:// that does not exist (ConfigMap, and namespace) (${NO_K8S ? `loopback stand-in: ${NO_K8S}` : 'real API server'})`, async () => {
    const kube = await cmStore({ 'aicr-system': {} });
    try {
      const ns = kube.ns('aicr-system');
      await expectError({ ref: `cm://${ns}/drift-baseline` }, new RegExp(`baseline cannot read cm://${ns}/drift-baseline: ConfigMap 'drift-baseline' does not exist in namespace '${ns}'`), { kubeconfig: kube.kubeconfig });
      await expectError({ ref: 'cm://nowhere/drift-baseline' }, /baseline cannot read cm:\/\/nowhere\/drift-baseline: namespace 'nowhere' does not exist/, { kubeconfig: kube.kubeconfig });
    } finally {
      await kube.close();
    }
  });

  it('a cm:// baseline the credentials may not read (real RBAC: a ServiceAccount without rights)', { skip: NO_K8S }, async () => {
    const kube = await cmStore({ 'aicr-system': { 'drift-baseline': { 'snapshot.yaml': SNAPSHOT, format: 'yaml' } } });
    try {
      const ns = kube.ns('aicr-system');
      const sa = saKubeconfig(ns, 'no-rights');
      await expectError(
        { ref: `cm://${ns}/drift-baseline` },
        new RegExp(`^drift-check: baseline cannot read cm://${ns}/drift-baseline: forbidden: the credentials lack RBAC permission \\(configmaps "drift-baseline" is forbidden: User "system:serviceaccount:${ns}:no-rights" cannot get resource "configmaps"`),
        { kubeconfig: sa },
      );
    } finally {
      await kube.close();
    }
  });

  it('an unreachable URL', async () => {
    const port = await closedPort();
    await expectError({ ref: `http://127.0.0.1:${port}/baseline.yaml` }, new RegExp(`baseline GET http://127\\.0\\.0\\.1:${port}/baseline\\.yaml failed after 0 retries: ECONNREFUSED`));
  });

  it('a URL answering 404, and a URL serving a non-snapshot', async () => {
    const srv = await serve((req, res) => {
      if (req.url === '/recipe.yaml') {
        res.writeHead(200, { 'content-type': 'application/yaml' });
        res.end('kind: RecipeResult\ncomponentRefs: []\n');
      } else {
        res.writeHead(404);
        res.end('no such file');
      }
    });
    try {
      await expectError({ ref: `${srv.url}/gone.yaml` }, /baseline GET http:\/\/127\.0\.0\.1:\d+\/gone\.yaml answered HTTP 404: no such file/);
      await expectError({ ref: `${srv.url}/recipe.yaml` }, /http:\/\/127\.0\.0\.1:\d+\/recipe\.yaml: baseline: is not a snapshot/);
    } finally {
      await srv.close();
    }
  });

  it('a broken current snapshot is an error too, never clean or drift', async () => {
    const dir = tempDir('aicr-drift-bad-');
    const base = path.join(dir, 'baseline.yaml');
    fs.writeFileSync(base, SNAPSHOT);
    const cur = path.join(dir, 'current.yaml');
    fs.writeFileSync(cur, 'just: a mapping\n');
    const r = await runShellStage('drift-check', { baseline: base, snapshot: cur, 'report-dir': path.join(dir, 'report') });
    assert.equal(r.code, 2);
    assert.equal(r.outputs.outcome, 'error');
    assert.match(r.outputs.error, /current\.yaml: snapshot: is not a snapshot: kind is missing/);
    assert.deepEqual(filesIn(path.join(dir, 'report')), []);
  });

  it('removes an older report from report-dir when a later check fails', async () => {
    const dir = tempDir('aicr-drift-stale-');
    const good = path.join(dir, 'good.yaml');
    fs.writeFileSync(good, SNAPSHOT);
    const reportDir = path.join(dir, 'report');
    const ok = await runShellStage('drift-check', { baseline: good, snapshot: good, 'report-dir': reportDir });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(filesIn(reportDir).length, 4);
    const bad = await runShellStage('drift-check', { baseline: path.join(dir, 'missing.yaml'), snapshot: good, 'report-dir': reportDir });
    assert.equal(bad.code, 2);
    assert.deepEqual(filesIn(reportDir), []);
  });

  it('refuses a report-dir holding other files, and leaves them alone', async () => {
    const dir = tempDir('aicr-drift-foreign-');
    const good = path.join(dir, 'good.yaml');
    fs.writeFileSync(good, SNAPSHOT);
    const reportDir = path.join(dir, 'report');
    fs.mkdirSync(reportDir);
    fs.writeFileSync(path.join(reportDir, 'notes.txt'), 'mine');
    const r = await runShellStage('drift-check', { baseline: good, snapshot: good, 'report-dir': reportDir });
    assert.equal(r.code, 2);
    assert.match(r.outputs.error, /report-dir holds files that are not a drift report \(notes\.txt\)/);
    assert.deepEqual(filesIn(reportDir), ['notes.txt']);
  });

  it('a bad rules file names the file and the entry', async () => {
    const dir = tempDir('aicr-drift-rules-');
    const rules = path.join(dir, 'rules.yaml');
    fs.writeFileSync(rules, 'rules:\n  - id: x\n    glob: a\n    regex: b\n');
    await expectError({ text: SNAPSHOT }, /rules\.yaml: rules\[0\]: rule 'x' needs exactly one of glob and regex/, { 'rules-file': rules });
  });
});
