/**
 * Native verification of a bundle's `checksums.txt` before anything runs.
 *
 * Format mirrors NVIDIA/aicr v0.11.1 `pkg/bundler/checksum/checksum.go`:
 * one `<64 hex>  <relative path>` line per file (two spaces), a final newline.
 * `recipe.yaml`, `checksums.txt` and `attestation/*` are not covered by design.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { FileError } from '../../core/errors.ts';
import { readFileCapped, sha256, sha256File } from '../../core/fsutil.ts';

/** One verified entry. */
export interface ChecksumEntry {
  path: string;
  sha256: string;
}

/** Outcome of a successful verification. */
export interface ChecksumReport {
  /** SHA-256 of checksums.txt itself (what an approver pins). */
  checksumsSha256: string;
  entries: ChecksumEntry[];
  /** Files in the bundle that no line covers (besides the documented exceptions). */
  uncovered: string[];
}

/** One problem found; verification collects all of them before refusing. */
export interface ChecksumProblem {
  line: number;
  path: string;
  problem: 'malformed' | 'absolute' | 'escapes' | 'missing' | 'mismatch' | 'not-a-file' | 'duplicate';
  detail: string;
}

/** Thrown when any entry fails; lists every problem. */
export class ChecksumError extends FileError {
  readonly problems: readonly ChecksumProblem[];
  constructor(file: string, problems: readonly ChecksumProblem[]) {
    const shown = problems.slice(0, 20).map((p) => `  line ${p.line}: ${p.path}: ${p.problem}${p.detail ? ` (${p.detail})` : ''}`);
    const more = problems.length > 20 ? [`  … and ${problems.length - 20} more`] : [];
    super(file, `bundle failed verification, nothing was run:\n${[...shown, ...more].join('\n')}`);
    this.name = 'ChecksumError';
    this.problems = problems;
  }
}

const LINE = /^([0-9a-f]{64}) [ *](.+)$/;
/** Files aicr writes but never lists (see module comment). */
const NOT_COVERED = (rel: string): boolean => rel === 'checksums.txt' || rel === 'recipe.yaml' || rel.startsWith('attestation/');

/**
 * Verify every entry of `<bundleDir>/checksums.txt`.
 *
 * Refuses (throws) on: a malformed line, an absolute path, a path escaping the
 * bundle (`..` or a symlink pointing outside), a missing file, a non-file, a
 * duplicate entry, a digest mismatch, or an empty checksums file.
 *
 * @param bundleDir - the bundle directory.
 * @param listed - every file in the bundle (relative POSIX paths) to report uncovered ones.
 * @returns the report.
 * @throws FileError when checksums.txt is absent; ChecksumError listing every failing entry.
 */
export async function verifyChecksums(bundleDir: string, listed: readonly string[]): Promise<ChecksumReport> {
  const file = path.join(bundleDir, 'checksums.txt');
  const raw = await readFileCapped(file, 16 * 1024 * 1024).catch((err: unknown) => {
    throw err instanceof FileError ? new FileError(file, 'is missing: the bundle cannot be verified, so nothing is run') : err;
  });
  const root = await fs.realpath(bundleDir);
  const problems: ChecksumProblem[] = [];
  const entries: ChecksumEntry[] = [];
  const seen = new Set<string>();
  const lines = raw.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) throw new ChecksumError(file, [{ line: 0, path: '', problem: 'malformed', detail: 'checksums.txt lists no files' }]);
  for (let i = 0; i < lines.length; i++) {
    const m = LINE.exec(lines[i].replace(/\r$/, ''));
    if (!m) {
      problems.push({ line: i + 1, path: lines[i].slice(0, 80), problem: 'malformed', detail: 'expected "<sha256>  <path>"' });
      continue;
    }
    const [, want, rel] = m;
    if (path.isAbsolute(rel) || /^[A-Za-z]:[\\/]/.test(rel)) {
      problems.push({ line: i + 1, path: rel, problem: 'absolute', detail: 'paths must be relative to the bundle' });
      continue;
    }
    const abs = path.resolve(root, rel);
    if (abs !== root && !abs.startsWith(root + path.sep)) {
      problems.push({ line: i + 1, path: rel, problem: 'escapes', detail: 'path leaves the bundle directory' });
      continue;
    }
    if (seen.has(abs)) {
      problems.push({ line: i + 1, path: rel, problem: 'duplicate', detail: 'listed twice' });
      continue;
    }
    seen.add(abs);
    let real: string;
    try {
      real = await fs.realpath(abs);
    } catch {
      problems.push({ line: i + 1, path: rel, problem: 'missing', detail: '' });
      continue;
    }
    if (!real.startsWith(root + path.sep)) {
      problems.push({ line: i + 1, path: rel, problem: 'escapes', detail: `symlink to ${real}` });
      continue;
    }
    const st = await fs.stat(real);
    if (!st.isFile()) {
      problems.push({ line: i + 1, path: rel, problem: 'not-a-file', detail: '' });
      continue;
    }
    const got = await sha256File(real);
    if (got !== want) {
      problems.push({ line: i + 1, path: rel, problem: 'mismatch', detail: `expected ${want.slice(0, 12)}…, got ${got.slice(0, 12)}…` });
      continue;
    }
    entries.push({ path: rel, sha256: got });
  }
  if (problems.length > 0) throw new ChecksumError(file, problems);
  const covered = new Set(entries.map((e) => e.path.split(path.sep).join('/')));
  return {
    checksumsSha256: sha256(raw),
    entries,
    uncovered: listed.filter((f) => !covered.has(f) && !NOT_COVERED(f)),
  };
}
