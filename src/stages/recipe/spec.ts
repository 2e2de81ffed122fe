import { artifactOutputs, commonInputs, type StageSpec } from '../../core/spec.ts';
import { kubeconfigInput } from '../common.ts';
import { CRITERIA_VALUES } from './criteria.ts';

export const spec: StageSpec = {
  name: 'recipe',
  title: 'AICR recipe',
  summary: 'Generate AICR recipes from a query, criteria, a snapshot or aicrd, one per environment if asked.',
  description:
    'Generate an AICR recipe (tuned component versions and values) from a query, a criteria file or a snapshot, with the local aicr CLI or an aicrd API server; optionally one recipe per environment.',
  example: `- uses: nvidia/aicr/actions/recipe@v1
  id: recipe
  with:
    snapshot-artifact: aicr-snapshot   # from an earlier job, or snapshot: <file|cm://ns/name>
    intent: training
# or one recipe per environment, generated concurrently:
- uses: nvidia/aicr/actions/recipe@v1
  with:
    environments: |
      - name: staging
        service: eks
        accelerator: h100
      - name: production
        service: eks
        accelerator: gb200`,
  inputs: [
    { name: 'service', description: 'Kubernetes service.', kind: 'enum', values: CRITERIA_VALUES.service },
    { name: 'accelerator', description: 'GPU type.', kind: 'enum', values: CRITERIA_VALUES.accelerator },
    { name: 'intent', description: 'Workload intent.', kind: 'enum', values: CRITERIA_VALUES.intent },
    { name: 'os', description: 'GPU node operating system.', kind: 'enum', values: CRITERIA_VALUES.os },
    { name: 'platform', description: 'Platform/framework.', kind: 'enum', values: CRITERIA_VALUES.platform },
    { name: 'nodes', description: 'Number of GPU nodes (0 = unset).', kind: 'integer', min: 0 },
    { name: 'criteria', description: 'RecipeCriteria file (YAML/JSON). Query inputs override its fields.', kind: 'string' },
    {
      name: 'snapshot',
      description: 'Snapshot to derive criteria from: a file, `cm://namespace/name`, an https URL, or the path inside `snapshot-artifact`.',
      kind: 'string',
    },
    { name: 'snapshot-artifact', description: 'Name of an earlier job\'s snapshot artifact to use as `snapshot`.', kind: 'string' },
    {
      name: 'config',
      description: 'AICRConfig file (`aicr recipe --config`). Needs an aicr that has that flag; the pinned v0.11.1 does not, and the stage says so.',
      kind: 'string',
    },
    { name: 'data', description: 'External data directory overlaid on aicr\'s embedded recipe data (`--data`).', kind: 'string' },
    {
      name: 'api-url',
      description: 'Base URL of an aicrd server (e.g. `https://aicrd.example.com`). When set, recipes come from `GET /v1/recipe` instead of the local CLI.',
      kind: 'string',
    },
    { name: 'api-retries', description: 'Retries on 5xx/429/connection errors against aicrd (exponential backoff, Retry-After honoured).', kind: 'integer', default: '4', min: 0, max: 10 },
    {
      name: 'environments',
      description:
        'YAML list of named criteria (`- name: staging\\n  service: eks\\n  accelerator: h100`); one recipe per entry, written as `<output stem>-<name><ext>`. Query inputs are defaults for every entry.',
      kind: 'yaml',
    },
    { name: 'concurrency', description: 'How many environments are generated at once.', kind: 'integer', default: '4', min: 1, max: 32 },
    { name: 'output', description: 'Recipe file to write.', kind: 'string', default: 'recipe.yaml' },
    { name: 'format', description: 'Recipe file format.', kind: 'enum', values: ['yaml', 'json'], default: 'yaml' },
    kubeconfigInput,
    ...commonInputs('recipe', { product: true }),
  ],
  outputs: [
    { name: 'recipe-path', description: 'Absolute path of the recipe; with `environments`, a JSON map name → path.' },
    { name: 'sha256', description: 'SHA-256 of the recipe file; with `environments`, a JSON map name → sha256.' },
    { name: 'components', description: 'JSON list of `{name, version, chart}`; with `environments`, a JSON map name → list.' },
    { name: 'applied-overlays', description: 'Comma-separated overlays aicr applied; with `environments`, a JSON map name → list.' },
    { name: 'criteria', description: 'JSON of the criteria the recipe was built for; with `environments`, a JSON map.' },
    ...artifactOutputs,
  ],
};
