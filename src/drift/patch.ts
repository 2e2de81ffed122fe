/**
 * Normalized forms and the RFC 6902 JSON Patch between them.
 *
 * The normalized form of a snapshot under a rule set is
 * `{ <type>: { <subtype>: { <key>: <reading> } } }`: measurements keyed by
 * type and subtype (so order is gone), every type and subtype present (empty
 * ones as `{}`), readings matched by a plain rule dropped, readings matched
 * by strip rules stripped. The patch turns the baseline's normalized form into
 * the current one's: applying it yields the current form exactly.
 */
import type { NoiseRule } from './rules.ts';
import { DROPPED, normalizeReading } from './rules.ts';
import type { DriftSnapshot } from './snapshot.ts';
import type { Change, DriftReading } from './types.ts';

/** `{ type: { subtype: { key: reading } } }`, null-prototype objects. */
export type NormalizedForm = Record<string, Record<string, Record<string, DriftReading>>>;

/** One RFC 6902 operation (the three kinds this patch uses). */
export type PatchOp =
  | { op: 'add'; path: string; value: DriftReading | Record<string, never> }
  | { op: 'replace'; path: string; value: DriftReading }
  | { op: 'remove'; path: string };

/** A JSON Pointer (RFC 6901) from reference tokens. */
export function pointer(...tokens: string[]): string {
  return tokens.map((t) => `/${t.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** The normalized form of `snap` under `rules`. */
export function normalizedForm(snap: DriftSnapshot, rules: readonly NoiseRule[]): NormalizedForm {
  const out: NormalizedForm = Object.create(null);
  for (const [type, subtypes] of snap.index) {
    const t: Record<string, Record<string, DriftReading>> = (out[type] = Object.create(null));
    for (const [subtype, data] of subtypes) {
      const s: Record<string, DriftReading> = (t[subtype] = Object.create(null));
      const prefix = `${type}.${subtype}.`;
      for (const key of Object.keys(data)) {
        const v = rules.length === 0 ? data[key] : normalizeReading(rules, prefix + key, data[key]);
        if (v !== DROPPED) s[key] = v;
      }
    }
  }
  return out;
}

/**
 * The JSON Patch from the baseline's normalized form to the current one's.
 *
 * Ops come per type and subtype (sorted): containers added first, then one op
 * per visible change (`add`, `replace` with the normalized current value, or
 * `remove`), containers removed last.
 *
 * @param visible - the visible changes of a `detectDrift` under the same `rules`.
 */
export function jsonPatch(baseline: DriftSnapshot, current: DriftSnapshot, visible: readonly Change[], rules: readonly NoiseRule[]): PatchOp[] {
  const bySubtype = new Map<string, Change[]>();
  for (const c of visible) {
    const k = `${c.type}\u0000${c.subtype}`;
    const list = bySubtype.get(k);
    if (list) list.push(c);
    else bySubtype.set(k, [c]);
  }
  const ops: PatchOp[] = [];
  const value = (c: Change): DriftReading => {
    const v = normalizeReading(rules, c.path, c.current ?? null);
    return v === DROPPED ? null : v;
  };
  const types = [...new Set([...baseline.index.keys(), ...current.index.keys()])].sort();
  for (const type of types) {
    const b = baseline.index.get(type);
    const c = current.index.get(type);
    if (!b) ops.push({ op: 'add', path: pointer(type), value: {} });
    const subtypes = [...new Set([...(b?.keys() ?? []), ...(c?.keys() ?? [])])].sort();
    for (const subtype of subtypes) {
      const inB = b?.has(subtype) ?? false;
      const inC = c?.has(subtype) ?? false;
      if (!inB) ops.push({ op: 'add', path: pointer(type, subtype), value: {} });
      const changes = (bySubtype.get(`${type}\u0000${subtype}`) ?? []).slice().sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
      for (const ch of changes) {
        const path = pointer(type, subtype, ch.key);
        if (ch.kind === 'added') ops.push({ op: 'add', path, value: value(ch) });
        else if (ch.kind === 'modified') ops.push({ op: 'replace', path, value: value(ch) });
        else ops.push({ op: 'remove', path });
      }
      if (!inC) ops.push({ op: 'remove', path: pointer(type, subtype) });
    }
    if (!c) ops.push({ op: 'remove', path: pointer(type) });
  }
  return ops;
}
