/**
 * snapshot stage in local mode (real `AICR_AGENT_MODE=true aicr snapshot` on
 * this machine) and validate stage (real `aicr validate --no-cluster`).
 * Job mode runs against a real API server in test/k8s/.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { sha256 } from '../../src/core/fsutil.ts';
import { AICR, NO_AICR, tempDir } from '../helpers/env.ts';
import { runShellStage } from '../helpers/stage.ts';

describe('snapshot stage, local mode (real aicr on this machine)', { skip: NO_AICR }, () => {
  it('captures this machine and reports its readings', async () => {
    const dir = tempDir();
    const r = await runShellStage('snapshot', { mode: 'local', output: path.join(dir, 'snap.yaml'), 'aicr-path': AICR! });
    assert.equal(r.code, 0, r.stderr);
    const text = fs.readFileSync(r.outputs['snapshot-path']);
    assert.equal(r.outputs.sha256, sha256(text));
    const doc = parse(text.toString()) as { kind: string; measurements: { type: string; subtypes?: { subtype: string; data: Record<string, unknown> }[] }[] };
    assert.equal(doc.kind, 'Snapshot');
    const osm = doc.measurements.find((m) => m.type === 'OS');
    const sysctl = osm?.subtypes?.find((s) => s.subtype === 'sysctl')?.data ?? {};
    assert.equal(sysctl['/proc/sys/kernel/osrelease'], os.release(), 'the kernel reading is this machine\'s');
    assert.equal(r.outputs['gpu-count'], '0');
    assert.deepEqual(r.outputs.measurements.split(','), [...new Set(doc.measurements.map((m) => m.type))].sort());
  });

  it('names the file after the cluster and time, with a metadata sidecar', async () => {
    const dir = tempDir();
    execFileSync('git', ['init', '-q', dir]);
    execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-q', '--allow-empty', '-m', 'x']);
    const head = execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const r = await runShellStage('snapshot', { mode: 'local', cluster: 'gpu-east-1', 'working-directory': dir, 'aicr-path': AICR! }, { GITHUB_SHA: '' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(path.basename(r.outputs['snapshot-path']), /^snapshot-gpu-east-1-\d{8}T\d{6}Z\.yaml$/);
    const meta = JSON.parse(fs.readFileSync(r.outputs['metadata-path'], 'utf8')) as Record<string, string>;
    assert.equal(meta.cluster, 'gpu-east-1');
    assert.equal(meta.gitCommit, head);
    assert.equal(meta.sha256, r.outputs.sha256);
    assert.equal(meta.kubernetesVersion, r.outputs['k8s-version']);
    assert.ok(Math.abs(Date.parse(meta.capturedAt) - Date.now()) < 60_000);
  });

  it('fails, leaving no file, when fewer GPUs were seen than expected', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'snap.yaml');
    const r = await runShellStage('snapshot', { mode: 'local', output: out, 'expect-gpu-count': '8', 'aicr-path': AICR! });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /expected at least 8 GPU\(s\) but the snapshot saw 0/);
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.equal(r.outputs['snapshot-path'], undefined);
  });

  it('fails when a required measurement is missing or empty', async () => {
    const dir = tempDir();
    const r = await runShellStage('snapshot', { mode: 'local', output: path.join(dir, 's.yaml'), 'require-measurements': 'OS\nOS.sysctl\nGPU.nosuchsubtype', 'aicr-path': AICR! });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /required measurement GPU.nosuchsubtype is missing or empty/);
    assert.doesNotMatch(r.stderr, /required measurement OS /);
  });

  it('reports aicr\'s own GPU check (exit 3) in words', async () => {
    const r = await runShellStage('snapshot', { mode: 'local', output: path.join(tempDir(), 's.yaml'), 'require-gpu': 'true', 'aicr-path': AICR! });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /exited 3: aicr could not find something it needed/);
  });

  it('needs a cluster in job mode and says so before running aicr', async () => {
    // Nothing configured at all. (KUBECONFIG naming a missing file is its own error: test/k8s/kubeconfig.test.ts.)
    const r = await runShellStage('snapshot', { mode: 'job', 'aicr-path': '/nonexistent/aicr' }, { KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '', HOME: tempDir() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /input 'kubeconfig': job mode \(.*\) needs a cluster, and none is configured/);
  });
});

describe('validate stage (real aicr validate --no-cluster)', { skip: NO_AICR }, () => {
  let work = '';
  let snapshot = '';
  before(() => {
    work = tempDir();
    snapshot = path.join(work, 'snapshot.yaml');
    execFileSync(AICR!, ['snapshot', '--output', snapshot], { env: { ...process.env, AICR_AGENT_MODE: 'true' }, stdio: 'ignore' });
  });

  it('publishes the CTRF report and its counts', async () => {
    const recipe = path.join(work, 'kind.yaml');
    execFileSync(AICR!, ['recipe', '--snapshot', snapshot, '--service', 'kind', '--intent', 'training', '--output', recipe], { stdio: 'ignore' });
    const r = await runShellStage('validate', { recipe, snapshot, 'no-cluster': 'true', output: path.join(work, 'report.json'), 'aicr-path': AICR! });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(fs.readFileSync(r.outputs['report-path'], 'utf8')) as { reportFormat: string; results: { summary: Record<string, number> } };
    assert.equal(report.reportFormat, 'CTRF');
    const s = report.results.summary;
    assert.ok(s.tests > 0);
    assert.equal(Number(r.outputs.tests), s.tests);
    assert.equal(Number(r.outputs.skipped), s.skipped);
    assert.equal(Number(r.outputs.skipped), s.tests, 'no-cluster skips every check');
    assert.equal(r.outputs.outcome, 'passed');
  });

  it('explains a failed readiness constraint and writes no report', async () => {
    const recipe = path.join(work, 'eks.yaml');
    execFileSync(AICR!, ['recipe', '--service', 'eks', '--accelerator', 'h100', '--os', 'ubuntu', '--intent', 'training', '--output', recipe], { stdio: 'ignore' });
    const out = path.join(work, 'no-report.json');
    const r = await runShellStage('validate', { recipe, snapshot, 'no-cluster': 'true', output: out, 'aicr-path': AICR! });
    assert.equal(r.code, 2);
    const id = (/^ID=(.*)$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '').replace(/"/g, '');
    assert.match(r.stderr, new RegExp(`readiness check failed: OS.release.ID expected ubuntu, got ${id}`));
    assert.equal(fs.existsSync(out), false);
    assert.equal(r.outputs.outcome, 'error');
  });

  it('rejects an unknown phase before running aicr', async () => {
    const r = await runShellStage('validate', { recipe: snapshot, snapshot, phase: 'deployment\nsmoke', 'no-cluster': 'true', 'aicr-path': '/nonexistent/aicr' });
    assert.match(r.stderr, /input 'phase': 'smoke' is not a phase; expected one of deployment, performance, conformance, all/);
  });
});
