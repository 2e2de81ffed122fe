/**
 * The Markdown report (also the job summary): outcome, counts per
 * measurement, the changes most important first (cut with a note when long),
 * the recipe section, and what each noise rule hid.
 */
import { cell, code, sections, table } from '../../core/markdown.ts';
import { readingText } from '../compare.ts';
import type { DriftReading, RankedChange } from '../types.ts';
import type { DriftReport } from './json.ts';

/** Options of {@link markdownReport}. */
export interface MarkdownOptions {
  /** Most changes listed (default 100); the rest are counted in a note. */
  maxChanges?: number;
  /** Longest value shown in a cell before it is cut with `…` (default 80). */
  maxValueChars?: number;
  /** Where the full report is (`drift-report.json in artifact aicr-drift-check`). */
  fullReport?: string;
}

/** A reading for a table cell: code-quoted, cut when long, `—` when absent. */
export function shortValue(v: DriftReading | undefined, max = 80): string {
  if (v === undefined) return '—';
  let t = readingText(v).replace(/\t/g, '\\t').replace(/\r?\n/g, '\\n');
  if (t.length > max) t = `${t.slice(0, max - 1)}…`;
  return t === '' ? '""' : code(t);
}

const KIND_MARK: Readonly<Record<RankedChange['kind'], string>> = { added: '➕ added', removed: '➖ removed', modified: '✏️ modified' };

/** Render the report as GitHub-flavoured Markdown. */
export function markdownReport(r: DriftReport, opts: MarkdownOptions = {}): string {
  const max = opts.maxChanges ?? 100;
  const width = opts.maxValueChars ?? 80;
  const s = r.summary;
  const head =
    r.outcome === 'clean'
      ? '## ✅ AICR drift check: clean'
      : `## ⚠️ AICR drift check: drift (${s.changes} change${s.changes === 1 ? '' : 's'}${s.constraintsFailed ? `, ${s.constraintsFailed} recipe constraint${s.constraintsFailed === 1 ? '' : 's'} failed` : ''})`;
  const when = (m: Record<string, string>): string => [m.timestamp && `captured ${m.timestamp}`, m.version && `aicr ${m.version}`, (m['source-node'] || m.source) && `node ${m['source-node'] || m.source}`].filter(Boolean).join(', ');
  const intro = [
    `Baseline ${code(r.baseline.source)}${when(r.baseline.metadata) ? ` (${when(r.baseline.metadata)})` : ''}`,
    `Current ${code(r.current.source)}${when(r.current.metadata) ? ` (${when(r.current.metadata)})` : ''}`,
    '',
    `**${s.changes}** change${s.changes === 1 ? '' : 's'} (${s.added} added, ${s.removed} removed, ${s.modified} modified); **${s.hidden}** hidden by noise rules (${r.rules.length} in force); ${s.raw} raw difference${s.raw === 1 ? '' : 's'} before rules.`,
  ].join('  \n');
  const counts = table(
    ['measurement', 'added', 'removed', 'modified', 'hidden'],
    r.byMeasurement.map((m) => [m.type, m.added, m.removed, m.modified, m.hidden]),
  );
  let changes = '';
  if (r.changes.length > 0) {
    const shown = r.changes.slice(0, max);
    changes = sections(
      '### Changes, most important first',
      table(
        ['change', 'path', 'baseline', 'current'],
        shown.map((c) => [KIND_MARK[c.kind], code(c.path), shortValue(c.baseline, width), shortValue(c.current, width)]),
      ),
      r.changes.length > shown.length &&
        `_Showing the ${shown.length} most important of ${r.changes.length} changes; ${r.changes.length - shown.length} more are in ${opts.fullReport ?? 'the JSON report'}._`,
    );
  }
  let recipe = '';
  if (r.constraints) {
    const c = r.constraints;
    const mark = { passed: '✅ passed', failed: '❌ failed', skipped: '⏭️ skipped' } as const;
    recipe = sections(
      `### Recipe constraints (${code(c.recipe)})`,
      c.total === 0
        ? 'The recipe has no top-level constraints.'
        : `${c.failed} failed, ${c.passed} passed, ${c.skipped} skipped (evaluated with ${code('aicr validate --no-cluster')}, one constraint per run).`,
      table(
        ['constraint', 'expected', 'actual', 'result', 'detail'],
        c.results.map((x) => [code(x.name), code(x.expected), x.actual === undefined ? '—' : code(x.actual), mark[x.status], cell([x.message, x.remediation].filter(Boolean).join(' — '))]),
      ),
    );
  }
  const hidden =
    r.hidden.length > 0
      ? sections(
          '### Hidden by noise rules',
          table(['rule', 'hidden', 'why', 'e.g.'], r.hidden.map((h) => [code(h.rule), h.count, cell(h.reason), h.examples[0] ? code(h.examples[0]) : ''])),
        )
      : '';
  const notices = r.notices.length > 0 ? r.notices.map((n) => `> ${n}`).join('\n') : '';
  return sections(head, intro, notices, '### Changes per measurement', counts, changes, recipe, hidden);
}
