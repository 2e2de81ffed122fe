/**
 * Recipe criteria: allowed values and how a query turns into aicr flags or
 * aicrd query parameters.
 *
 * Values mirror NVIDIA/aicr v0.11.1 `pkg/recipe/criteria.go`
 * (`ParseCriteria*Type`): parsing is case-insensitive, and `self-managed`,
 * `self`, `vanilla` map to `any`; `al2`/`al2023` map to `amazonlinux`.
 */
import { InputError } from '../../core/errors.ts';
import { isRecord } from '../../core/yaml.ts';

export const CRITERIA_VALUES = {
  service: ['eks', 'gke', 'aks', 'oke', 'kind', 'self-managed', 'self', 'vanilla', 'any'],
  accelerator: ['h100', 'gb200', 'b200', 'a100', 'l40', 'any'],
  intent: ['training', 'inference', 'any'],
  os: ['ubuntu', 'rhel', 'cos', 'amazonlinux', 'al2', 'al2023', 'any'],
  platform: ['dynamo', 'kubeflow', 'any'],
} as const;

/** The query fields, in aicr's flag order. */
export const CRITERIA_FIELDS = ['service', 'accelerator', 'intent', 'os', 'platform'] as const;
export type CriteriaField = (typeof CRITERIA_FIELDS)[number];

/** A recipe query: any subset of the fields, plus `nodes`. */
export type Query = Partial<Record<CriteriaField, string>> & { nodes?: number };

/**
 * Check a query's values.
 * @param where - prefix for messages (`input 'environments' entry 'prod'`).
 * @throws InputError listing the allowed values.
 */
export function checkQuery(q: Query, inputName: string, where = ''): void {
  for (const f of CRITERIA_FIELDS) {
    const v = q[f];
    if (v === undefined) continue;
    const allowed = CRITERIA_VALUES[f] as readonly string[];
    if (!allowed.includes(v.trim().toLowerCase())) {
      throw new InputError(inputName, `${where}${f} '${v}' is not supported; expected one of ${allowed.join(', ')}`);
    }
  }
  if (q.nodes !== undefined && (!Number.isInteger(q.nodes) || q.nodes < 0)) {
    throw new InputError(inputName, `${where}nodes must be a whole number >= 0; got ${q.nodes}`);
  }
}

/** `--service eks --accelerator h100 ...` for `aicr recipe` (nodes 0 = unset, omitted). */
export function queryFlags(q: Query): string[] {
  const args: string[] = [];
  for (const f of CRITERIA_FIELDS) if (q[f]) args.push(`--${f}`, q[f] as string);
  if (q.nodes) args.push('--nodes', String(q.nodes));
  return args;
}

/** `service=eks&accelerator=h100...` for aicrd's `GET /v1/recipe`, in a stable order. */
export function queryParams(q: Query): URLSearchParams {
  const p = new URLSearchParams();
  for (const f of CRITERIA_FIELDS) if (q[f]) p.set(f, q[f] as string);
  if (q.nodes) p.set('nodes', String(q.nodes));
  return p;
}

/**
 * Read the query fields of a mapping (an `environments` entry, or a
 * RecipeCriteria `spec`). Unknown keys are errors so typos surface.
 */
export function queryFromMapping(m: Record<string, unknown>, inputName: string, where: string, extraKeys: readonly string[] = []): Query {
  const q: Query = {};
  for (const [k, v] of Object.entries(m)) {
    if ((CRITERIA_FIELDS as readonly string[]).includes(k)) {
      if (v !== null && v !== undefined && v !== '') q[k as CriteriaField] = String(v);
    } else if (k === 'nodes') {
      if (v !== null && v !== undefined && v !== '') q.nodes = Number(v);
    } else if (!extraKeys.includes(k)) {
      throw new InputError(inputName, `${where}unknown key '${k}'; expected ${[...CRITERIA_FIELDS, 'nodes', ...extraKeys].join(', ')}`);
    }
  }
  checkQuery(q, inputName, where);
  return q;
}

/** The `spec` of a RecipeCriteria document as a query (for the aicrd backend). */
export function queryFromCriteriaDoc(doc: unknown, file: string): Query {
  if (!isRecord(doc)) throw new InputError('criteria', `${file} is not a RecipeCriteria mapping`);
  if (doc.kind !== undefined && doc.kind !== 'RecipeCriteria') {
    throw new InputError('criteria', `${file} has kind '${String(doc.kind)}', expected RecipeCriteria`);
  }
  const spec = isRecord(doc.spec) ? doc.spec : {};
  return queryFromMapping(spec, 'criteria', `${file}: `);
}

/** Merge: `over` fields win over `base`. */
export function mergeQuery(base: Query, over: Query): Query {
  return { ...base, ...Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)) };
}
