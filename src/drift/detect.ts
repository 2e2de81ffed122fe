/**
 * Drift detection: raw comparison, noise rules, ranking and counts.
 */
import { compareSnapshots } from './compare.ts';
import { rankChanges } from './importance.ts';
import { hidingRule, type NoiseRule } from './rules.ts';
import type { DriftSnapshot } from './snapshot.ts';
import type { Change, DriftResult, HiddenCount, MeasurementCounts } from './types.ts';

/**
 * Compare `baseline` with `current` under `rules`.
 *
 * @param rules - effective noise rules (empty: every difference is drift,
 *   which is exactly what `aicr diff` reports).
 * @returns visible changes (most important first), hidden counts per rule,
 *   counts per measurement type and the raw total.
 */
export function detectDrift(baseline: DriftSnapshot, current: DriftSnapshot, rules: readonly NoiseRule[]): DriftResult {
  const raw = compareSnapshots(baseline, current);
  const visible: Change[] = [];
  const hiddenBy = new Map<string, HiddenCount>();
  const counts = new Map<string, MeasurementCounts>();
  for (const type of new Set([...baseline.index.keys(), ...current.index.keys()])) {
    counts.set(type, { type, added: 0, removed: 0, modified: 0, hidden: 0 });
  }
  for (const c of raw) {
    const mc = counts.get(c.type) as MeasurementCounts;
    const rule = rules.length > 0 ? hidingRule(rules, c) : undefined;
    if (rule) {
      let h = hiddenBy.get(rule.id);
      if (!h) hiddenBy.set(rule.id, (h = { rule: rule.id, reason: rule.reason, count: 0, examples: [] }));
      h.count++;
      if (h.examples.length < 5) h.examples.push(c.path);
      mc.hidden++;
    } else {
      visible.push(c);
      mc[c.kind]++;
    }
  }
  const hidden = [...new Set(rules.map((r) => r.id))].map((id) => hiddenBy.get(id)).filter((h): h is HiddenCount => h !== undefined);
  return {
    changes: rankChanges(visible),
    hidden,
    hiddenTotal: hidden.reduce((n, h) => n + h.count, 0),
    byMeasurement: [...counts.values()].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)),
    rawTotal: raw.length,
  };
}
