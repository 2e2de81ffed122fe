/**
 * Parse `aicr-ci <stage>` flags against a stage spec: flag names equal the
 * action input names; list inputs may repeat; booleans may be bare.
 */
import { parseArgs } from 'node:util';
import { InputError } from '../core/errors.ts';
import type { StageSpec } from '../core/spec.ts';

/**
 * @param spec - the stage's spec.
 * @param argv - arguments after the stage name.
 * @returns input name → raw value (repeated list flags joined with newlines).
 * @throws InputError for unknown flags or positional arguments, listing the valid flags.
 */
export function parseStageArgs(spec: StageSpec, argv: readonly string[]): Map<string, string> {
  const booleans = new Set(spec.inputs.filter((i) => i.kind === 'boolean').map((i) => i.name));
  // A bare boolean flag (`--dry-run`) means true, as people expect from a CLI.
  const expanded: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    expanded.push(a);
    if (a.startsWith('--') && !a.includes('=') && booleans.has(a.slice(2))) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) expanded.push('true');
    }
  }
  const options = Object.fromEntries(
    spec.inputs.map((i) => [i.name, { type: 'string' as const, multiple: i.kind === 'list' }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: expanded, options, strict: true, allowPositionals: false });
  } catch (err) {
    const msg = (err as Error).message;
    const flag = /'(--?[^' ]+)/.exec(msg)?.[1] ?? '';
    throw new InputError(
      flag.replace(/^--?/, '') || 'argv',
      `${msg.split('\n')[0]}. Valid flags for '${spec.name}': ${spec.inputs.map((i) => `--${i.name}`).join(' ')}`,
    );
  }
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(parsed.values)) {
    if (v === undefined) continue;
    out.set(k, Array.isArray(v) ? v.join('\n') : String(v));
  }
  return out;
}

/** `--help` text for a stage, generated from its spec. */
export function stageHelp(spec: StageSpec): string {
  const lines = [`aicr-ci ${spec.name} — ${spec.title}`, '', spec.description, '', 'Flags (same names as the action inputs; also read from AICR_CI_<NAME>):'];
  for (const i of spec.inputs) {
    const kind = i.kind === 'enum' ? (i.values ?? []).join('|') : i.kind === 'list' ? 'value, repeatable' : i.kind;
    const def = i.default !== undefined && i.default !== '' ? ` (default: ${i.default})` : '';
    lines.push(`  --${i.name} <${kind}>${i.required ? ' (required)' : ''}${def}`, `      ${i.description}`);
  }
  lines.push('', 'Outputs (printed as one JSON object on stdout):');
  for (const o of spec.outputs) lines.push(`  ${o.name}: ${o.description}`);
  lines.push('', 'Exit status: 0 success, 1 gate tripped (drift-check found drift), 2 error.');
  return `${lines.join('\n')}\n`;
}
