/**
 * File helpers that never leave a half-written product behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { FileError } from './errors.ts';

/** SHA-256 of a file as lowercase hex, streamed (constant memory). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** SHA-256 of a string or buffer as lowercase hex. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A sibling temp name for `target` (same directory, so rename is atomic). */
export function tempSibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${randomBytes(4).toString('hex')}`);
}

/**
 * Write `data` to `target` atomically: write a temp sibling, then rename.
 * The parent directory is created. On failure the temp file is removed.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempSibling(target);
  try {
    await fs.writeFile(tmp, data, { mode });
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Produce a file through `produce(tmpPath)` and move it to `target` only when
 * `produce` resolves; a rejected `produce` leaves nothing at `target`.
 */
export async function produceFileAtomic<T>(target: string, produce: (tmp: string) => Promise<T>): Promise<T> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempSibling(target) + path.extname(target);
  try {
    const result = await produce(tmp);
    await fs.rename(tmp, target);
    return result;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/**
 * Produce a directory through `produce(tmpDir)` and rename it to `target`.
 *
 * @throws FileError when `target` exists and is not an empty directory: a
 *   bundle must land in a fresh directory, never mixed with old files.
 */
export async function produceDirAtomic<T>(target: string, produce: (tmp: string) => Promise<T>): Promise<T> {
  await assertFreshDir(target);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempSibling(target);
  await fs.mkdir(tmp);
  try {
    const result = await produce(tmp);
    await fs.rm(target, { recursive: true, force: true }); // only ever an empty dir here
    await fs.rename(tmp, target);
    return result;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Names in directory `dir`, or `undefined` when nothing is there.
 * @throws FileError when `dir` exists and is not a directory (`what` names it in the message).
 */
export async function dirEntries(dir: string, what = 'it'): Promise<string[] | undefined> {
  try {
    const st = await fs.stat(dir);
    if (!st.isDirectory()) throw new FileError(dir, `${what} exists and is not a directory; give a new, empty directory`);
    return await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Throw unless `dir` is absent or an empty directory. */
export async function assertFreshDir(dir: string): Promise<void> {
  const entries = (await dirEntries(dir)) ?? [];
  if (entries.length > 0) {
    throw new FileError(dir, `is not empty (${entries.length} entries); give a new, empty directory so old files cannot mix into the product`);
  }
}

/** Every regular file under `root`, hidden ones included, as sorted relative POSIX paths. */
export async function listFiles(root: string): Promise<string[]> {
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

/** True when `p` exists. */
export async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** Read a file with a size cap; the error names the file and the cap. */
export async function readFileCapped(file: string, maxBytes: number): Promise<Buffer> {
  let st;
  try {
    st = await fs.stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new FileError(file, 'does not exist');
    throw new FileError(file, (err as Error).message);
  }
  if (!st.isFile()) throw new FileError(file, 'is not a regular file');
  if (st.size > maxBytes) {
    throw new FileError(file, `is ${st.size} bytes, over the limit of ${maxBytes} bytes`);
  }
  return fs.readFile(file);
}

/**
 * The document to use inside a downloaded artifact directory: `inner` when
 * given (it must stay inside `dir`), else the only file with one of
 * `extensions` (`.meta.json` sidecars ignored).
 *
 * @param fail - builds the error to throw from a message, so callers can name their input.
 * @param hint - appended when the artifact holds zero or several candidates (which input picks one).
 * @returns an absolute path (not checked to exist when `inner` is given).
 */
export async function documentInArtifact(
  dir: string,
  artifact: string,
  inner: string | undefined,
  fail: (message: string) => Error,
  hint: string,
  extensions: readonly string[] = ['.yaml', '.yml', '.json'],
): Promise<string> {
  if (inner) {
    const p = path.resolve(dir, inner);
    if (!p.startsWith(path.resolve(dir) + path.sep)) throw fail(`'${inner}' escapes the directory of artifact '${artifact}'`);
    return p;
  }
  const entries = (await fs.readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile() && extensions.includes(path.extname(e.name)) && !e.name.endsWith('.meta.json'))
    .map((e) => path.join(e.parentPath, e.name));
  if (entries.length !== 1) {
    throw fail(`artifact '${artifact}' holds ${entries.length} ${extensions.join('/')} files (${entries.map((e) => path.relative(dir, e)).join(', ') || 'none'}); ${hint}`);
  }
  return entries[0];
}
