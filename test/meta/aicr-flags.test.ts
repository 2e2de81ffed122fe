/**
 * Every flag the suite passes to aicr exists in the pinned aicr's own
 * `<command> --help`. Each stage runs with every input set, against a
 * recording wrapper that logs the argv and then runs the real aicr.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { parseHelpFlags } from '../../src/core/aicr.ts';
import { AICR, NO_AICR, tempDir } from '../helpers/env.ts';
import { runShellStage } from '../helpers/stage.ts';

const helpCache = new Map<string, Set<string>>();
function helpFlags(cmd: string): Set<string> {
  let s = helpCache.get(cmd);
  if (!s) {
    const args = cmd ? [cmd, '--help'] : ['--help'];
    s = parseHelpFlags(execFileSync(AICR!, args, { encoding: 'utf8' }));
    helpCache.set(cmd, s);
  }
  return s;
}

/** Split a recorded argv into global flags, the subcommand, and its flags. */
function flagsOf(argv: string[]): { globals: string[]; command: string; flags: string[] } {
  let i = 0;
  const globals: string[] = [];
  while (argv[i]?.startsWith('--')) globals.push(argv[i++]);
  const command = argv[i++] ?? '';
  const flags = argv.slice(i).filter((a, j, all) => a.startsWith('--') && !(j > 0 && isValueOf(all[j - 1]))).map((a) => a.split('=')[0]);
  return { globals, command, flags };
}
/** Flags that take a value: the token after them is never a flag name. */
function isValueOf(prev: string): boolean {
  return prev.startsWith('--') && !prev.includes('=') && !['--no-cluster', '--require-gpu', '--no-cleanup', '--cncf-submission', '--attest', '--log-json', '--help', '--privileged'].includes(prev);
}

