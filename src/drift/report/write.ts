/**
 * Putting a report directory in place all at once: the files are written to
 * a temporary sibling directory which is then renamed, so a reader sees
 * either a complete report or none. A directory that holds a previous drift
 * report (and nothing else) is replaced; anything else is refused.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { FileError } from '../../core/errors.ts';
import { dirEntries, tempSibling } from '../../core/fsutil.ts';

/** File names of a report directory. */
export const REPORT_FILES = {
  json: 'drift-report.json',
  markdown: 'drift-report.md',
  patch: 'drift-patch.json',
  metrics: 'aicr-drift.prom',
} as const;

const KNOWN = new Set<string>(Object.values(REPORT_FILES));

/**
 * What is at `dir` now: nothing, an empty directory, or a previous report.
 * @throws FileError when `dir` is a file or holds files that are not a drift report.
 */
export async function checkReportDir(dir: string): Promise<'absent' | 'empty' | 'previous-report'> {
  const entries = await dirEntries(dir, 'report-dir');
  if (entries === undefined) return 'absent';
  if (entries.length === 0) return 'empty';
  const foreign = entries.filter((e) => !KNOWN.has(e));
  if (foreign.length > 0) {
    throw new FileError(dir, `report-dir holds files that are not a drift report (${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', …' : ''}); give a new or empty directory`);
  }
  return 'previous-report';
}

/**
 * Write `files` (name → content) as the directory `dir`, replacing an empty
 * directory or a previous report.
 * @throws FileError as {@link checkReportDir}; I/O errors leave no new report behind.
 */
export async function writeReportDir(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  const state = await checkReportDir(dir);
  await fs.mkdir(path.dirname(dir), { recursive: true });
  const tmp = tempSibling(dir);
  await fs.mkdir(tmp);
  try {
    for (const [name, content] of Object.entries(files)) await fs.writeFile(path.join(tmp, name), content);
    if (state === 'absent') {
      await fs.rename(tmp, dir);
    } else {
      const old = tempSibling(dir);
      await fs.rename(dir, old);
      try {
        await fs.rename(tmp, dir);
      } catch (err) {
        await fs.rename(old, dir).catch(() => undefined);
        throw err;
      }
      await fs.rm(old, { recursive: true, force: true });
    }
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Remove a previous report at `dir` (only when it holds nothing but report
 * files), so a failed check never leaves an older, valid-looking report.
 * Never throws.
 */
export async function removeStaleReport(dir: string): Promise<void> {
  try {
    if ((await checkReportDir(dir)) === 'previous-report') {
      for (const f of KNOWN) await fs.rm(path.join(dir, f), { force: true });
    }
  } catch {
    /* foreign content or unreadable: leave it alone */
  }
}
