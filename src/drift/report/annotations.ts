/**
 * Annotations for the run page: failed recipe constraints (errors), then the
 * most important changes (warnings), capped, the last one pointing at the
 * full report when some were left out. A clean result has none.
 */
import type { Annotation } from '../../core/stage.ts';
import { readingText } from '../compare.ts';
import type { DriftReading } from '../types.ts';
import type { DriftReport } from './json.ts';

function short(v: DriftReading | undefined): string {
  if (v === undefined) return '(absent)';
  const t = readingText(v);
  return t.length > 120 ? `${t.slice(0, 119)}…` : t === '' ? '""' : t;
}

/**
 * @param max - most annotations (0: none).
 * @param fullReport - where the full report is, for the pointer.
 */
export function annotationsFor(r: DriftReport, max: number, fullReport: string): Annotation[] {
  if (max <= 0 || r.outcome === 'clean') return [];
  const all: Annotation[] = [];
  for (const c of r.constraints?.results ?? []) {
    if (c.status !== 'failed') continue;
    all.push({
      level: 'error',
      message: `no longer met: expected ${c.expected}, got ${c.actual ?? '(absent)'}${c.remediation ? `. ${c.remediation}` : ''}`,
      props: { title: `Drift: constraint ${c.name}` },
    });
  }
  for (const c of r.changes) {
    const message =
      c.kind === 'modified' ? `${short(c.baseline)} → ${short(c.current)}` : c.kind === 'added' ? `added: ${short(c.current)}` : `removed (was ${short(c.baseline)})`;
    all.push({ level: 'warning', message, props: { title: `Drift: ${c.path}` } });
  }
  if (all.length <= max) return all;
  const kept = all.slice(0, max - 1);
  kept.push({
    level: 'warning',
    message: `${all.length - kept.length} more drift findings are not annotated (${r.summary.changes} changes, ${r.summary.constraintsFailed} failed constraints in total); full report: ${fullReport}`,
    props: { title: 'Drift: more in the report' },
  });
  return kept;
}
