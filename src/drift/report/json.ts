/**
 * The JSON report: every visible change with both values, hidden counts per
 * rule, counts per measurement, the rules in force, and the recipe section.
 */
import type { NoiseRule } from '../rules.ts';
import type { DriftSnapshot } from '../snapshot.ts';
import type { DriftResult } from '../types.ts';
import type { ConstraintReport } from '../recipe.ts';

/** `clean`, `drift` or `error` (error never reaches a report file). */
export type Outcome = 'clean' | 'drift' | 'error';

/** What a report says about one snapshot. */
export interface SnapshotInfo {
  source: string;
  apiVersion: string;
  metadata: Record<string, string>;
  readings: number;
  bytes: number;
}

/** The JSON report document (`kind: DriftReport`). */
export interface DriftReport {
  kind: 'DriftReport';
  apiVersion: 'aicr-ci.nvidia.com/v1alpha1';
  outcome: Exclude<Outcome, 'error'>;
  generatedAt: string;
  baseline: SnapshotInfo;
  current: SnapshotInfo;
  summary: {
    changes: number;
    added: number;
    removed: number;
    modified: number;
    hidden: number;
    /** Differences before rules: what `aicr diff` reports. */
    raw: number;
    constraintsFailed: number;
  };
  rules: { id: string; origin: string; glob?: string; regex?: string; strip?: string; reason: string }[];
  byMeasurement: DriftResult['byMeasurement'];
  hidden: DriftResult['hidden'];
  changes: DriftResult['changes'];
  constraints?: ConstraintReport;
  notices: string[];
}

/** Outcome of a comparison: drift when a change is visible or a recipe constraint failed. */
export function outcomeOf(result: DriftResult, constraints?: ConstraintReport): Exclude<Outcome, 'error'> {
  return result.changes.length > 0 || (constraints?.failed ?? 0) > 0 ? 'drift' : 'clean';
}

function info(s: DriftSnapshot): SnapshotInfo {
  return { source: s.source, apiVersion: s.apiVersion, metadata: { ...s.metadata }, readings: s.readings, bytes: s.bytes };
}

/** Build the report document. */
export function buildReport(
  baseline: DriftSnapshot,
  current: DriftSnapshot,
  result: DriftResult,
  rules: readonly NoiseRule[],
  constraints: ConstraintReport | undefined,
  now: Date = new Date(),
): DriftReport {
  const count = (k: 'added' | 'removed' | 'modified'): number => result.changes.filter((c) => c.kind === k).length;
  return {
    kind: 'DriftReport',
    apiVersion: 'aicr-ci.nvidia.com/v1alpha1',
    outcome: outcomeOf(result, constraints),
    generatedAt: now.toISOString(),
    baseline: info(baseline),
    current: info(current),
    summary: {
      changes: result.changes.length,
      added: count('added'),
      removed: count('removed'),
      modified: count('modified'),
      hidden: result.hiddenTotal,
      raw: result.rawTotal,
      constraintsFailed: constraints?.failed ?? 0,
    },
    rules: rules.map((r) => ({
      id: r.id,
      origin: r.origin,
      ...(r.glob !== undefined ? { glob: r.glob } : {}),
      ...(r.regex !== undefined ? { regex: r.regex } : {}),
      ...(r.strip !== undefined ? { strip: r.strip } : {}),
      reason: r.reason,
    })),
    byMeasurement: result.byMeasurement,
    hidden: result.hidden,
    changes: result.changes,
    ...(constraints ? { constraints } : {}),
    notices: [...baseline.notices, ...current.notices],
  };
}

const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/**
 * JSON text with `bigint` readings written as exact numbers
 * (`18446744073709551615`, not a rounded double), ending with a newline.
 */
export function toJsonText(value: unknown, indent = 2): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? rawJSON(v.toString()) : v), indent)}\n`;
}
