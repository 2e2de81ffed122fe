/**
 * action.yml rendering from a StageSpec (used by scripts/gen-actions.ts and its test).
 */
import { stringify } from 'yaml';
import type { InputSpec, StageSpec } from '../core/spec.ts';
import type { Stage } from '../core/stage.ts';
import { STAGE_LOADERS } from '../stages/index.ts';


function inputDescription(i: InputSpec): string {
  if (i.kind === 'enum') return `${i.description} One of: ${(i.values ?? []).join(', ')}.`;
  if (i.kind === 'list') return `${i.description} (multi-line)`;
  return i.description;
}

/**
 * The action.yml text for `spec`.
 * @param file - repository path of the action.yml (decides the relative `main`).
 */
export function renderActionYaml(spec: StageSpec, file: string): string {
  const depth = file.split('/').length - 1;
  const main = `${'../'.repeat(depth)}dist/${spec.name}/index.js`;
  const inputs: Record<string, Record<string, unknown>> = {};
  for (const i of spec.inputs) {
    const entry: Record<string, unknown> = { description: inputDescription(i), required: Boolean(i.required) };
    const def = i.actionDefault ?? i.default;
    if (def !== undefined && def !== '') entry.default = def;
    inputs[i.name] = entry;
  }
  const outputs: Record<string, Record<string, unknown>> = {};
  for (const o of spec.outputs) outputs[o.name] = { description: o.description };
  const doc = {
    name: spec.title,
    description: spec.summary ?? spec.description,
    author: 'NVIDIA AICR CI',
    branding: { icon: 'cpu', color: 'green' },
    inputs,
    outputs,
    runs: { using: 'node24', main },
  };
  return `# Generated from src/stages/${spec.name}/spec.ts by \`npm run gen\`. Do not edit.\n${stringify(doc, { lineWidth: 0, indent: 2 })}`;
}

/** Every action.yml the repository has: the root setup action and one per stage. */
export async function actionFiles(): Promise<{ file: string; stage: Stage }[]> {
  const out: { file: string; stage: Stage }[] = [];
  for (const [name, load] of Object.entries(STAGE_LOADERS)) {
    const stage = await load();
    out.push({ file: name === 'setup' ? 'action.yml' : `actions/${name}/action.yml`, stage });
  }
  return out;
}
