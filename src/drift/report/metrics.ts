/**
 * OpenMetrics text for node-exporter's textfile collector or a Pushgateway:
 * `aicr_drift_changes{measurement="GPU"} 1` per measurement type, plus hidden
 * counts per rule, failed constraints, the outcome and the time of the check.
 * The closing `# EOF` is a comment to the Prometheus text parser, so the same
 * file serves both formats.
 */
import type { DriftReport } from './json.ts';

/** Escape a label value (backslash, double quote, newline). */
export function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Render the metrics; every measurement type of either snapshot gets a line, zero included. */
export function openMetrics(r: DriftReport, now: Date = new Date()): string {
  const lines: string[] = [
    '# TYPE aicr_drift_changes gauge',
    '# HELP aicr_drift_changes Visible drift changes per measurement type (after noise rules).',
  ];
  for (const m of r.byMeasurement) lines.push(`aicr_drift_changes{measurement="${labelValue(m.type)}"} ${m.added + m.removed + m.modified}`);
  lines.push('# TYPE aicr_drift_hidden gauge', '# HELP aicr_drift_hidden Changes hidden by each noise rule.');
  for (const h of r.hidden) lines.push(`aicr_drift_hidden{rule="${labelValue(h.rule)}"} ${h.count}`);
  lines.push(
    '# TYPE aicr_drift_constraints_failed gauge',
    '# HELP aicr_drift_constraints_failed Recipe constraints the snapshot no longer meets.',
    `aicr_drift_constraints_failed ${r.summary.constraintsFailed}`,
    '# TYPE aicr_drift_detected gauge',
    '# HELP aicr_drift_detected 1 when the outcome is drift, 0 when clean.',
    `aicr_drift_detected ${r.outcome === 'drift' ? 1 : 0}`,
    '# TYPE aicr_drift_last_check_timestamp_seconds gauge',
    '# HELP aicr_drift_last_check_timestamp_seconds When the check ran (Unix time).',
    `aicr_drift_last_check_timestamp_seconds ${Math.floor(now.getTime() / 1000)}`,
    '# EOF',
  );
  return `${lines.join('\n')}\n`;
}
