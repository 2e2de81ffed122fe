/**
 * Acceptance on real snapshots, end to end through the shell adapter:
 * two local captures of one unchanged machine, pairs derived at run time from
 * the EKS H100 capture, the GB200 January → February pair, and agreement with
 * the `aicr diff` oracle when the installed aicr has it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import fastJsonPatch from 'fast-json-patch';
import { buildRules, detectDrift, normalizedForm, parseIgnore, readSnapshotFile } from '../../src/drift/index.ts';
import { AICR, fixture, NO_AICR, NO_FIXTURES, tempDir } from '../helpers/env.ts';
import { runShellStage } from '../helpers/stage.ts';
import { H100_REAL_CHANGES, h100Pair, NO_AICR_DIFF, oraclePaths } from './helpers.ts';

const { applyPatch } = fastJsonPatch;

interface Report {
  outcome: string;
  changes: { kind: string; path: string; baseline?: unknown; current?: unknown }[];
  hidden: { rule: string; count: number }[];
  summary: { changes: number; hidden: number; raw: number };
}

function readReport(dir: string): { json: Report; md: string; patch: { op: string; path: string; value?: unknown }[]; metrics: string } {
  return {
    json: JSON.parse(fs.readFileSync(path.join(dir, 'drift-report.json'), 'utf8')) as Report,
    md: fs.readFileSync(path.join(dir, 'drift-report.md'), 'utf8'),
    patch: JSON.parse(fs.readFileSync(path.join(dir, 'drift-patch.json'), 'utf8')) as { op: string; path: string; value?: unknown }[],
    metrics: fs.readFileSync(path.join(dir, 'aicr-drift.prom'), 'utf8'),
  };
}

/** Annotation lines the shell adapter prints on stderr. */
function annotations(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^(warning|error|notice): Drift/.test(l));
}

