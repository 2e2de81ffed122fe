/**
 * Shapes shared by the drift engine: readings, changes, results.
 *
 * Paths follow `aicr diff` (NVIDIA/aicr `pkg/diff/diff.go`): `Type.subtype.key`,
 * e.g. `GPU.smi.driver` or `OS.sysctl./proc/sys/kernel/osrelease`. Subtype
 * names and keys may themselves contain dots (`SystemD.containerd.service.MainPID`),
 * so every change also carries the three parts separately.
 */

/**
 * One reading as loaded: aicr's `Reading` is a string, int, uint, float or
 * bool; integers beyond 2^53 (systemd's `18446744073709551615`) stay exact as
 * `bigint`; `null` is what aicr prints as `<nil>`.
 */
export type DriftReading = string | number | bigint | boolean | null;

/** added: only in the current snapshot; removed: only in the baseline; modified: in both, different. */
export type ChangeKind = 'added' | 'removed' | 'modified';

/** One reading that differs between the baseline and the current snapshot. */
export interface Change {
  kind: ChangeKind;
  /** `Type.subtype.key`, as `aicr diff` prints it. */
  path: string;
  type: string;
  subtype: string;
  key: string;
  /** Value in the baseline (absent for `added`). */
  baseline?: DriftReading;
  /** Value in the current snapshot (absent for `removed`). */
  current?: DriftReading;
}

/** A change with its rank for reports (higher first). */
export interface RankedChange extends Change {
  /** 0-100; see `importance.ts`. */
  importance: number;
}

/** How many changes one noise rule hid. */
export interface HiddenCount {
  rule: string;
  reason: string;
  count: number;
  /** Up to five hidden paths, so a reader can see what the rule matched. */
  examples: string[];
}

/** Counts per measurement type (visible changes, and changes hidden by rules). */
export interface MeasurementCounts {
  type: string;
  added: number;
  removed: number;
  modified: number;
  hidden: number;
}

/** Result of comparing two snapshots under a rule set. */
export interface DriftResult {
  /** Visible changes, most important first. */
  changes: RankedChange[];
  /** Changes hidden by each rule that hid at least one, in rule order. */
  hidden: HiddenCount[];
  /** Total of `hidden[].count`. */
  hiddenTotal: number;
  /** Every measurement type present in either snapshot, sorted. */
  byMeasurement: MeasurementCounts[];
  /** Total raw changes before rules (what `aicr diff` reports). */
  rawTotal: number;
}
