/**
 * The drift-check stage end to end: the CLI's exit codes, fail-on-drift,
 * baselines from a file, a ConfigMap, a URL and the last successful run of a
 * workflow, update-baseline, artifacts, noise-rule inputs, and the recipe
 * section with the real `aicr validate --no-cluster`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { AICR, fixture, NO_AICR, NO_FIXTURES, ROOT } from '../helpers/env.ts';
import { runAction } from '../helpers/action-runner.ts';
import { runShellStage } from '../helpers/stage.ts';
import { NO_K8S } from '../helpers/k8s.ts';
import { cmStore, filesIn, h100Pair, serve } from './helpers.ts';

const NODE = process.execPath;

describe('drift-check stage', { skip: NO_FIXTURES }, () => {
  it('the shell CLI exits 0 on clean, 1 on drift, 2 on error, printing the outputs as JSON', () => {
    const clean = h100Pair({ noise: true });
    const drift = h100Pair({ changes: ['GPU.smi.driver'] });
    const cli = path.join(ROOT, 'src', 'entries', 'cli.ts');
    const run = (args: string[]) => spawnSync(NODE, [cli, 'drift-check', ...args], { encoding: 'utf8', env: { ...process.env, AICR_CI_ARTIFACT_DIR: '' } });
    const a = run(['--baseline', clean.baseline, '--snapshot', clean.current, '--report-dir', path.join(clean.dir, 'r')]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(JSON.parse(a.stdout).outcome, 'clean');
    const b = run(['--baseline', drift.baseline, '--snapshot', drift.current, '--report-dir', path.join(drift.dir, 'r')]);
    assert.equal(b.status, 1, b.stderr);
    assert.equal(JSON.parse(b.stdout).outcome, 'drift');
    assert.match(b.stderr, /error: drift-check: drift from the baseline: 1 change; see /);
    const c = run(['--baseline', path.join(drift.dir, 'nope.yaml'), '--snapshot', drift.current, '--report-dir', path.join(drift.dir, 'r2')]);
    assert.equal(c.status, 2);
    assert.equal(JSON.parse(c.stdout).outcome, 'error');
  });

  it('as a GitHub action: outputs, summary, annotations only on drift, step failure on drift', async () => {
    const entry = path.join(ROOT, 'src', 'entries', 'drift-check.ts');
    const clean = h100Pair({ noise: true, reorder: true });
    const a = await runAction(entry, { baseline: clean.baseline, snapshot: clean.current, 'report-dir': path.join(clean.dir, 'r') }, { cwd: clean.dir });
    assert.equal(a.exitCode, 0, a.stderr + a.stdout);
    assert.equal(a.outputs.outcome, 'clean');
    assert.deepEqual(a.annotations, []);
    assert.match(a.summary, /## ✅ AICR drift check: clean/);
    const drift = h100Pair({ changes: ['GPU.smi.driver', 'K8s.node.kernel-version'] });
    const b = await runAction(entry, { baseline: drift.baseline, snapshot: drift.current, 'report-dir': path.join(drift.dir, 'r') }, { cwd: drift.dir });
    assert.equal(b.exitCode, 1);
    assert.equal(b.outputs.outcome, 'drift');
    assert.equal(b.outputs.changes, '2');
    assert.deepEqual(
      b.annotations.filter((x) => x.level === 'warning').map((x) => [x.title, x.message]),
      [
        ['Drift: GPU.smi.driver', '570.133.20 → 570.172.08'],
        ['Drift: K8s.node.kernel-version', '6.8.0-1024-aws → 6.8.0-1031-aws'],
      ],
    );
    assert.ok(b.annotations.some((x) => x.level === 'error' && /drift from the baseline: 2 changes/.test(x.message)));
    const c = await runAction(entry, { baseline: path.join(drift.dir, 'missing.yaml'), snapshot: drift.current, 'report-dir': path.join(drift.dir, 'r2') }, { cwd: drift.dir });
    assert.equal(c.exitCode, 1);
    assert.equal(c.outputs.outcome, 'error');
    assert.equal(c.outputs.changes, undefined);
  });

  it('fail-on-drift: false reports drift and succeeds', async () => {
    const p = h100Pair({ changes: ['GPU.smi.driver'] });
    const r = await runShellStage('drift-check', { baseline: p.baseline, snapshot: p.current, 'report-dir': path.join(p.dir, 'r'), 'fail-on-drift': 'false' });
    assert.equal(r.code, 0);
    assert.equal(r.outputs.outcome, 'drift');
    assert.equal(r.outputs.changes, '1');
    assert.equal(r.outputs['report-json'], path.join(p.dir, 'r', 'drift-report.json'));
    assert.deepEqual(filesIn(path.join(p.dir, 'r')), ['aicr-drift.prom', 'drift-patch.json', 'drift-report.json', 'drift-report.md']);
  });

  it('writes the Markdown report as the job summary and uploads the reports as an artifact', async () => {
    const p = h100Pair({ changes: ['GPU.smi.driver'] });
    const artifacts = path.join(p.dir, 'artifacts');
    const summary = path.join(p.dir, 'summary.md');
    const r = await runShellStage('drift-check', { baseline: p.baseline, snapshot: p.current, 'report-dir': path.join(p.dir, 'r') }, { AICR_CI_ARTIFACT_DIR: artifacts, AICR_CI_SUMMARY: summary });
    assert.equal(r.code, 1);
    assert.equal(r.outputs['artifact-name'], 'aicr-drift-check');
    assert.deepEqual(filesIn(path.join(artifacts, 'aicr-drift-check')), ['aicr-drift.prom', 'drift-patch.json', 'drift-report.json', 'drift-report.md']);
    assert.equal(fs.readFileSync(summary, 'utf8').trim(), fs.readFileSync(path.join(p.dir, 'r', 'drift-report.md'), 'utf8').trim());
  });

  it('update-baseline promotes the current snapshot to a file baseline, and drift does not fail the step', async () => {
    const p = h100Pair({ changes: ['GPU.smi.driver'] });
    const r = await runShellStage('drift-check', { baseline: p.baseline, snapshot: p.current, 'report-dir': path.join(p.dir, 'r'), 'update-baseline': 'true' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.outputs.outcome, 'drift');
    assert.equal(r.outputs['baseline-updated'], 'true');
    assert.deepEqual(fs.readFileSync(p.baseline), fs.readFileSync(p.current));
    const again = await runShellStage('drift-check', { baseline: p.baseline, snapshot: p.current, 'report-dir': path.join(p.dir, 'r') });
    assert.equal(again.outputs.outcome, 'clean');
  });

  it('update-baseline with no baseline yet initializes it (file, and artifact of the last successful run)', async () => {
    const p = h100Pair();
    const fresh = path.join(p.dir, 'baselines', 'first.yaml');
    const r = await runShellStage('drift-check', { baseline: fresh, snapshot: p.current, 'report-dir': path.join(p.dir, 'r'), 'update-baseline': 'true' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.outputs.outcome, 'clean');
    assert.equal(r.outputs['baseline-updated'], 'true');
    assert.match(r.outputs['baseline-source'], /^none \(initialized from /);
    assert.match(r.stderr, /no baseline yet .*does not exist/);
    assert.deepEqual(fs.readFileSync(fresh), fs.readFileSync(p.current));
    assert.match(fs.readFileSync(r.outputs['report-markdown'], 'utf8'), /No baseline existed/);
    const api = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url?.includes('/workflows/') ? { workflow_runs: [] } : { artifacts: [] }));
    });
    try {
      const artifacts = path.join(p.dir, 'artifacts');
      const a = await runShellStage(
        'drift-check',
        { snapshot: p.current, 'report-dir': path.join(p.dir, 'r2'), 'baseline-artifact': 'aicr-drift-baseline', 'github-token': 't0ken-xyz', 'update-baseline': 'true' },
        { AICR_CI_ARTIFACT_DIR: artifacts, GITHUB_API_URL: api.url, GITHUB_REPOSITORY: 'acme/gpu-fleet', GITHUB_WORKFLOW_REF: 'acme/gpu-fleet/.github/workflows/drift-schedule.yml@refs/heads/main', GITHUB_REF_NAME: 'main' },
      );
      assert.equal(a.code, 0, a.stderr);
      assert.equal(a.outputs['baseline-updated'], 'true');
      assert.deepEqual(fs.readFileSync(path.join(artifacts, 'aicr-drift-baseline', 'baseline.yaml')), fs.readFileSync(p.current));
    } finally {
      await api.close();
    }
  });

  it(`reads a cm:// baseline and promotes to it in aicr's ConfigMap layout (${NO_K8S ? `loopback stand-in: ${NO_K8S}` : 'real API server'})`, async () => {
    const p = h100Pair({ changes: ['GPU.smi.driver'] });
    const kube = await cmStore({ 'aicr-system': { 'drift-baseline': { 'snapshot.yaml': fs.readFileSync(p.baseline, 'utf8'), format: 'yaml' } } });
    try {
      const flags = { baseline: `cm://${kube.ns('aicr-system')}/drift-baseline`, snapshot: p.current, 'report-dir': path.join(p.dir, 'r'), kubeconfig: kube.kubeconfig };
      const r = await runShellStage('drift-check', { ...flags, 'update-baseline': 'true' });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.outputs.outcome, 'drift');
      assert.equal(r.outputs['baseline-updated'], 'true');
      const stored = (await kube.data('aicr-system', 'drift-baseline'))!;
      assert.equal(stored['snapshot.yaml'], fs.readFileSync(p.current, 'utf8'));
      assert.equal(stored.format, 'yaml');
      const again = await runShellStage('drift-check', flags);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.outputs.outcome, 'clean');
    } finally {
      await kube.close();
    }
  });

  it('reads a baseline from a URL, and refuses to update one', async () => {
    const p = h100Pair({ changes: ['GPU.smi.driver'] });
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/yaml' });
      res.end(fs.readFileSync(p.baseline));
    });
    try {
      const r = await runShellStage('drift-check', { baseline: `${srv.url}/baseline.yaml`, snapshot: p.current, 'report-dir': path.join(p.dir, 'r'), 'fail-on-drift': 'false' });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.outputs.changes, '1');
      const u = await runShellStage('drift-check', { baseline: `${srv.url}/baseline.yaml`, snapshot: p.current, 'report-dir': path.join(p.dir, 'r2'), 'update-baseline': 'true' });
      assert.equal(u.code, 2);
      assert.match(u.outputs.error, /input 'update-baseline': cannot write the baseline back to a URL/);
    } finally {
      await srv.close();
    }
  });

  it('finds the baseline artifact of the last successful run with the GitHub REST API, and carries it forward', async () => {
    const p = h100Pair({ noise: true });
    const artifacts = path.join(p.dir, 'artifacts');
    fs.mkdirSync(path.join(artifacts, 'aicr-drift-baseline'), { recursive: true });
    fs.copyFileSync(p.baseline, path.join(artifacts, 'aicr-drift-baseline', 'baseline.yaml'));
    const api = await serve((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      res.writeHead(200, { 'content-type': 'application/json' });
      if (u.pathname === '/repos/acme/gpu-fleet/actions/workflows/drift-schedule.yml/runs') {
        assert.equal(u.searchParams.get('status'), 'success');
        assert.equal(u.searchParams.get('branch'), 'main');
        res.end(JSON.stringify({ total_count: 2, workflow_runs: [{ id: 902, html_url: 'https://github.com/acme/gpu-fleet/actions/runs/902' }, { id: 901 }] }));
      } else if (u.pathname === '/repos/acme/gpu-fleet/actions/runs/902/artifacts') {
        res.end(JSON.stringify({ total_count: 0, artifacts: [] }));
      } else if (u.pathname === '/repos/acme/gpu-fleet/actions/runs/901/artifacts') {
        assert.equal(u.searchParams.get('name'), 'aicr-drift-baseline');
        res.end(JSON.stringify({ total_count: 1, artifacts: [{ id: 55, name: 'aicr-drift-baseline', expired: false }] }));
      } else {
        res.end('{}');
      }
    });
    try {
      const flags = {
        snapshot: p.current,
        'report-dir': path.join(p.dir, 'r'),
        'baseline-artifact': 'aicr-drift-baseline',
        'baseline-workflow': 'drift-schedule.yml',
        'baseline-repository': 'acme/gpu-fleet',
        'baseline-branch': 'main',
        'github-token': 'ghs_test_token_1234',
      };
      const r = await runShellStage('drift-check', flags, { AICR_CI_ARTIFACT_DIR: artifacts, GITHUB_API_URL: api.url });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.outputs.outcome, 'clean');
      assert.equal(r.outputs['baseline-source'], 'artifact aicr-drift-baseline of run 901');
      assert.ok(api.requests.every((q) => q.headers.authorization === 'Bearer ghs_test_token_1234'));
      assert.ok(!r.stderr.includes('ghs_test_token_1234'), 'the token is masked in logs');
      // Carried forward unchanged, so it outlives artifact retention.
      assert.deepEqual(fs.readFileSync(path.join(artifacts, 'aicr-drift-baseline', 'baseline.yaml')), fs.readFileSync(p.baseline));
      // Promotion replaces it with the current snapshot.
      const u = await runShellStage('drift-check', { ...flags, 'update-baseline': 'true' }, { AICR_CI_ARTIFACT_DIR: artifacts, GITHUB_API_URL: api.url });
      assert.equal(u.code, 0, u.stderr);
      assert.equal(u.outputs['baseline-updated'], 'true');
      assert.deepEqual(fs.readFileSync(path.join(artifacts, 'aicr-drift-baseline', 'baseline.yaml')), fs.readFileSync(p.current));
    } finally {
      await api.close();
    }
  });

  it('says clearly when no successful run holds the baseline artifact', async () => {
    const p = h100Pair();
    const api = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url?.includes('/workflows/') ? { workflow_runs: [{ id: 7 }] } : { artifacts: [] }));
    });
    try {
      const r = await runShellStage(
        'drift-check',
        { snapshot: p.current, 'report-dir': path.join(p.dir, 'r'), 'baseline-artifact': 'aicr-drift-baseline', 'github-token': 'x-token', 'baseline-branch': '*' },
        { GITHUB_API_URL: api.url, GITHUB_REPOSITORY: 'acme/gpu-fleet', GITHUB_WORKFLOW_REF: 'acme/gpu-fleet/.github/workflows/drift-schedule.yml@refs/heads/main' },
      );
      assert.equal(r.code, 2);
      assert.equal(r.outputs.outcome, 'error');
      assert.match(r.outputs.error, /no successful run of workflow 'drift-schedule\.yml' in acme\/gpu-fleet holds a non-expired artifact 'aicr-drift-baseline' \(inspected 1 run\)/);
      assert.ok(!api.requests[0].url.includes('branch='), "baseline-branch '*' means any branch");
    } finally {
      await api.close();
    }
  });

  it('takes the current snapshot from an earlier job\'s artifact', async () => {
    const p = h100Pair({ changes: ['GPU.smi.driver'] });
    const artifacts = path.join(p.dir, 'artifacts');
    fs.mkdirSync(path.join(artifacts, 'aicr-snapshot'), { recursive: true });
    fs.copyFileSync(p.current, path.join(artifacts, 'aicr-snapshot', 'snapshot.yaml'));
    const r = await runShellStage('drift-check', { baseline: p.baseline, 'snapshot-artifact': 'aicr-snapshot', 'report-dir': path.join(p.dir, 'r'), 'fail-on-drift': 'false' }, { AICR_CI_ARTIFACT_DIR: artifacts });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.outputs.changes, '1');
  });

  it('ignore input and rules file hide what they match and are counted', async () => {
    const p = h100Pair({ changes: ['GPU.smi.driver', 'OS.sysctl./proc/sys/vm/swappiness'] });
    const rules = path.join(p.dir, 'rules.yaml');
    fs.writeFileSync(rules, 'rules:\n  - id: swap\n    glob: "OS.sysctl.*/swappiness"\n    reason: tuned by the node agent\n');
    const r = await runShellStage('drift-check', { baseline: p.baseline, snapshot: p.current, 'report-dir': path.join(p.dir, 'r'), 'rules-file': rules, ignore: 'GPU.smi.driver' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.outputs.outcome, 'clean');
    assert.equal(r.outputs.hidden, '2');
    const json = JSON.parse(fs.readFileSync(r.outputs['report-json'], 'utf8')) as { hidden: { rule: string; count: number }[] };
    assert.deepEqual(json.hidden.map((h) => [h.rule, h.count]), [['swap', 1], ['GPU.smi.driver', 1]]);
    const both = await runShellStage('drift-check', { baseline: p.baseline, snapshot: p.current, 'report-dir': path.join(p.dir, 'r2'), 'rules-file': rules, ignore: 'none' });
    assert.equal(both.code, 2);
    assert.match(both.outputs.error, /input 'rules-file': cannot be used with ignore: none/);
  });

  it('log-format json emits one event per step with counts', async () => {
    const p = h100Pair({ noise: true });
    const r = await runShellStage('drift-check', { baseline: p.baseline, snapshot: p.current, 'report-dir': path.join(p.dir, 'r'), 'log-format': 'json' });
    assert.equal(r.code, 0);
    const events = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event?: string; counts?: Record<string, number> });
    const compare = events.find((e) => e.event === 'drift.compare');
    assert.ok(compare?.counts, r.stderr);
    assert.equal(compare.counts.changes, 0);
    assert.ok(compare.counts.hidden >= 5);
  });
});

