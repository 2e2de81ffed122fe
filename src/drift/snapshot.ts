/**
 * Snapshots as the drift engine sees them: parsed strictly, checked to be a
 * `kind: Snapshot`, and indexed by identity (measurement type → subtype →
 * reading key) so that order never matters.
 *
 * Parsing is `parseYamlDoc` (src/core/yaml.ts, js-yaml 5) with exact uint64
 * readings; the document checks are `asSnapshot` (src/core/snapshot-doc.ts).
 */
import { FileError } from '../core/errors.ts';
import { readFileCapped } from '../core/fsutil.ts';
import { asSnapshot, SNAPSHOT_API_VERSIONS } from '../core/snapshot-doc.ts';
import { MAX_DOC_BYTES, parseYamlDoc } from '../core/yaml.ts';
import type { DriftReading } from './types.ts';

/** Readings of one subtype: key → value (own keys only; may include `__proto__`). */
export type ReadingMap = Readonly<Record<string, DriftReading>>;

/** A loaded snapshot, indexed by identity. */
export interface DriftSnapshot {
  /** File, URI or artifact path it came from (used in every message). */
  source: string;
  apiVersion: string;
  /** True for the pre-rename `eidos.nvidia.com` group. */
  legacyGroup: boolean;
  /** `metadata` as strings (timestamp, version, source-node). Not compared. */
  metadata: Readonly<Record<string, string>>;
  /** type → subtype → readings. Types with no subtypes map to an empty Map. */
  index: ReadonlyMap<string, ReadonlyMap<string, ReadingMap>>;
  /** Number of readings. */
  readings: number;
  /** Size of the source text in bytes. */
  bytes: number;
  /** Things a reader should know (legacy API group). */
  notices: string[];
}

/** The largest snapshot the engine reads: {@link MAX_DOC_BYTES} (64 MiB). */
export const MAX_SNAPSHOT_BYTES = MAX_DOC_BYTES;

function isScalar(v: unknown): v is DriftReading {
  const t = typeof v;
  return v === null || t === 'string' || t === 'number' || t === 'boolean' || t === 'bigint';
}

/**
 * Check a parsed document and index it.
 *
 * Beyond `asSnapshot` (kind, apiVersion, a non-empty measurements list, type
 * and subtype names) it refuses what would make a comparison ambiguous: a
 * measurement type or a subtype listed twice, and readings that are not
 * scalars.
 *
 * @throws FileError naming `source` and the problem.
 */
export function indexSnapshot(doc: unknown, source: string, bytes: number): DriftSnapshot {
  const snap = asSnapshot(doc, source);
  const index = new Map<string, Map<string, ReadingMap>>();
  let readings = 0;
  for (const m of snap.measurements) {
    if (index.has(m.type)) throw new FileError(source, `measurement type '${m.type}' appears twice; a snapshot lists each type once`);
    const subtypes = new Map<string, ReadingMap>();
    index.set(m.type, subtypes);
    for (const st of m.subtypes) {
      if (subtypes.has(st.subtype)) throw new FileError(source, `subtype '${m.type}.${st.subtype}' appears twice; a measurement lists each subtype once`);
      const data = st.data as Record<string, unknown>;
      for (const key of Object.keys(data)) {
        const v = data[key];
        if (!isScalar(v)) {
          throw new FileError(source, `reading ${m.type}.${st.subtype}.${key} is a ${Array.isArray(v) ? 'list' : 'mapping'}; snapshot readings are strings, numbers or booleans`);
        }
        readings++;
      }
      subtypes.set(st.subtype, data as ReadingMap);
    }
  }
  const legacyGroup = snap.apiVersion === SNAPSHOT_API_VERSIONS[1];
  const notices = legacyGroup
    ? [`${source} uses the legacy API group ${snap.apiVersion} (aicr's name before the rename); read as ${SNAPSHOT_API_VERSIONS[0]}`]
    : [];
  return { source, apiVersion: snap.apiVersion, legacyGroup, metadata: snap.metadata, index, readings, bytes, notices };
}

/**
 * Parse snapshot text (YAML or JSON) and index it.
 *
 * @param text - document text.
 * @param source - name used in messages.
 * @param maxBytes - size cap (default {@link MAX_SNAPSHOT_BYTES}).
 * @throws FileError for text over the cap, malformed YAML, duplicate keys,
 *   alias bombs, or a document that is not a snapshot.
 */
export function parseSnapshotText(text: string, source: string, maxBytes = MAX_SNAPSHOT_BYTES): DriftSnapshot {
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes) throw new FileError(source, `is ${bytes} bytes, over the limit of ${maxBytes} bytes`);
  if (text.trim() === '') throw new FileError(source, 'is empty: expected a snapshot (kind: Snapshot)');
  return indexSnapshot(parseYamlDoc(text, source, { bigInts: true }), source, bytes);
}

/**
 * Read a text file (size-capped) and release the bytes at once: the buffer's
 * memory is detached right after decoding instead of waiting for a GC, so a
 * 20 MB snapshot does not hold 40 MB while the next one is read.
 *
 * @throws FileError when the file is missing, not a regular file, or over the cap.
 */
export async function readTextCapped(file: string, maxBytes = MAX_SNAPSHOT_BYTES): Promise<string> {
  const buf = await readFileCapped(file, maxBytes);
  const text = buf.toString('utf8');
  const ab = buf.buffer as ArrayBuffer & { transfer?: (n: number) => ArrayBuffer };
  // Only when the Buffer owns its whole ArrayBuffer (large reads are never pooled).
  if (buf.byteOffset === 0 && ab.byteLength === buf.length && typeof ab.transfer === 'function') ab.transfer(0);
  return text;
}

/**
 * Read and index a snapshot file.
 * @throws FileError when the file is missing, over the cap, or not a snapshot.
 */
export async function readSnapshotFile(file: string, maxBytes = MAX_SNAPSHOT_BYTES): Promise<DriftSnapshot> {
  return parseSnapshotText(await readTextCapped(file, maxBytes), file, maxBytes);
}

/** One reading by identity, or `undefined`. */
export function readingOf(s: DriftSnapshot, type: string, subtype: string, key: string): DriftReading | undefined {
  const data = s.index.get(type)?.get(subtype);
  return data && Object.hasOwn(data, key) ? data[key] : undefined;
}