describe('aicr flags (checked against the pinned aicr --help)', { skip: NO_AICR }, () => {
  let dir = '';
  let wrapper = '';
  let log = '';
  const common: Record<string, string> = {};
  before(() => {
    dir = tempDir();
    log = path.join(dir, 'argv.log');
    wrapper = path.join(dir, 'aicr');
    // Records one argv per line (NUL-separated fields), then runs the real aicr.
    fs.writeFileSync(wrapper, `#!/bin/bash\nprintf '%s\\0' "$@" >> '${log}'\necho >> '${log}'\nexec '${AICR}' "$@"\n`, { mode: 0o755 });
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\nusers: [{name: u, user: {}}]\n');
    Object.assign(common, { 'aicr-path': wrapper, 'log-format': 'json', kubeconfig });
    execFileSync(AICR!, ['snapshot', '--output', path.join(dir, 'snap.yaml')], { env: { ...process.env, AICR_AGENT_MODE: 'true' }, stdio: 'ignore' });
    execFileSync(AICR!, ['recipe', '--service', 'eks', '--accelerator', 'h100', '--intent', 'training', '--os', 'ubuntu', '--output', path.join(dir, 'recipe.yaml')], { stdio: 'ignore' });
    fs.mkdirSync(path.join(dir, 'data'));
    fs.writeFileSync(path.join(dir, 'data', 'registry.yaml'), 'apiVersion: aicr.nvidia.com/v1alpha1\nkind: ComponentRegistry\ncomponents: []\n');
    fs.writeFileSync(path.join(dir, 'criteria.yaml'), 'kind: RecipeCriteria\napiVersion: aicr.nvidia.com/v1alpha1\nspec:\n  service: eks\n');
  });

  /** Every input of each stage that maps to an aicr flag, with a value. */
  const maximal = (): Record<string, Record<string, string>> => ({
    snapshot: {
      mode: 'job', output: path.join(dir, 'out-snap.yaml'), namespace: 'aicr-ci', 'node-selector': 'nvidia.com/gpu.present=true', toleration: 'nvidia.com/gpu=present:NoSchedule',
      image: 'ghcr.io/nvidia/aicr:v0.11.1', 'image-pull-secret': 'regcred', 'job-name': 'aicr-flags', 'service-account-name': 'aicr-sa', timeout: '1s', privileged: 'false',
      'runtime-class': 'nvidia', 'max-nodes-per-entry': '5', 'no-cleanup': 'true',
      // Not an aicr flag; without it the stage would first take its Lease on the (unreachable) cluster and never run aicr.
      'lock-timeout': '0s',
    },
    'snapshot-local': { mode: 'local', output: path.join(dir, 'out-local.yaml'), 'require-gpu': 'true', 'max-nodes-per-entry': '5' },
    recipe: {
      service: 'eks', accelerator: 'h100', intent: 'training', os: 'ubuntu', platform: 'kubeflow', nodes: '8', criteria: path.join(dir, 'criteria.yaml'),
      snapshot: path.join(dir, 'snap.yaml'), data: path.join(dir, 'data'), output: path.join(dir, 'out-recipe.yaml'), format: 'json',
    },
    bundle: {
      recipe: path.join(dir, 'recipe.yaml'), deployer: 'argocd', repo: 'https://example.com/gitops.git', set: 'gpuoperator:driver.version=1', 'system-node-selector': 'role=system',
      'system-node-toleration': 'role=system:NoSchedule', 'accelerated-node-selector': 'role=gpu', 'accelerated-node-toleration': 'nvidia.com/gpu:NoSchedule',
      'workload-gate': 'skyhook=true:NoSchedule', 'workload-selector': 'job=training', nodes: '4', data: path.join(dir, 'data'), attest: 'true', output: path.join(dir, 'out-bundle'),
    },
    validate: {
      recipe: path.join(dir, 'recipe.yaml'), snapshot: path.join(dir, 'snap.yaml'), phase: 'deployment\nconformance', 'no-cluster': 'true', 'fail-on-error': 'false',
      namespace: 'aicr-validation', image: 'ghcr.io/nvidia/aicr:v0.11.1', 'image-pull-secret': 'regcred', 'job-name': 'v', 'service-account-name': 'sa', timeout: '1s',
      'node-selector': 'a=b', toleration: 'a=b:NoSchedule', 'require-gpu': 'true', 'no-cleanup': 'true', 'evidence-dir': path.join(dir, 'evidence'), 'cncf-submission': 'true',
      feature: 'dra-support', data: path.join(dir, 'data'), output: path.join(dir, 'report.json'),
    },
  });

  for (const stageCase of ['snapshot', 'snapshot-local', 'recipe', 'bundle', 'validate']) {
    it(`${stageCase}: every flag exists in aicr's help`, async () => {
      fs.rmSync(log, { force: true });
      const stage = stageCase.replace('-local', '');
      const inputs = maximal()[stageCase];
      // runtime-class and require-gpu cannot be combined; snapshot job mode covers runtime-class.
      await runShellStage(stage, { ...common, ...inputs });
      const runs = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\0').filter(Boolean));
      const calls = runs.filter((a) => !a.includes('--help'));
      assert.ok(calls.length > 0, `${stage} ran aicr`);
      for (const argv of calls) {
        const { globals, command, flags } = flagsOf(argv);
        assert.equal(command, stage, `subcommand of ${argv.join(' ')}`);
        for (const g of globals) assert.ok(helpFlags('').has(g), `global ${g} in 'aicr --help'`);
        const known = helpFlags(command);
        const unknown = flags.filter((f) => !known.has(f));
        assert.deepEqual(unknown, [], `flags missing from 'aicr ${command} --help': ${unknown.join(' ')}`);
        // Every input that maps to a flag was passed (nothing silently dropped).
        assert.ok(flags.length >= 3, `${stage} passed its flags: ${flags.join(' ')}`);
      }
    });
  }

  it('the help parser sees every flag aicr lists (spot checks from the real help text)', () => {
    assert.ok(helpFlags('snapshot').has('--max-nodes-per-entry'));
    assert.ok(helpFlags('recipe').has('--gpu'), 'aliases are listed too');
    assert.ok(helpFlags('bundle').has('--accelerated-node-toleration'));
    assert.ok(helpFlags('validate').has('--fail-on-error'));
    assert.equal(helpFlags('recipe').has('--config'), false, 'the pinned v0.11.1 has no --config');
    assert.ok(helpFlags('').has('--log-json'));
  });
});