describe('two captures of one unchanged machine (real aicr)', { skip: NO_AICR }, () => {
  it('come out clean: exit 0, outcome clean, no annotations', async () => {
    const dir = tempDir('aicr-drift-capture-');
    const env = { ...process.env, AICR_AGENT_MODE: 'true', KUBECONFIG: path.join(dir, 'no-kubeconfig') };
    for (const name of ['a.yaml', 'b.yaml']) {
      execFileSync(AICR as string, ['snapshot', '-o', path.join(dir, name)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    }
    const r = await runShellStage('drift-check', { baseline: path.join(dir, 'a.yaml'), snapshot: path.join(dir, 'b.yaml'), 'report-dir': path.join(dir, 'report') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.outputs.outcome, 'clean');
    assert.equal(r.outputs.changes, '0');
    assert.deepEqual(annotations(r.stderr), []);
    const { json, metrics } = readReport(path.join(dir, 'report'));
    assert.equal(json.outcome, 'clean');
    // The captures did differ (uuid, counters); the default rules hid exactly those.
    assert.ok(json.summary.raw > 0, 'two captures should differ in volatile readings');
    assert.equal(json.summary.hidden, json.summary.raw);
    assert.match(metrics, /^aicr_drift_detected 0$/m);
  });
});

describe('pairs derived from the EKS H100 capture', { skip: NO_FIXTURES }, () => {
  const real = Object.keys(H100_REAL_CHANGES).sort();

  it('a handful of real readings (kernel, driver, a sysctl) amid noise: exactly those changes in every format', async () => {
    const pair = h100Pair({ changes: real, noise: true, reorder: true });
    const reportDir = path.join(pair.dir, 'report');
    const r = await runShellStage('drift-check', { baseline: pair.baseline, snapshot: pair.current, 'report-dir': reportDir });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.outputs.outcome, 'drift');
    assert.equal(r.outputs.changes, String(real.length));
    const { json, md, patch, metrics } = readReport(reportDir);
    assert.deepEqual(json.changes.map((c) => c.path).sort(), real);
    assert.ok(json.changes.every((c) => c.kind === 'modified'));
    assert.deepEqual(json.changes.find((c) => c.path === 'GPU.smi.driver'), {
      kind: 'modified', path: 'GPU.smi.driver', type: 'GPU', subtype: 'smi', key: 'driver', baseline: '570.133.20', current: '570.172.08', importance: 100,
    });
    // Most important first: the driver leads.
    assert.equal(json.changes[0].path, 'GPU.smi.driver');
    // JSON Patch: one replace per change.
    assert.deepEqual(
      patch.map((p) => `${p.op} ${p.path}`).sort(),
      ['replace /GPU/smi/driver', 'replace /K8s/node/kernel-version', 'replace /OS/sysctl/~1proc~1sys~1kernel~1osrelease', 'replace /OS/sysctl/~1proc~1sys~1vm~1swappiness'],
    );
    // Markdown lists the four paths and no noise.
    for (const p of real) assert.ok(md.includes(`\`${p}\``), p);
    assert.ok(!md.includes('random/uuid`  |'), 'noise must not be listed as a change');
    // Metrics: per measurement.
    assert.match(metrics, /^aicr_drift_changes\{measurement="GPU"\} 1$/m);
    assert.match(metrics, /^aicr_drift_changes\{measurement="OS"\} 2$/m);
    assert.match(metrics, /^aicr_drift_changes\{measurement="K8s"\} 1$/m);
    assert.match(metrics, /^aicr_drift_changes\{measurement="SystemD"\} 0$/m);
    // Annotations: one per change.
    assert.deepEqual(annotations(r.stderr).map((l) => /Drift: (\S+):/.exec(l)?.[1]).sort(), real);
    // The noise was hidden and counted per rule.
    assert.ok(json.hidden.some((h) => h.rule === 'sysctl-random' && h.count === 1));
    assert.ok(json.hidden.some((h) => h.rule === 'systemd-pids' && h.count === 2));
  });

  it('the JSON Patch applied to the baseline normalized form yields the current one', async () => {
    const pair = h100Pair({ changes: real, noise: true, reorder: true });
    const reportDir = path.join(pair.dir, 'report');
    await runShellStage('drift-check', { baseline: pair.baseline, snapshot: pair.current, 'report-dir': reportDir });
    const patch = JSON.parse(fs.readFileSync(path.join(reportDir, 'drift-patch.json'), 'utf8'));
    const rules = buildRules(parseIgnore([]));
    const a = await readSnapshotFile(pair.baseline);
    const b = await readSnapshotFile(pair.current);
    const norm = (s: typeof a): unknown => JSON.parse(JSON.stringify(normalizedForm(s, rules), (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
    assert.deepEqual(applyPatch(norm(a), patch, true).newDocument, norm(b));
  });

  it('noise only (timestamps, uuid, PIDs, counters, measurement order): clean', async () => {
    const pair = h100Pair({ noise: true, reorder: true });
    const r = await runShellStage('drift-check', { baseline: pair.baseline, snapshot: pair.current, 'report-dir': path.join(pair.dir, 'report') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.outputs.outcome, 'clean');
    assert.ok(Number(r.outputs.hidden) >= 5);
    assert.deepEqual(annotations(r.stderr), []);
  });

  it('with ignore: none every difference is drift, noise included', async () => {
    const pair = h100Pair({ noise: true });
    const r = await runShellStage('drift-check', { baseline: pair.baseline, snapshot: pair.current, 'report-dir': path.join(pair.dir, 'report'), ignore: 'none' });
    assert.equal(r.code, 1);
    assert.equal(r.outputs.hidden, '0');
    assert.equal(r.outputs.changes, '5'); // uuid, ns_last_pid, ActiveEnterTimestamp, ExecMainPID, MainPID (metadata is not compared)
  });
});

describe('GB200 EKS captures, January → February', { skip: NO_FIXTURES }, () => {
  it('reports the real upgrade and hides the noise', async () => {
    const dir = tempDir('aicr-drift-gb200-');
    const r = await runShellStage('drift-check', {
      baseline: fixture('snapshots', 'eks-gb200-2026-01-02.yaml'),
      snapshot: fixture('snapshots', 'eks-gb200-2026-02-05.yaml'),
      'report-dir': path.join(dir, 'report'),
      'fail-on-drift': 'false',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.outputs.outcome, 'drift');
    assert.match(r.stderr, /legacy API group eidos\.nvidia\.com\/v1alpha1/);
    const { json } = readReport(path.join(dir, 'report'));
    const byPath = new Map(json.changes.map((c) => [c.path, c]));
    for (const p of ['K8s.server.version', 'K8s.node.kernel-version', 'K8s.node.container-runtime-version', 'OS.sysctl./proc/sys/kernel/osrelease', 'OS.grub.BOOT_IMAGE', 'K8s.image.driver']) {
      assert.ok(byPath.has(p), `${p} should be reported`);
    }
    assert.equal(byPath.get('K8s.server.version')?.current, 'v1.34.2-eks-b3126f4');
    for (const p of ['OS.sysctl./proc/sys/kernel/random/uuid', 'OS.sysctl./proc/sys/kernel/random/boot_id', 'K8s.node.source-node', 'K8s.image.aicr', 'SystemD.containerd.service.MainPID', 'SystemD.containerd.service.InvocationID', 'SystemD.containerd.service.ExecStart']) {
      assert.ok(!byPath.has(p), `${p} is noise`);
    }
    assert.equal(json.summary.raw, 272);
    assert.equal(json.summary.changes + json.summary.hidden, 272);
    // The most important change comes first.
    assert.equal(json.changes[0].path, 'K8s.server.version');
  });
});

describe('agreement with aicr diff (the oracle), rules off', { skip: NO_AICR_DIFF || NO_FIXTURES }, () => {
  it('reports the same set of changed paths for every test pair', async () => {
    const h = h100Pair({ changes: Object.keys(H100_REAL_CHANGES), noise: true, reorder: true });
    const pairs: [string, string][] = [
      [h.baseline, h.current],
      [fixture('snapshots', 'eks-gb200-2026-01-02.yaml'), fixture('snapshots', 'eks-gb200-2026-02-05.yaml')],
      [fixture('snapshots', 'eks-h100-2026-01-02.yaml'), fixture('snapshots', 'openstack-b200-nogpu-2026-02-06.yaml')],
    ];
    for (const [a, b] of pairs) {
      const ours = detectDrift(await readSnapshotFile(a), await readSnapshotFile(b), []).changes.map((c) => c.path);
      assert.deepEqual(new Set(ours), oraclePaths(a, b), `${path.basename(a)} → ${path.basename(b)}`);
    }
  });
});
