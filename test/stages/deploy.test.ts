/**
 * deploy stage: native checksum verification, dry-run plan, deploy.sh with
 * EMULATED kubectl/helm (recording stubs: no cluster or Helm here), and the
 * GitOps commit against a real local git remote.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { sha256 } from '../../src/core/fsutil.ts';
import { AICR, NO_AICR, tempDir } from '../helpers/env.ts';
import { runShellStage } from '../helpers/stage.ts';

/** kubectl and helm stand-ins that log their argv; helm fails for `failChart`. */
function emulatedClusterTools(dir: string, failChart = ''): { bin: string; log: string } {
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'calls.log');
  fs.mkdirSync(bin, { recursive: true });
  for (const tool of ['kubectl', 'helm']) {
    fs.writeFileSync(
      path.join(bin, tool),
      `#!/bin/bash\necho "${tool} $*" >> '${log}'\n${tool === 'helm' && failChart ? `[[ "$*" == *"upgrade --install ${failChart} "* ]] && { echo "Error: emulated failure" >&2; exit 1; }\n` : ''}exit 0\n`,
      { mode: 0o755 },
    );
  }
  return { bin, log };
}

function copyDir(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true });
}

describe('deploy stage (real aicr bundle)', { skip: NO_AICR }, () => {
  let work = '';
  let bundle = '';
  let kubeconfig = '';
  before(() => {
    work = tempDir();
    const recipe = path.join(work, 'recipe.yaml');
    execFileSync(AICR!, ['recipe', '--service', 'eks', '--accelerator', 'h100', '--intent', 'training', '--os', 'ubuntu', '--output', recipe], { stdio: 'ignore' });
    bundle = path.join(work, 'bundle');
    execFileSync(AICR!, ['bundle', '--recipe', recipe, '--output', bundle], { stdio: 'ignore' });
    kubeconfig = path.join(work, 'kubeconfig');
    fs.writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\nusers: [{name: u, user: {}}]\n');
  });

  it('dry-run verifies every entry and prints the plan in deployment order', async () => {
    const r = await runShellStage('deploy', { bundle, 'dry-run': 'true', record: path.join(tempDir(), 'record.json') });
    assert.equal(r.code, 0, r.stderr);
    const lines = fs.readFileSync(path.join(bundle, 'checksums.txt'), 'utf8').trim().split('\n');
    assert.equal(Number(r.outputs['verified-files']), lines.length);
    assert.equal(r.outputs['checksums-sha256'], sha256(fs.readFileSync(path.join(bundle, 'checksums.txt'))));
    const recipe = parse(fs.readFileSync(path.join(bundle, 'recipe.yaml'), 'utf8')) as { deploymentOrder: string[] };
    const plan = JSON.parse(r.outputs.plan) as { component: string; order: number }[];
    assert.deepEqual(plan.map((s) => s.component), recipe.deploymentOrder);
    assert.equal(r.outputs.deployed, 'false');
    assert.equal(r.outputs.deployer, 'helm');
    const record = JSON.parse(fs.readFileSync(r.outputs['record-path'], 'utf8')) as { what: string; checksumsSha256: string; plan: { component: string }[]; deployed: boolean };
    assert.equal(record.what, 'dry-run');
    assert.equal(record.checksumsSha256, r.outputs['checksums-sha256']);
    assert.deepEqual(record.plan.map((s) => s.component), recipe.deploymentOrder);
    assert.equal(record.deployed, false);
  });

  const tamperings: [string, (dir: string) => void, RegExp][] = [
    ['a modified file', (d) => fs.appendFileSync(path.join(d, 'gpu-operator', 'values.yaml'), '\n# tampered\n'), /gpu-operator\/values.yaml: mismatch/],
    ['a missing file', (d) => fs.rmSync(path.join(d, 'cert-manager', 'values.yaml')), /cert-manager\/values.yaml: missing/],
    ['an absolute path', (d) => fs.appendFileSync(path.join(d, 'checksums.txt'), `${'0'.repeat(64)}  /etc/passwd\n`), /\/etc\/passwd: absolute/],
    ['a path escaping the bundle', (d) => fs.appendFileSync(path.join(d, 'checksums.txt'), `${'0'.repeat(64)}  ../outside.txt\n`), /\.\.\/outside.txt: escapes/],
    [
      'a symlink pointing outside',
      (d) => {
        const target = path.join(d, '..', `secret-${path.basename(d)}`);
        fs.writeFileSync(target, 'x');
        fs.rmSync(path.join(d, 'deploy.sh'));
        fs.symlinkSync(target, path.join(d, 'deploy.sh'));
      },
      /deploy.sh: escapes \(symlink to/,
    ],
    ['a malformed line', (d) => fs.appendFileSync(path.join(d, 'checksums.txt'), 'not a checksum line\n'), /line \d+: not a checksum line: malformed/],
  ];
  for (const [what, tamper, expected] of tamperings) {
    it(`refuses a bundle with ${what} and runs nothing`, async () => {
      const dir = tempDir();
      const copy = path.join(dir, 'bundle');
      copyDir(bundle, copy);
      tamper(copy);
      const tools = emulatedClusterTools(dir);
      const r = await runShellStage('deploy', { bundle: copy, kubeconfig }, { PATH: `${tools.bin}:${process.env.PATH}` });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /bundle failed verification, nothing was run/);
      assert.match(r.stderr, expected);
      assert.equal(fs.existsSync(tools.log), false, 'kubectl/helm were never called');
      assert.equal(r.outputs['checksums-sha256'], undefined);
    });
  }

  it('refuses a bundle other than the approved one', async () => {
    const r = await runShellStage('deploy', { bundle, 'dry-run': 'true', 'expected-checksums-sha256': 'a'.repeat(64) });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is not the approved one: checksums.txt sha256 is [0-9a-f]{64}, expected-checksums-sha256 is a{64}/);
    const ok = await runShellStage('deploy', { bundle, 'dry-run': 'true', 'expected-checksums-sha256': sha256(fs.readFileSync(path.join(bundle, 'checksums.txt'))) });
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('runs deploy.sh against emulated kubectl/helm, installing components in plan order', async () => {
    const dir = tempDir();
    const tools = emulatedClusterTools(dir);
    const r = await runShellStage('deploy', { bundle, kubeconfig, wait: 'false', retries: '0' }, { PATH: `${tools.bin}:${process.env.PATH}` });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.outputs.deployed, 'true');
    const installs = fs
      .readFileSync(tools.log, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('helm upgrade --install '))
      .map((l) => l.split(' ')[3]);
    const plan = (JSON.parse(r.outputs.plan) as { component: string; chart: string }[]).filter((s) => s.chart);
    assert.deepEqual(installs, plan.map((s) => s.component));
    assert.match(r.stderr, /\$ KUBECONFIG=\S+ bash \S+deploy.sh --no-wait --retries 0/);
  });

  it('fails the step when --best-effort swallowed a component failure', async () => {
    const dir = tempDir();
    const tools = emulatedClusterTools(dir, 'cert-manager');
    const r = await runShellStage('deploy', { bundle, kubeconfig, wait: 'false', retries: '0', 'best-effort': 'true' }, { PATH: `${tools.bin}:${process.env.PATH}` });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /deploy.sh \(--best-effort\) finished but components failed: cert-manager/);
  });

  it('needs kubectl and helm before running anything', async () => {
    const r = await runShellStage('deploy', { bundle, kubeconfig }, { PATH: '/nonexistent' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /deploy.sh needs kubectl and helm on PATH/);
  });

  it('commits the bundle to a GitOps repository and pushes, once', async () => {
    const dir = tempDir();
    const remote = path.join(dir, 'remote.git');
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', remote]);
    const clone = path.join(dir, 'gitops');
    execFileSync('git', ['clone', '-q', remote, clone], { stdio: 'ignore' });
    execFileSync('git', ['-C', clone, '-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-q', '--allow-empty', '-m', 'init']);
    execFileSync('git', ['-C', clone, 'push', '-q', 'origin', 'HEAD:main'], { stdio: 'ignore' });
    const r = await runShellStage('deploy', { bundle, mode: 'gitops', 'gitops-repo': clone, 'gitops-path': 'clusters/prod/aicr' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.outputs['gitops-changed'], 'true');
    const remoteHead = execFileSync('git', ['--git-dir', remote, 'rev-parse', 'main'], { encoding: 'utf8' }).trim();
    assert.equal(r.outputs['commit-sha'], remoteHead);
    const committed = execFileSync('git', ['--git-dir', remote, 'show', 'main:clusters/prod/aicr/checksums.txt']);
    assert.deepEqual(committed, fs.readFileSync(path.join(bundle, 'checksums.txt')));
    const mode = execFileSync('git', ['--git-dir', remote, 'ls-tree', 'main', 'clusters/prod/aicr/deploy.sh'], { encoding: 'utf8' });
    assert.match(mode, /^100755 /, 'deploy.sh stays executable');
    const again = await runShellStage('deploy', { bundle, mode: 'gitops', 'gitops-repo': clone, 'gitops-path': 'clusters/prod/aicr' });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.outputs['gitops-changed'], 'false');
    assert.equal(again.outputs['commit-sha'], remoteHead);
  });

  it('points an argocd bundle at gitops mode', async () => {
    const recipe = path.join(bundle, 'recipe.yaml');
    const argo = path.join(work, 'argo');
    execFileSync(AICR!, ['bundle', '--recipe', recipe, '--deployer', 'argocd', '--output', argo], { stdio: 'ignore' });
    const dry = await runShellStage('deploy', { bundle: argo, 'dry-run': 'true' });
    assert.equal(dry.outputs.deployer, 'argocd');
    const plan = JSON.parse(dry.outputs.plan) as { component: string }[];
    const order = (parse(fs.readFileSync(recipe, 'utf8')) as { deploymentOrder: string[] }).deploymentOrder;
    assert.deepEqual(plan.map((s) => s.component), order, 'Applications in sync-wave order');
    const r = await runShellStage('deploy', { bundle: argo, kubeconfig });
    assert.match(r.stderr, /has no deploy.sh \(an argocd bundle\); use mode gitops/);
  });
});
