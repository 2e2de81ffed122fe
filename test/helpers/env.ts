/**
 * Test environment discovery: the real aicr/aicrd binaries and the shared
 * fixtures. Tests that need one of them skip cleanly (with the reason) when
 * it is absent, e.g. in a user's clone without ../shared.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Project root (the directory holding package.json). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Where scripts/setup-env.mjs installs Go tools. */
export const TOOLS_BIN =
  process.env.AICR_CI_TOOLS_BIN || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'aicr-ci', 'bin');

function findBinary(envVar: string, name: string): string | undefined {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fs.existsSync(fromEnv) ? fromEnv : undefined;
  const cached = path.join(TOOLS_BIN, name);
  if (fs.existsSync(cached)) return cached;
  const gobin = path.join(process.env.GOBIN || path.join(process.env.GOPATH || path.join(os.homedir(), 'go'), 'bin'), name);
  return which(name) ?? (fs.existsSync(gobin) ? gobin : undefined);
}

/** The real aicr: `AICR_BIN`, else the setup-env cache, else `aicr` on PATH, else `$GOPATH/bin/aicr`. */
export const AICR = findBinary('AICR_BIN', 'aicr');
/** The real aicrd, found the same way (`AICRD_BIN`). */
export const AICRD = findBinary('AICRD_BIN', 'aicrd');

/** Reason to skip tests that need the real aicr, or false when it is present. */
export const NO_AICR: string | false = AICR
  ? false
  : 'real aicr not installed (go install github.com/NVIDIA/aicr/cmd/aicr@<pin> or set AICR_BIN); see README "What runs for real"';
export const NO_AICRD: string | false = AICRD ? false : 'real aicrd not installed (set AICRD_BIN or put aicrd on PATH)';
/** actionlint, installed by scripts/setup-env.mjs. */
export const ACTIONLINT = findBinary('ACTIONLINT_BIN', 'actionlint');

/** `../shared/fixtures/aicr` when this checkout has it. */
export const FIXTURES = (() => {
  const p = path.resolve(ROOT, '..', 'shared', 'fixtures', 'aicr');
  return fs.existsSync(p) ? p : undefined;
})();
export const NO_FIXTURES: string | false = FIXTURES ? false : '../shared/fixtures/aicr not present in this checkout';

/** Path of a shared fixture (call only when FIXTURES is set). */
export function fixture(...parts: string[]): string {
  if (!FIXTURES) throw new Error('fixtures absent');
  return path.join(FIXTURES, ...parts);
}

/** `aicr --version` output, or '' when aicr is absent. */
export function aicrVersion(): string {
  return AICR ? execFileSync(AICR, ['--version'], { encoding: 'utf8' }).trim() : '';
}

const tempDirs: string[] = [];
process.on('exit', () => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temp directory removed when the process exits. */
export function tempDir(prefix = 'aicr-ci-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}
