/**
 * Safe YAML/JSON document loading shared by every stage.
 *
 * Reading uses js-yaml (events straight to objects, no AST): on a 21 MB
 * snapshot it took 0.2-0.4 s and ~35 MiB where the `yaml` package took 2-6 s
 * and 270-890 MiB, and it keeps the actions' start-up small. Writing uses
 * `yaml`, loaded only when a stage writes YAML.
 */
import { CORE_SCHEMA, defineScalarTag, intCoreTag, load as loadJsYaml, NOT_RESOLVED, type Schema } from 'js-yaml';
import { FileError } from './errors.ts';
import { readFileCapped } from './fsutil.ts';

/** Largest YAML file a stage reads: 64 MiB (a 5,000-node snapshot is ~30 MB). */
export const MAX_DOC_BYTES = 64 * 1024 * 1024;

/**
 * Aliases allowed per document. Real aicr output has none; a small cap stops
 * "billion laughs" alias bombs before they expand.
 */
export const MAX_ALIASES = 100;

/** Serialize as YAML with 2-space indent, as aicr's file writer does. */
export async function toYaml(value: unknown): Promise<string> {
  const { stringify } = await import('yaml');
  return stringify(value, { indent: 2, lineWidth: 0 });
}

/** True for a plain object (not array, not null). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Options of {@link parseYamlDoc}. */
export interface FastYamlOptions {
  /**
   * Integers outside ±(2^53−1) become `bigint` instead of a rounded `number`
   * (aicr writes uint64 readings such as systemd's `18446744073709551615`).
   */
  bigInts?: boolean;
}

/** YAML 1.2 core `!!int` that keeps integers beyond 2^53 exact as `bigint`. */
const bigIntTag = defineScalarTag<number | bigint>('tag:yaml.org,2002:int', {
  implicit: true,
  implicitFirstChars: ['-', '+', ...'0123456789'],
  resolve: (source, isExplicit, tagName) => {
    const n = intCoreTag.resolve(source, isExplicit, tagName);
    if (n === NOT_RESOLVED || Number.isSafeInteger(n)) return n;
    try {
      return BigInt(source.startsWith('+') ? source.slice(1) : source);
    } catch {
      return n; // signed hex/octal: BigInt() refuses a sign there; keep the number
    }
  },
  identify: (v) => typeof v === 'bigint' || intCoreTag.identify(v),
  represent: (v) => String(v),
});
let bigIntSchema: Schema | undefined;

/**
 * Parse one YAML (or JSON) document strictly with js-yaml 5: duplicate keys, syntax errors, more than {@link MAX_ALIASES} aliases, and
 * any mapping or sequence reached twice through an alias (the shape of an
 * alias bomb; js-yaml shares the object instead of expanding it, so the bomb
 * would only go off in the caller's walk) are a {@link FileError} naming
 * `source` and the line. YAML 1.2 core schema: `yes`/`no` and unquoted dates
 * stay strings, as in Go's yaml.v3 (which aicr uses).
 *
 * @param text - the document text.
 * @param source - file name or URI used in error messages.
 * @returns the plain JS value (objects, arrays, scalars; `bigint` with `bigInts`).
 * @throws FileError naming `source`, the line and the problem.
 */
export function parseYamlDoc(text: string, source: string, opts: FastYamlOptions = {}): unknown {
  let value: unknown;
  try {
    const schema = opts.bigInts ? (bigIntSchema ??= CORE_SCHEMA.withTags(bigIntTag)) : CORE_SCHEMA;
    value = loadJsYaml(text, { schema, maxAliases: MAX_ALIASES, maxDepth: 64, filename: source });
  } catch (err) {
    const e = err as { reason?: string; message?: string; mark?: { line?: number } };
    const reason = e.reason ?? e.message?.split('\n')[0] ?? String(err);
    const line = e.mark?.line !== undefined ? e.mark.line + 1 : undefined;
    if (/alias/i.test(reason) && /max|limit|too many|exceed/i.test(reason)) {
      throw new FileError(source, `too many YAML alias expansions (limit ${MAX_ALIASES}); refusing a possible alias bomb`);
    }
    const what = /duplicat/i.test(reason) ? 'duplicate key' : 'malformed YAML';
    throw new FileError(source, `${what}${line ? ` at line ${line}` : ''}: ${reason}`);
  }
  // Aliases need a '*': without one there is nothing shared to walk.
  if (text.includes('*')) rejectSharedCollections(value, source);
  return value;
}

/** Throw when a mapping or sequence is reachable twice (an alias to a collection). */
function rejectSharedCollections(root: unknown, source: string): void {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (seen.has(v)) {
      throw new FileError(source, `too many YAML alias expansions (limit ${MAX_ALIASES}); refusing a possible alias bomb: a mapping or sequence is reused through an alias`);
    }
    seen.add(v);
    if (Array.isArray(v)) for (const x of v) stack.push(x);
    else for (const x of Object.values(v)) stack.push(x);
  }
}

/** Read a file (size-capped) and parse it with {@link parseYamlDoc}. */
export async function readYamlFile(file: string, maxBytes = MAX_DOC_BYTES, opts: FastYamlOptions = {}): Promise<unknown> {
  const buf = await readFileCapped(file, maxBytes);
  return parseYamlDoc(buf.toString('utf8'), file, opts);
}
