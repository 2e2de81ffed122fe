/**
 * The `kind: RecipeResult` document and the facts CI reports about it.
 *
 * Schema mirrors NVIDIA/aicr v0.11.1 `pkg/recipe/metadata.go` (RecipeResult).
 */
import { FileError } from './errors.ts';
import { isRecord, readYamlFile } from './yaml.ts';

/** A component as outputs and summaries show it. */
export interface ComponentSummary {
  name: string;
  version: string;
  chart: string;
  namespace: string;
  type: string;
}

export interface RecipeFacts {
  version: string;
  criteria: Record<string, string>;
  appliedOverlays: string[];
  excludedOverlays: string[];
  components: ComponentSummary[];
  deploymentOrder: string[];
  constraintCount: number;
}

/**
 * Check a parsed document is a RecipeResult and extract its facts.
 * @throws FileError naming `source` when it is not a recipe.
 */
export function recipeFacts(doc: unknown, source: string): RecipeFacts {
  if (!isRecord(doc)) throw new FileError(source, 'is not a recipe: expected a YAML mapping with kind: RecipeResult');
  if (doc.kind !== undefined && doc.kind !== 'RecipeResult') {
    throw new FileError(source, `is not a recipe: kind is '${String(doc.kind)}', expected 'RecipeResult'`);
  }
  if (!Array.isArray(doc.componentRefs)) throw new FileError(source, 'is not a recipe: it has no componentRefs list');
  const meta = isRecord(doc.metadata) ? doc.metadata : {};
  const strList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
  const criteria: Record<string, string> = {};
  if (isRecord(doc.criteria)) for (const [k, v] of Object.entries(doc.criteria)) criteria[k] = String(v);
  return {
    version: String(meta.version ?? ''),
    criteria,
    appliedOverlays: strList(meta.appliedOverlays),
    excludedOverlays: strList(meta.excludedOverlays),
    components: doc.componentRefs.filter(isRecord).map((c) => ({
      name: String(c.name ?? ''),
      version: String(c.version ?? ''),
      chart: String(c.chart ?? ''),
      namespace: String(c.namespace ?? ''),
      type: String(c.type ?? ''),
    })),
    deploymentOrder: strList(doc.deploymentOrder),
    constraintCount: Array.isArray(doc.constraints) ? doc.constraints.length : 0,
  };
}

/** Load a recipe file and extract its facts. */
export async function loadRecipeFacts(file: string): Promise<RecipeFacts> {
  return recipeFacts(await readYamlFile(file), file);
}

/** The `components` output: JSON list of `{name, version, chart}`. */
export function componentsJson(components: readonly ComponentSummary[]): string {
  return JSON.stringify(components.map(({ name, version, chart }) => ({ name, version, chart })));
}
