/**
 * Identity comparison of two snapshots, reading by reading.
 *
 * Mirrors `diff.Snapshots` in NVIDIA/aicr `pkg/diff/diff.go` (the engine of
 * `aicr diff`, absent from the pinned v0.11.1 CLI): measurements are matched
 * by `type`, subtypes by name, readings by key, so order never counts; a type
 * or subtype present on one side only contributes one added/removed change
 * per reading; `metadata` is not compared; values are compared by their
 * string form (Go's `%v`, with `null` as `<nil>`), so `1` and `"1"` are equal.
 */
import type { DriftSnapshot, ReadingMap } from './snapshot.ts';
import type { Change, DriftReading } from './types.ts';

/** A reading as `aicr diff` prints and compares it (Go `fmt.Sprintf("%v")`). */
export function readingText(v: DriftReading | undefined): string {
  if (v === null || v === undefined) return '<nil>';
  return typeof v === 'string' ? v : String(v);
}

/** True when two readings are equal in `aicr diff`'s sense. */
export function sameReading(a: DriftReading, b: DriftReading): boolean {
  if (a === b) return true;
  if (typeof a === 'string' && typeof b === 'string') return false;
  return readingText(a) === readingText(b);
}

function sortedUnion(a: Iterable<string>, b: Iterable<string>): string[] {
  const s = new Set(a);
  for (const k of b) s.add(k);
  return [...s].sort();
}

function subtypeChanges(out: Change[], type: string, subtype: string, base: ReadingMap | undefined, cur: ReadingMap | undefined): void {
  const prefix = `${type}.${subtype}.`;
  if (!base || !cur) {
    const side = (base ?? cur) as ReadingMap;
    for (const key of Object.keys(side).sort()) {
      out.push(base ? { kind: 'removed', path: prefix + key, type, subtype, key, baseline: side[key] } : { kind: 'added', path: prefix + key, type, subtype, key, current: side[key] });
    }
    return;
  }
  const keys = Object.keys(base);
  const curKeys = Object.keys(cur);
  // Fast path: identical key lists are the norm; avoid building a union.
  const all = keys.length === curKeys.length && keys.every((k) => Object.hasOwn(cur, k)) ? keys.sort() : sortedUnion(keys, curKeys);
  for (const key of all) {
    const inBase = Object.hasOwn(base, key);
    const inCur = Object.hasOwn(cur, key);
    if (inBase && inCur) {
      const b = base[key];
      const c = cur[key];
      if (!sameReading(b, c)) out.push({ kind: 'modified', path: prefix + key, type, subtype, key, baseline: b, current: c });
    } else if (inBase) {
      out.push({ kind: 'removed', path: prefix + key, type, subtype, key, baseline: base[key] });
    } else {
      out.push({ kind: 'added', path: prefix + key, type, subtype, key, current: cur[key] });
    }
  }
}

/**
 * Every reading that differs, sorted by path (as `aicr diff` sorts them).
 *
 * @param baseline - the reference state.
 * @param current - the state now.
 * @returns raw changes, before any noise rule.
 */
export function compareSnapshots(baseline: DriftSnapshot, current: DriftSnapshot): Change[] {
  const out: Change[] = [];
  const empty = new Map<string, ReadingMap>();
  for (const type of sortedUnion(baseline.index.keys(), current.index.keys())) {
    const b = baseline.index.get(type);
    const c = current.index.get(type);
    for (const subtype of sortedUnion((b ?? empty).keys(), (c ?? empty).keys())) {
      subtypeChanges(out, type, subtype, b?.get(subtype), c?.get(subtype));
    }
  }
  out.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  return out;
}
