/**
 * Small Markdown builders for job summaries (GitHub renders GFM tables).
 */

/** Escape a table cell: pipes and newlines would break the row. */
export function cell(v: unknown): string {
  return String(v ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A GFM table; `rows` are arrays of cells in header order. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  if (rows.length === 0) return '';
  const head = `| ${headers.map(cell).join(' | ')} |`;
  const sep = `| ${headers.map(() => '---').join(' | ')} |`;
  return [head, sep, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** Inline code that survives backticks in the value. */
export function code(v: string): string {
  const fence = v.includes('`') ? '``' : '`';
  return `${fence}${v}${fence}`;
}

/** Join non-empty sections with blank lines. */
export function sections(...parts: (string | undefined | false)[]): string {
  return parts.filter((p): p is string => Boolean(p)).join('\n\n') + '\n';
}
