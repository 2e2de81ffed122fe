/**
 * recipe stage against the real aicr (and aicrd on loopback).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { startAicrd, startFaultProxy } from '../helpers/aicrd.ts';
import { AICR, fixture, NO_AICR, NO_AICRD, NO_FIXTURES, tempDir } from '../helpers/env.ts';
import { runShellStage } from '../helpers/stage.ts';

const query = { service: 'eks', accelerator: 'h100', intent: 'training', os: 'ubuntu' };

function bare(args: string[]): Buffer {
  const dir = tempDir();
  const out = path.join(dir, 'bare.out');
  execFileSync(AICR!, ['recipe', ...args, '--output', out], { stdio: ['ignore', 'ignore', 'ignore'] });
  return fs.readFileSync(out);
}

describe('recipe stage (real aicr)', { skip: NO_AICR }, () => {
  for (const format of ['yaml', 'json']) {
    it(`writes exactly the bytes bare aicr writes (${format})`, async () => {
      const dir = tempDir();
      const r = await runShellStage('recipe', { ...query, format, output: path.join(dir, `recipe.${format}`), 'aicr-path': AICR! });
      assert.equal(r.code, 0, r.stderr);
      const ours = fs.readFileSync(r.outputs['recipe-path']);
      assert.deepEqual(ours, bare([...Object.entries(query).flatMap(([k, v]) => [`--${k}`, v]), '--format', format]));
      const doc = parse(ours.toString()) as { componentRefs: { name: string; version: string }[]; metadata: { appliedOverlays: string[] } };
      const components = JSON.parse(r.outputs.components) as { name: string; version: string; chart: string }[];
      assert.deepEqual(components.map((c) => c.name), doc.componentRefs.map((c) => c.name));
      assert.equal(components.find((c) => c.name === 'gpu-operator')?.version, doc.componentRefs.find((c) => c.name === 'gpu-operator')?.version);
      assert.equal(r.outputs['applied-overlays'], doc.metadata.appliedOverlays.join(','));
      assert.ok(r.outputs['applied-overlays'].startsWith('base,'));
      assert.match(r.outputs.sha256, /^[0-9a-f]{64}$/);
      assert.deepEqual(JSON.parse(r.outputs.criteria), { ...query, platform: 'any' });
    });
  }

  it('generates one recipe per environment concurrently, and runs identical ones once', async () => {
    const dir = tempDir();
    const environments = [
      '- name: staging',
      '  service: kind',
      '  intent: training',
      '- name: production',
      '  service: eks',
      '  accelerator: h100',
      '  os: ubuntu',
      '  intent: training',
      '- name: production-copy',
      '  service: eks',
      '  accelerator: h100',
      '  os: ubuntu',
      '  intent: training',
    ].join('\n');
    const r = await runShellStage('recipe', { environments, output: path.join(dir, 'recipe.yaml'), 'aicr-path': AICR!, 'log-format': 'json', concurrency: '2' });
    assert.equal(r.code, 0, r.stderr);
    const paths = JSON.parse(r.outputs['recipe-path']) as Record<string, string>;
    assert.deepEqual(Object.keys(paths), ['staging', 'production', 'production-copy']);
    assert.equal(paths.staging, path.join(dir, 'recipe-staging.yaml'));
    const staging = parse(fs.readFileSync(paths.staging, 'utf8')) as { criteria: { service: string } };
    assert.equal(staging.criteria.service, 'kind');
    assert.deepEqual(fs.readFileSync(paths.production), bare(['--service', 'eks', '--accelerator', 'h100', '--intent', 'training', '--os', 'ubuntu', '--format', 'yaml']));
    assert.deepEqual(fs.readFileSync(paths['production-copy']), fs.readFileSync(paths.production));
    const runs = r.stderr.split('\n').filter((l) => l.includes('"event":"aicr.recipe"'));
    assert.equal(runs.length, 2, 'identical environments share one aicr run');
    const shas = JSON.parse(r.outputs.sha256) as Record<string, string>;
    assert.equal(shas.production, shas['production-copy']);
  });

  it('derives criteria from a real GPU-cluster snapshot and reports excluded overlays', { skip: NO_FIXTURES }, async () => {
    const dir = tempDir();
    const r = await runShellStage('recipe', { snapshot: fixture('snapshots', 'eks-h100-2026-01-02.yaml'), intent: 'training', output: path.join(dir, 'r.yaml'), 'aicr-path': AICR! });
    assert.equal(r.code, 0, r.stderr);
    const crit = JSON.parse(r.outputs.criteria) as Record<string, string>;
    assert.equal(crit.service, 'eks');
    assert.equal(crit.accelerator, 'h100');
    const doc = parse(fs.readFileSync(r.outputs['recipe-path'], 'utf8')) as { metadata: { excludedOverlays?: string[] } };
    assert.ok((doc.metadata.excludedOverlays ?? []).length > 0, 'v1.30 fails the >= 1.32.4 constraint of some overlays');
  });

  it('takes a criteria file, with query inputs overriding it', { skip: NO_FIXTURES }, async () => {
    const dir = tempDir();
    const r = await runShellStage('recipe', { criteria: fixture('criteria', 'eks-h100-ubuntu-training.yaml'), intent: 'inference', output: path.join(dir, 'r.yaml'), 'aicr-path': AICR! });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.outputs.criteria) as Record<string, string>).intent, 'inference');
  });

  it('turns aicr exit 8 on bad criteria into a clear error and leaves no recipe', { skip: NO_FIXTURES }, async () => {
    const dir = tempDir();
    const out = path.join(dir, 'r.yaml');
    const r = await runShellStage('recipe', { criteria: fixture('criteria', 'invalid-enum.yaml'), output: out, 'aicr-path': AICR! });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /exited 8: aicr failed internally/);
    assert.match(r.stderr, /invalid-service/);
    assert.equal(fs.existsSync(out), false);
    assert.deepEqual(fs.readdirSync(dir), [], 'no temp file left either');
    assert.match(r.outputs.error, /recipe:/);
    assert.equal(r.outputs['recipe-path'], undefined);
  });

  it('refuses the config input on an aicr without --config, naming the input', async () => {
    const dir = tempDir();
    const cfg = path.join(dir, 'aicr-config.yaml');
    fs.writeFileSync(cfg, 'kind: AICRConfig\n');
    const r = await runShellStage('recipe', { ...query, config: cfg, output: path.join(dir, 'r.yaml'), 'aicr-path': AICR! });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /input 'config': the installed aicr .* has no 'recipe --config' flag/);
  });

  it('reads the snapshot from an earlier stage\'s artifact and uploads its own', async () => {
    const dir = tempDir();
    const artifacts = path.join(dir, 'artifacts');
    const snapDir = path.join(artifacts, 'aicr-snapshot');
    fs.mkdirSync(snapDir, { recursive: true });
    execFileSync(AICR!, ['snapshot', '--output', path.join(snapDir, 'snapshot.yaml')], { env: { ...process.env, AICR_AGENT_MODE: 'true' }, stdio: 'ignore' });
    const r = await runShellStage('recipe', { 'snapshot-artifact': 'aicr-snapshot', service: 'kind', intent: 'training', output: path.join(dir, 'out', 'recipe.yaml'), 'aicr-path': AICR! }, { AICR_CI_ARTIFACT_DIR: artifacts });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.outputs['artifact-name'], 'aicr-recipe');
    assert.deepEqual(fs.readFileSync(path.join(artifacts, 'aicr-recipe', 'recipe.yaml')), fs.readFileSync(r.outputs['recipe-path']));
  });
});

describe('recipe stage input checks (before aicr runs)', () => {
  // aicr-path points nowhere: had aicr been started, the error would say it cannot run aicr.
  const nowhere = '/nonexistent/aicr';
  it('lists the allowed values of a bad criterion', async () => {
    const r = await runShellStage('recipe', { service: 'openshift', 'aicr-path': nowhere });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /input 'service': expected one of eks, gke, aks, oke, kind, self-managed, self, vanilla, any; got 'openshift'/);
    assert.doesNotMatch(r.stderr, /cannot run aicr/);
  });

  it('checks every environment entry', async () => {
    const r = await runShellStage('recipe', { environments: '- name: a\n  service: eks\n- name: b\n  acelerator: h100\n', 'aicr-path': nowhere });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /input 'environments': entry 'b': unknown key 'acelerator'/);
  });

  it('rejects duplicate environment names', async () => {
    const r = await runShellStage('recipe', { environments: '- name: a\n  service: eks\n- name: a\n  service: gke\n', 'aicr-path': nowhere });
    assert.match(r.stderr, /name 'a' appears twice/);
  });

  it('needs some criteria', async () => {
    const r = await runShellStage('recipe', { 'aicr-path': nowhere });
    assert.match(r.stderr, /no criteria given/);
  });
});

describe('recipe stage with the aicrd backend (real aicrd on loopback)', { skip: NO_AICRD || NO_AICR }, () => {
  it('returns the same recipe as the CLI', async () => {
    const server = await startAicrd();
    try {
      const dir = tempDir();
      const api = await runShellStage('recipe', { ...query, 'api-url': server.url, output: path.join(dir, 'api.yaml'), 'aicr-path': AICR! });
      assert.equal(api.code, 0, api.stderr);
      const cli = await runShellStage('recipe', { ...query, output: path.join(dir, 'cli.yaml'), 'aicr-path': AICR! });
      assert.deepEqual(parse(fs.readFileSync(api.outputs['recipe-path'], 'utf8')), parse(fs.readFileSync(cli.outputs['recipe-path'], 'utf8')));
      assert.equal(api.outputs.components, cli.outputs.components);
    } finally {
      await server.close();
    }
  });

  it('retries 503 and 429 with backoff, honouring Retry-After', async () => {
    const server = await startAicrd();
    const proxy = await startFaultProxy(server.url, [
      { status: 503 },
      { status: 429, headers: { 'retry-after': '1' }, body: JSON.stringify({ code: 'RATE_LIMIT_EXCEEDED', message: 'Rate limit exceeded', retryable: true }) },
    ]);
    try {
      const dir = tempDir();
      const r = await runShellStage('recipe', { ...query, 'api-url': proxy.url, output: path.join(dir, 'r.yaml') });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(proxy.requests.length, 3);
      assert.ok(proxy.times[2] - proxy.times[1] >= 950, `Retry-After: 1 waited ${Math.round(proxy.times[2] - proxy.times[1])} ms`);
      assert.ok(fs.existsSync(r.outputs['recipe-path']));
    } finally {
      await proxy.close();
      await server.close();
    }
  });

  it('does not retry a 4xx, and says what aicrd answered', async () => {
    const server = await startAicrd({ AICR_ALLOWED_SERVICES: 'gke' });
    const proxy = await startFaultProxy(server.url, []);
    try {
      const dir = tempDir();
      const out = path.join(dir, 'r.yaml');
      const r = await runShellStage('recipe', { ...query, 'api-url': proxy.url, output: out });
      assert.equal(r.code, 2);
      assert.equal(proxy.requests.length, 1);
      assert.match(r.stderr, /answered HTTP 400: \[INVALID_REQUEST\]/);
      assert.equal(fs.existsSync(out), false);
    } finally {
      await proxy.close();
      await server.close();
    }
  });

  it('gives up after the retry budget with the last status', async () => {
    const server = await startAicrd();
    const proxy = await startFaultProxy(server.url, Array.from({ length: 10 }, () => ({ status: 502 })));
    try {
      const r = await runShellStage('recipe', { ...query, 'api-url': proxy.url, 'api-retries': '2', output: path.join(tempDir(), 'r.yaml') });
      assert.equal(r.code, 2);
      assert.equal(proxy.requests.length, 3);
      assert.match(r.stderr, /HTTP 502/);
    } finally {
      await proxy.close();
      await server.close();
    }
  });

  it('serves identical environment requests once', async () => {
    const server = await startAicrd();
    const proxy = await startFaultProxy(server.url, []);
    try {
      const envs = '- name: a\n  service: eks\n  accelerator: h100\n- name: b\n  service: eks\n  accelerator: h100\n- name: c\n  service: gke\n';
      const r = await runShellStage('recipe', { environments: envs, 'api-url': proxy.url, output: path.join(tempDir(), 'r.yaml') });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(proxy.requests.length, 2);
    } finally {
      await proxy.close();
      await server.close();
    }
  });
});
