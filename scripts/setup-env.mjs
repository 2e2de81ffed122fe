#!/usr/bin/env node
// Prepare a fresh machine for `npm test` / `npm run demo` (runs as their pre-script,
// under whatever Node the machine has):
//   1. npm ci when node_modules is missing or older than package-lock.json
//      (this also brings Node 24 as node_modules/.bin/node, which the scripts use);
//   2. the real aicr and aicrd at the pinned version (.aicr-version) and actionlint,
//      with `go install` from the Go module proxy, into ~/.cache/aicr-ci/bin;
//      aicr gets the release ldflags (.goreleaser.yaml) so it reports its version.
//   3. with --tests: the Tekton/Argo/Dockerfile validators (test/validators/install.sh)
//      and a real local Kubernetes control plane (scripts/k8s-up.sh).
// A tool the proxy refuses is reported with go's exact error and skipped: the
// tests that need it then skip and say why. AICR_BIN / AICRD_BIN override.
// AICR_CI_SKIP_K8S=1 skips the control plane.
// Usage: node scripts/setup-env.mjs [--tools-only] [--tests]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = process.env.AICR_CI_TOOLS_BIN || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'aicr-ci', 'bin');
const pin = readFileSync(join(root, '.aicr-version'), 'utf8').trim();
const log = (m) => process.stderr.write(`[setup-env] ${m}\n`);

function npmCi() {
  const nm = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(nm) && statSync(nm).mtimeMs >= statSync(lock).mtimeMs && existsSync(join(root, 'node_modules', '.bin', 'node'))) return;
  log('npm ci');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}

/** go install `pkg@version` into `bin` unless `bin/name` already reports `want` (from `versionArgs`). */
function goInstall(name, pkg, version, { ldflags, versionArgs, want } = {}) {
  const own = process.env[`${name.toUpperCase()}_BIN`];
  if (own) {
    if (existsSync(own)) {
      log(`${name}: using ${name.toUpperCase()}_BIN=${own} (not installing)`);
      return true;
    }
    log(`${name.toUpperCase()}_BIN=${own} does not exist; installing ${name} instead`);
  }
  const target = join(bin, name);
  const stamp = `${target}.version`;
  if (existsSync(target) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === `${pkg}@${version}`) {
    log(`${name} ${version}: cached at ${target}`);
    return true;
  }
  mkdirSync(bin, { recursive: true });
  const args = ['install', '-trimpath', ...(ldflags ? ['-ldflags', ldflags] : []), `${pkg}@${version}`];
  log(`go ${args.join(' ')}`);
  const started = Date.now();
  const r = spawnSync('go', args, { env: { ...process.env, GOBIN: bin, CGO_ENABLED: '0' }, encoding: 'utf8' });
  if (r.status !== 0) {
    log(`REFUSED: go install ${pkg}@${version} failed (exit ${r.status}):\n${(r.stderr || r.error?.message || '').trim()}`);
    return false;
  }
  if (versionArgs) {
    const out = execFileSync(target, versionArgs, { encoding: 'utf8' });
    if (want && !out.includes(want)) log(`warning: ${name} reports '${out.trim()}', expected ${want}`);
  }
  writeFileSync(stamp, `${pkg}@${version}\n`);
  log(`${name} ${version} installed in ${Math.round((Date.now() - started) / 1000)} s`);
  return true;
}

if (!process.argv.includes('--tools-only')) npmCi();
const bare = pin.replace(/^v/, '');
const results = {
  aicr: goInstall('aicr', 'github.com/NVIDIA/aicr/cmd/aicr', pin, {
    ldflags: `-s -w -X github.com/NVIDIA/aicr/pkg/cli.version=${bare}`,
    versionArgs: ['--version'],
    want: bare,
  }),
  aicrd: goInstall('aicrd', 'github.com/NVIDIA/aicr/cmd/aicrd', pin, { ldflags: `-s -w -X github.com/NVIDIA/aicr/pkg/api.version=${bare}` }),
  actionlint: goInstall('actionlint', 'github.com/rhysd/actionlint/cmd/actionlint', 'v1.7.12', { versionArgs: ['-version'] }),
};
for (const [name, ok] of Object.entries(results)) {
  if (!ok) log(`${name} is not available: tests that need it will be skipped with the reason (set ${name.toUpperCase()}_BIN to use your own binary)`);
}

/** Run a bash script of the repository; a failure is reported, not fatal (its tests skip). */
function script(rel, args = []) {
  const file = join(root, rel);
  if (!existsSync(file)) return;
  log(`bash ${rel} ${args.join(' ')}`);
  const r = spawnSync('bash', [file, ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) log(`${rel} failed (exit ${r.status}); the tests that need it will be skipped with the reason`);
}
if (process.argv.includes('--tests')) {
  script('test/validators/install.sh');
  if (!process.env.AICR_CI_SKIP_K8S) script('scripts/k8s-up.sh');
}