describe('drift-check with a recipe (real aicr validate --no-cluster)', { skip: NO_AICR || NO_FIXTURES }, () => {
  it('reports each failed constraint in its own section, as drift', async () => {
    const p = h100Pair({ changes: ['GPU.smi.driver'] });
    const recipe = parse(fs.readFileSync(fixture('recipes', 'eks-any-training.yaml'), 'utf8')) as Record<string, unknown>;
    recipe.constraints = [
      { name: 'K8s.server.version', value: '>= 1.32.4' },
      { name: 'GPU.smi.driver', value: '>= 570.150' },
      { name: 'OS.release.ID', value: 'ubuntu' },
      { name: 'K8s.node.not-collected', value: 'x' },
      { name: 'GPU.smi.gpu-count', value: '>= 16' },
    ];
    const recipeFile = path.join(p.dir, 'recipe.yaml');
    fs.writeFileSync(recipeFile, JSON.stringify(recipe));
    const r = await runShellStage('drift-check', { baseline: p.current, snapshot: p.current, recipe: recipeFile, 'report-dir': path.join(p.dir, 'r'), 'aicr-path': AICR as string });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.outputs.outcome, 'drift');
    assert.equal(r.outputs.changes, '0');
    assert.equal(r.outputs['constraints-failed'], '2');
    const json = JSON.parse(fs.readFileSync(r.outputs['report-json'], 'utf8')) as { constraints: { results: { name: string; status: string; actual?: string; message?: string }[] } };
    assert.deepEqual(
      json.constraints.results.map((c) => [c.name, c.status]),
      [
        ['K8s.server.version', 'failed'],
        ['GPU.smi.driver', 'passed'],
        ['OS.release.ID', 'passed'],
        ['K8s.node.not-collected', 'skipped'],
        ['GPU.smi.gpu-count', 'failed'],
      ],
    );
    assert.equal(json.constraints.results[0].actual, 'v1.30.14-eks-3025e55');
    assert.match(json.constraints.results[3].message ?? '', /not found/);
    const md = fs.readFileSync(r.outputs['report-markdown'], 'utf8');
    assert.match(md, /### Recipe constraints/);
    assert.match(md, /2 failed, 2 passed, 1 skipped/);
    assert.match(r.stderr, /^error: Drift: constraint K8s\.server\.version: no longer met: expected >= 1\.32\.4, got v1\.30\.14-eks-3025e55$/m);
  });

  it('a recipe whose constraints all hold adds nothing to a clean result', async () => {
    const p = h100Pair({ noise: true });
    const r = await runShellStage('drift-check', { baseline: p.baseline, snapshot: p.current, recipe: fixture('recipes', 'eks-any-training.yaml'), 'report-dir': path.join(p.dir, 'r'), 'aicr-path': AICR as string });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.outputs.outcome, 'clean');
    assert.equal(r.outputs['constraints-failed'], '0');
  });

  it('a recipe file that is not a recipe is an error', async () => {
    const p = h100Pair();
    const r = await runShellStage('drift-check', { baseline: p.baseline, snapshot: p.current, recipe: p.baseline, 'report-dir': path.join(p.dir, 'r'), 'aicr-path': AICR as string });
    assert.equal(r.code, 2);
    assert.match(r.outputs.error, /baseline\.yaml: is not a recipe/);
    assert.deepEqual(filesIn(path.join(p.dir, 'r')), []);
  });
});
