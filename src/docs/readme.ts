/**
 * Generated parts of README.md: one reference section per action (from the
 * stage specs) and workflow files included verbatim. Hand-written text lives
 * outside the markers; `npm run gen` rewrites what is between them.
 *
 *   <!-- generated:actions -->…<!-- /generated:actions -->
 *   <!-- include:.github/workflows/pipeline.yml -->…<!-- /include -->
 */
import type { InputSpec, StageSpec } from '../core/spec.ts';

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function inputDefault(i: InputSpec): string {
  const d = i.actionDefault ?? i.default;
  return d === undefined || d === '' ? '' : `\`${d}\``;
}

/** The README section of one action. */
export function actionSection(spec: StageSpec, uses: string): string {
  const lines = [`### \`${uses}\` — ${spec.title}`, '', spec.description, ''];
  if (spec.example) lines.push('```yaml', spec.example, '```', '');
  lines.push('<details><summary>Inputs</summary>', '', '| input | description | default |', '| --- | --- | --- |');
  for (const i of spec.inputs) {
    const kind = i.kind === 'enum' ? ` One of: ${(i.values ?? []).map((v) => `\`${v}\``).join(', ')}.` : i.kind === 'list' ? ' One per line.' : '';
    lines.push(`| \`${i.name}\`${i.required ? ' (required)' : ''} | ${cell(i.description + kind)} | ${inputDefault(i)} |`);
  }
  lines.push('', '</details>', '', '<details><summary>Outputs</summary>', '', '| output | description |', '| --- | --- |');
  for (const o of spec.outputs) lines.push(`| \`${o.name}\` | ${cell(o.description)} |`);
  lines.push('', '</details>', '');
  return lines.join('\n');
}

/**
 * Replace every generated region of `readme`.
 * @param sections - rendered action sections, in order.
 * @param readFile - reads a repository file for `include:` regions.
 * @returns the new README text.
 * @throws Error when an include names a file that cannot be read.
 */
export function renderReadme(readme: string, sections: readonly string[], readFile: (p: string) => string): string {
  let out = readme.replace(
    /<!-- generated:actions -->[\s\S]*?<!-- \/generated:actions -->/,
    () => `<!-- generated:actions -->\n${sections.join('\n')}<!-- /generated:actions -->`,
  );
  out = out.replace(/<!-- include:(\S+) -->[\s\S]*?<!-- \/include -->/g, (_m, file: string) => {
    const lang = /\.ya?ml$/.test(file) ? 'yaml' : '';
    return `<!-- include:${file} -->\n\`\`\`${lang}\n${readFile(file).replace(/\n$/, '')}\n\`\`\`\n<!-- /include -->`;
  });
  return out;
}
