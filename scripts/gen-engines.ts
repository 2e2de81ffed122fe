/**
 * Generate the Tekton Tasks and the Argo Workflows stage templates from the
 * stage specs, so the engines, the actions and the shell CLI can never
 * disagree on a parameter. Hand-written files (pipelines, samples, RBAC,
 * READMEs of the pipelines) live next to the generated ones and are not
 * touched.
 *
 * Usage: node scripts/gen-engines.ts [--check]
 *
 * The test `engine files are generated from the stage specs` fails when a
 * generated file is stale.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { InputSpec, StageSpec } from '../src/core/spec.ts';
import { STAGE_LOADERS } from '../src/stages/index.ts';

/** Project root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Catalog version of every generated Task (`task/<name>/<version>/`). */
export const TASK_VERSION = '0.1';

/**
 * The one value users override for the step image: a placeholder digest that
 * cannot be pulled, so nobody runs an unpinned image by accident. README.md
 * says how to build, push and pin the real one.
 */
export const IMAGE_PLACEHOLDER = 'ghcr.io/your-org/aicr-ci@sha256:0000000000000000000000000000000000000000000000000000000000000000';

/** The UID/GID the image runs as (Dockerfile `USER 65532:65532`). */
export const RUN_AS = 65532;

/** Stages that run on the engines (setup is GitHub-only: the image carries aicr). */
export const ENGINE_STAGES = ['snapshot', 'recipe', 'bundle', 'deploy', 'drift-check', 'validate'] as const;
export type EngineStage = (typeof ENGINE_STAGES)[number];

/** Inputs no engine exposes, with the reason (shown in the READMEs). */
export const NOT_ON_ENGINES: Readonly<Record<string, string>> = {
  'aicr-path': 'the image carries the pinned aicr on PATH',
  'artifact-name': 'files travel through the workspace (Tekton) or artifacts (Argo)',
  'artifact-retention-days': 'files travel through the workspace (Tekton) or artifacts (Argo)',
  'snapshot-artifact': 'pass a path in the workspace (Tekton) or an input artifact (Argo)',
  'recipe-artifact': 'pass a path in the workspace (Tekton) or an input artifact (Argo)',
  'bundle-artifact': 'pass a path in the workspace (Tekton) or an input artifact (Argo)',
  'baseline-artifact': 'GitHub artifacts only; use a file, `cm://` or URL baseline',
  'baseline-workflow': 'GitHub artifacts only',
  'baseline-branch': 'GitHub artifacts only',
  'baseline-repository': 'GitHub artifacts only',
  'github-token': 'GitHub artifacts only',
  kubeconfig: 'the `kubeconfig` workspace (Tekton) / Secret (Argo), else the pod\'s ServiceAccount',
};

/** Per-stage engine facts that the spec does not carry. */
export interface EngineFacts {
  /** One-line summary for catalog metadata. */
  summary: string;
  /** Outputs that are Tekton results (small values only; 4 KiB per pod). */
  tektonResults: readonly string[];
  /** Outputs left out of Tekton results, with the reason. */
  tektonNotResults?: Readonly<Record<string, string>>;
  /** Argo: inputs fixed by the template (the path its artifacts use), not parameters. */
  argoFixed: Readonly<Record<string, string>>;
  /** Argo: inputs not offered, with the reason. */
  argoExcluded?: Readonly<Record<string, string>>;
  /** Argo: optional input artifacts and where they land. */
  argoInputArtifacts: readonly { name: string; path: string; input: string; description: string }[];
  /** Argo: output artifacts (single files are stored raw with `archive: none`). */
  argoOutputArtifacts: readonly { name: string; path: string; file: boolean; description: string }[];
  /** Tekton categories/tags. */
  tags: string;
}

const W = '/workspace';

/** The engine facts of each stage. */
export const FACTS: Readonly<Record<EngineStage, EngineFacts>> = {
  snapshot: {
    summary: 'Capture a GPU cluster snapshot with aicr (agent Job or local) and check it.',
    tektonResults: ['snapshot-path', 'sha256', 'metadata-path', 'configmap', 'k8s-version', 'gpu-model', 'gpu-count', 'driver-version', 'measurements'],
    argoFixed: { output: `${W}/out/snapshot.yaml` },
    argoExcluded: { cluster: 'names the file by cluster and time; an artifact needs a fixed path (the Workflow name already identifies the run)' },
    argoInputArtifacts: [],
    argoOutputArtifacts: [{ name: 'snapshot', path: `${W}/out/snapshot.yaml`, file: true, description: 'The snapshot (raw YAML).' }],
    tags: 'aicr,gpu,snapshot',
  },
  recipe: {
    summary: 'Generate an AICR recipe from a query, criteria or a snapshot.',
    tektonResults: ['recipe-path', 'sha256', 'applied-overlays', 'criteria'],
    tektonNotResults: { components: 'a JSON list that grows with the recipe; read it from the recipe file or the step log' },
    argoFixed: { output: `${W}/out/recipe.yaml` },
    argoExcluded: {
      environments: 'one recipe per entry: call the template once per environment with `withItems`/`withParam` instead',
      concurrency: 'only used with environments',
    },
    argoInputArtifacts: [
      { name: 'snapshot', path: `${W}/in/snapshot.yaml`, input: 'snapshot', description: 'Snapshot file; set parameter `snapshot` to its path.' },
      { name: 'criteria', path: `${W}/in/criteria.yaml`, input: 'criteria', description: 'RecipeCriteria file; set parameter `criteria` to its path.' },
    ],
    argoOutputArtifacts: [{ name: 'recipe', path: `${W}/out/recipe.yaml`, file: true, description: 'The recipe (raw YAML or JSON).' }],
    tags: 'aicr,gpu,recipe',
  },
  bundle: {
    summary: 'Render an AICR recipe into a Helm or Argo CD bundle.',
    tektonResults: ['bundle-dir', 'checksums-sha256', 'file-count', 'deployer'],
    tektonNotResults: { components: 'a JSON list that grows with the recipe; read it from the bundle or the step log' },
    argoFixed: { output: `${W}/out/bundle` },
    argoInputArtifacts: [{ name: 'recipe', path: `${W}/in/recipe.yaml`, input: 'recipe', description: 'Recipe file; set parameter `recipe` to its path.' }],
    argoOutputArtifacts: [{ name: 'bundle', path: `${W}/out/bundle`, file: false, description: 'The bundle directory (tar+gzip).' }],
    tags: 'aicr,gpu,bundle,helm,argocd',
  },
  deploy: {
    summary: "Verify an AICR bundle's checksums, then deploy it, print the plan, or commit it to GitOps.",
    tektonResults: ['checksums-sha256', 'verified-files', 'deployer', 'deployed', 'commit-sha', 'gitops-changed', 'record-path'],
    tektonNotResults: { plan: 'a JSON list that grows with the bundle; it is in the deploy record, the summary file and the step log' },
    argoFixed: { record: `${W}/out/deploy-record.json` },
    argoInputArtifacts: [{ name: 'bundle', path: `${W}/in/bundle`, input: 'bundle', description: 'Bundle directory; set parameter `bundle` to its path.' }],
    argoOutputArtifacts: [{ name: 'record', path: `${W}/out/deploy-record.json`, file: true, description: 'The deploy record (JSON): verified digest, plan, what was done.' }],
    tags: 'aicr,gpu,deploy,helm,gitops',
  },
  'drift-check': {
    summary: 'Compare a fresh AICR snapshot with a baseline and report clean, drift or error.',
    tektonResults: [
      'outcome',
      'changes',
      'added',
      'removed',
      'modified',
      'hidden',
      'constraints-failed',
      'report-dir',
      'report-json',
      'report-markdown',
      'report-patch',
      'report-metrics',
      'baseline-source',
      'baseline-updated',
    ],
    argoFixed: { 'report-dir': `${W}/out/drift-report` },
    argoInputArtifacts: [
      { name: 'baseline', path: `${W}/in/baseline.yaml`, input: 'baseline', description: 'Baseline snapshot file; set parameter `baseline` to its path (or use a `cm://` baseline and no artifact).' },
      { name: 'snapshot', path: `${W}/in/snapshot.yaml`, input: 'snapshot', description: 'Current snapshot file; set parameter `snapshot` to its path.' },
      { name: 'recipe', path: `${W}/in/recipe.yaml`, input: 'recipe', description: 'Recipe whose constraints must still hold; set parameter `recipe` to its path.' },
      { name: 'rules', path: `${W}/in/rules.yaml`, input: 'rules-file', description: 'Noise rules file; set parameter `rules-file` to its path.' },
    ],
    argoOutputArtifacts: [{ name: 'report', path: `${W}/out/drift-report`, file: false, description: 'The drift report directory: JSON, JSON Patch, Markdown, OpenMetrics (tar+gzip).' }],
    tags: 'aicr,gpu,drift,snapshot',
  },
  validate: {
    summary: 'Validate a cluster or snapshot against an AICR recipe; publish the CTRF report.',
    tektonResults: ['report-path', 'outcome', 'tests', 'passed', 'failed', 'skipped'],
    argoFixed: { output: `${W}/out/validation-report.json` },
    argoExcluded: {
      'evidence-dir': 'conformance evidence is a directory tree for a CNCF submission: run the Tekton Task or the CLI with a volume',
      'cncf-submission': 'needs evidence-dir',
      feature: 'needs cncf-submission',
    },
    argoInputArtifacts: [
      { name: 'recipe', path: `${W}/in/recipe.yaml`, input: 'recipe', description: 'Recipe file; set parameter `recipe` to its path.' },
      { name: 'snapshot', path: `${W}/in/snapshot.yaml`, input: 'snapshot', description: 'Snapshot file; set parameter `snapshot` to its path.' },
    ],
    argoOutputArtifacts: [{ name: 'report', path: `${W}/out/validation-report.json`, file: true, description: 'The CTRF JSON report (raw).' }],
    tags: 'aicr,gpu,validate,ctrf',
  },
};

/** Environment variable carrying input `name` (`AICR_CI_<NAME>`). */
export function envName(name: string): string {
  return `AICR_CI_${name.replace(/[- ]/g, '_').toUpperCase()}`;
}

/**
 * Inputs that cannot travel through `AICR_CI_<NAME>` because the variable is
 * taken: `AICR_CI_PLATFORM` selects the adapter, so the recipe's `platform`
 * goes as an argv element (`--platform=<value>`, no shell involved).
 */
export const ARGV_INPUTS: ReadonlySet<string> = new Set(['platform']);

/** Load every engine stage's spec. */
export async function engineSpecs(): Promise<Map<EngineStage, StageSpec>> {
  const out = new Map<EngineStage, StageSpec>();
  for (const s of ENGINE_STAGES) out.set(s, (await STAGE_LOADERS[s]()).spec);
  return out;
}

/** Spec inputs offered as Tekton params. */
export function tektonInputs(spec: StageSpec): InputSpec[] {
  return spec.inputs.filter((i) => !(i.name in NOT_ON_ENGINES));
}

/** Spec inputs offered as Argo parameters. */
export function argoInputs(stage: EngineStage, spec: StageSpec): InputSpec[] {
  const f = FACTS[stage];
  return spec.inputs.filter((i) => !(i.name in NOT_ON_ENGINES) && !(i.name in f.argoFixed) && !(i.name in (f.argoExcluded ?? {})));
}

/** Plain-text form of a spec description (markdown code spans kept). */
function describe(i: InputSpec): string {
  let d = i.description.replace(/,? or the path inside `[a-z-]+`/g, '');
  if (i.kind === 'list') d += ' (One value per line.)';
  if (i.kind === 'boolean') d += ' (`true` or `false`.)';
  if (i.kind === 'enum') d += ` (One of: ${(i.values ?? []).join(', ')}.)`;
  if (i.kind === 'integer') d += ' (An integer; empty means unset.)';
  if (i.kind === 'duration') d += ' (A duration such as `90s` or `5m`; empty means aicr\'s default.)';
  return d;
}

const HEADER = (what: string): string =>
  `# GENERATED from src/stages/*/spec.ts by scripts/gen-engines.ts — do not edit.\n# ${what}\n`;

/** The stage's Tekton Task. */
export function renderTektonTask(stage: EngineStage, spec: StageSpec): string {
  const f = FACTS[stage];
  const inputs = tektonInputs(spec);
  const outputs = spec.outputs.filter((o) => f.tektonResults.includes(o.name));
  const params = [
    ...inputs.map((i) => ({ name: i.name, type: 'string', description: describe(i), default: i.default ?? '' })),
    {
      name: 'kubeconfig-key',
      type: 'string',
      description: 'Key (file name) of the kubeconfig inside the `kubeconfig` workspace. Used only when that workspace is bound.',
      default: 'kubeconfig',
    },
    {
      name: 'summary-file',
      type: 'string',
      description: 'File in the `source` workspace the Markdown summary is appended to.',
      default: `aicr-${stage}-summary.md`,
    },
    {
      name: 'aicr-ci-image',
      type: 'string',
      description: 'The aicr-ci step image (Node 24, the pinned aicr, dist/). Pin it by digest; see README.md "Image".',
      default: IMAGE_PLACEHOLDER,
    },
  ];
  const results = [
    ...outputs.map((o) => ({ name: o.name, type: 'string', description: o.description })),
    { name: 'error', type: 'string', description: 'Why the step failed (empty on success; cut to fit the result budget).' },
  ];
  const env = [
    { name: 'AICR_CI_PLATFORM', value: 'tekton' },
    { name: 'AICR_CI_RESULT_PATHS', value: results.map((r) => `${r.name}=$(results.${r.name}.path)`).join(' ') },
    { name: 'AICR_CI_WRITABLE_DIRS', value: '$(workspaces.source.path)' },
    { name: 'AICR_CI_KUBECONFIG_DIR', value: '$(workspaces.kubeconfig.path)' },
    { name: 'AICR_CI_KUBECONFIG_KEY', value: '$(params.kubeconfig-key)' },
    { name: 'AICR_CI_SUMMARY', value: '$(workspaces.source.path)/$(params.summary-file)' },
    { name: 'AICR_CI_TEMP', value: '/tmp' },
    { name: 'HOME', value: '/tmp' },
    ...inputs.filter((i) => !ARGV_INPUTS.has(i.name)).map((i) => ({ name: envName(i.name), value: `$(params.${i.name})` })),
  ];
  const args = [stage, ...inputs.filter((i) => ARGV_INPUTS.has(i.name)).map((i) => `--${i.name}=$(params.${i.name})`)];
  const task = {
    apiVersion: 'tekton.dev/v1',
    kind: 'Task',
    metadata: {
      name: `aicr-${stage}`,
      labels: { 'app.kubernetes.io/version': TASK_VERSION },
      annotations: {
        'tekton.dev/pipelines.minVersion': '0.50.0',
        'tekton.dev/categories': 'Deployment, Kubernetes',
        'tekton.dev/tags': f.tags,
        'tekton.dev/displayName': spec.title,
        'tekton.dev/platforms': 'linux/amd64,linux/arm64',
      },
    },
    spec: {
      description: `${f.summary}\n\n${spec.description} Runs \`aicr-ci ${stage}\` (the same core as the GitHub action ./actions/${stage}); params reach the step only through environment variables.`,
      workspaces: [
        {
          name: 'source',
          description:
            'Holds inputs and products (snapshot, recipe, bundle, reports); relative paths in params resolve against it (and `working-directory`). Must be writable by UID/GID 65532 (set `fsGroup: 65532` in the podTemplate).',
        },
        {
          name: 'kubeconfig',
          optional: true,
          readOnly: true,
          description: "A Secret holding a kubeconfig under key `kubeconfig-key`. Not bound: the pod's ServiceAccount (in-cluster credentials) is used.",
        },
      ],
      params,
      results,
      volumes: [{ name: 'tmp', emptyDir: {} }],
      steps: [
        {
          name: stage,
          image: '$(params.aicr-ci-image)',
          command: ['aicr-ci'],
          args,
          workingDir: '$(workspaces.source.path)',
          env,
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          securityContext: {
            runAsNonRoot: true,
            runAsUser: RUN_AS,
            runAsGroup: RUN_AS,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
        },
      ],
    },
  };
  return HEADER(`Tekton Task aicr-${stage} ${TASK_VERSION}: see README.md beside this file.`) + stringify(task, { lineWidth: 0 });
}

/** One Argo template for a stage (shared by the WorkflowTemplate and its ClusterWorkflowTemplate twin). */
export function argoStageTemplate(stage: EngineStage, spec: StageSpec): Record<string, unknown> {
  const f = FACTS[stage];
  const inputs = argoInputs(stage, spec);
  const outputs = spec.outputs.filter((o) => o.name !== 'artifact-name' && o.name !== 'artifact-id');
  const env = [
    { name: 'AICR_CI_PLATFORM', value: 'argo' },
    { name: 'AICR_CI_OUTPUTS_DIR', value: '/tmp/aicr-outputs' },
    { name: 'AICR_CI_WRITABLE_DIRS', value: W },
    { name: 'AICR_CI_KUBECONFIG_DIR', value: '/etc/aicr-ci/kubeconfig' },
    { name: 'AICR_CI_KUBECONFIG_KEY', value: '{{inputs.parameters.kubeconfig-key}}' },
    { name: 'AICR_CI_KUBECONFIG_OPTIONAL', value: 'true' },
    { name: 'AICR_CI_SUMMARY', value: `${W}/summary.md` },
    { name: 'AICR_CI_TEMP', value: '/tmp' },
    { name: 'HOME', value: '/tmp' },
    ...Object.entries(f.argoFixed).map(([k, v]) => ({ name: envName(k), value: v })),
    ...inputs.filter((i) => !ARGV_INPUTS.has(i.name)).map((i) => ({ name: envName(i.name), value: `{{inputs.parameters.${i.name}}}` })),
  ];
  const args = [stage, ...inputs.filter((i) => ARGV_INPUTS.has(i.name)).map((i) => `--${i.name}={{inputs.parameters.${i.name}}}`)];
  const key = (name: string, file: boolean): Record<string, unknown> => ({
    s3: { key: `aicr-ci/{{workflow.name}}/{{pod.name}}/${name}${file ? path.extname(f.argoOutputArtifacts.find((a) => a.name === name)!.path) : '.tgz'}` },
  });
  return {
    name: stage,
    metadata: { labels: { 'app.kubernetes.io/name': 'aicr-ci', 'app.kubernetes.io/component': stage } },
    inputs: {
      parameters: [
        ...inputs.map((i) => ({ name: i.name, default: i.default ?? '', description: describe(i) })),
        { name: 'service-account', default: `aicr-${stage}`, description: 'ServiceAccount of the step pod (least-privilege RBAC: argo-workflows/rbac.yaml).' },
        { name: 'kubeconfig-secret', default: 'aicr-kubeconfig', description: "Secret holding a kubeconfig; when it does not exist the pod's ServiceAccount is used." },
        { name: 'kubeconfig-key', default: 'kubeconfig', description: 'Key of the kubeconfig in that Secret.' },
        { name: 'aicr-ci-image', default: IMAGE_PLACEHOLDER, description: 'The aicr-ci step image; pin it by digest (see README.md "Image").' },
      ],
      ...(f.argoInputArtifacts.length > 0
        ? { artifacts: f.argoInputArtifacts.map((a) => ({ name: a.name, path: a.path, optional: true })) }
        : {}),
    },
    outputs: {
      parameters: [
        ...outputs.map((o) => ({ name: o.name, valueFrom: { path: `/tmp/aicr-outputs/${o.name}`, default: '' }, description: o.description })),
        { name: 'error', valueFrom: { path: '/tmp/aicr-outputs/error', default: '' }, description: 'Why the step failed (empty on success).' },
      ],
      artifacts: [
        ...f.argoOutputArtifacts.map((a) => ({
          name: a.name,
          path: a.path,
          optional: true,
          ...(a.file ? { archive: { none: {} } } : {}),
          ...key(a.name, a.file),
        })),
        { name: 'summary', path: `${W}/summary.md`, optional: true, archive: { none: {} }, s3: { key: `aicr-ci/{{workflow.name}}/{{pod.name}}/summary.md` } },
      ],
    },
    serviceAccountName: '{{inputs.parameters.service-account}}',
    securityContext: { runAsNonRoot: true, runAsUser: RUN_AS, runAsGroup: RUN_AS, fsGroup: RUN_AS, seccompProfile: { type: 'RuntimeDefault' } },
    volumes: [
      { name: 'work', emptyDir: {} },
      { name: 'tmp', emptyDir: {} },
      { name: 'kubeconfig', secret: { secretName: '{{inputs.parameters.kubeconfig-secret}}', optional: true } },
    ],
    container: {
      image: '{{inputs.parameters.aicr-ci-image}}',
      command: ['aicr-ci'],
      args,
      workingDir: W,
      env,
      volumeMounts: [
        { name: 'work', mountPath: W },
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'kubeconfig', mountPath: '/etc/aicr-ci/kubeconfig', readOnly: true },
      ],
      securityContext: {
        runAsNonRoot: true,
        runAsUser: RUN_AS,
        runAsGroup: RUN_AS,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      },
    },
  };
}

/** The WorkflowTemplate (or ClusterWorkflowTemplate twin) with one template per stage. */
export function renderArgoStages(specs: Map<EngineStage, StageSpec>, kind: 'WorkflowTemplate' | 'ClusterWorkflowTemplate'): string {
  const doc = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind,
    metadata: {
      name: 'aicr-ci',
      labels: { 'app.kubernetes.io/name': 'aicr-ci', 'app.kubernetes.io/version': TASK_VERSION },
      annotations: {
        'workflows.argoproj.io/description': `One template per AICR stage (${ENGINE_STAGES.join(', ')}), each running \`aicr-ci <stage>\` with parameters passed only through the environment. Reference with templateRef {name: aicr-ci, template: <stage>${kind === 'ClusterWorkflowTemplate' ? ', clusterScope: true' : ''}}.`,
      },
    },
    spec: {
      templates: ENGINE_STAGES.map((s) => argoStageTemplate(s, specs.get(s)!)),
    },
  };
  return HEADER(`Argo ${kind} aicr-ci: see argo-workflows/README.md.`) + stringify(doc, { lineWidth: 0 });
}

/** Markdown table cell: pipes escaped, newlines flattened. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** README.md of a Task (catalog style). */
export function renderTaskReadme(stage: EngineStage, spec: StageSpec): string {
  const f = FACTS[stage];
  const inputs = tektonInputs(spec);
  const results = spec.outputs.filter((o) => f.tektonResults.includes(o.name));
  const lines = [
    `<!-- GENERATED by scripts/gen-engines.ts from src/stages/${stage}/spec.ts — do not edit. -->`,
    `# aicr-${stage}`,
    '',
    f.summary,
    '',
    `${spec.description}`,
    '',
    `The step runs \`aicr-ci ${stage}\`, the same core as the GitHub action \`./actions/${stage}\`: the same inputs, the same checks, the same messages. Every param reaches the step as an environment variable (\`AICR_CI_<PARAM>\`), never spliced into a script${inputs.some((i) => ARGV_INPUTS.has(i.name)) ? ' (except `platform`, which is one argv element, `--platform=<value>`, because `AICR_CI_PLATFORM` selects the Tekton adapter)' : ''}.`,
    '',
    '## Install',
    '',
    '```sh',
    `kubectl apply -f tekton/task/aicr-${stage}/${TASK_VERSION}/aicr-${stage}.yaml`,
    `kubectl apply -f tekton/task/aicr-${stage}/${TASK_VERSION}/samples/rbac.yaml   # ServiceAccount + least-privilege RBAC`,
    '```',
    '',
    '## Workspaces',
    '',
    '| name | | |',
    '|---|---|---|',
    '| `source` | required | Inputs and products; relative paths in params resolve against it. Must be writable by UID/GID 65532: set `podTemplate.securityContext.fsGroup: 65532`. Otherwise the step fails at once with `workspace … is not writable by uid 65532 …`. |',
    "| `kubeconfig` | optional, read-only | A Secret with a kubeconfig under the key `kubeconfig-key` (default `kubeconfig`). Not bound: the pod's ServiceAccount is used (in-cluster). Bound without that key: the step fails naming the missing file. |",
    '',
    '## Parameters',
    '',
    '| name | default | description |',
    '|---|---|---|',
    ...inputs.map((i) => `| \`${i.name}\` | ${i.default ? `\`${cell(i.default)}\`` : ''} | ${cell(describe(i))} |`),
    '| `kubeconfig-key` | `kubeconfig` | Key of the kubeconfig in the `kubeconfig` workspace. |',
    `| \`summary-file\` | \`aicr-${stage}-summary.md\` | File in \`source\` the Markdown summary is appended to. |`,
    '| `aicr-ci-image` | placeholder digest | The aicr-ci step image. **Override it** with your pinned digest (see "Image"). |',
    '',
    'Every param is a string (`type: string`); lists take one value per line, booleans `true`/`false`. Empty means "not set" (the default applies).',
    '',
    'Not offered here (they exist on the GitHub action):',
    '',
    ...spec.inputs.filter((i) => i.name in NOT_ON_ENGINES).map((i) => `- \`${i.name}\`: ${NOT_ON_ENGINES[i.name]}.`),
    '',
    '## Results',
    '',
    "Small values only: Tekton keeps results in the pod's termination message, 4096 bytes in all. Every result below is written on success **and** on failure (empty, or `outcome=error` where the stage has an outcome), so a `finally` task never finds one missing. The full outputs are also the JSON line the step prints last.",
    '',
    '| name | description |',
    '|---|---|',
    ...results.map((o) => `| \`${o.name}\` | ${cell(o.description)} |`),
    '| `error` | Why the step failed (empty on success). |',
    '',
    ...(f.tektonNotResults
      ? ['Outputs of the stage that are **not** results:', '', ...Object.entries(f.tektonNotResults).map(([k, v]) => `- \`${k}\`: ${v}.`), '']
      : []),
    'If the values ever exceed the budget, the step leaves the result that does not fit empty and logs `warning: result \'<name>\' (<n> bytes) left empty: …`.',
    '',
    '## Exit status',
    '',
    '0 success; 1 gate (drift found with `fail-on-drift`, failed checks with `fail-on-error`); 2 error (bad param, aicr failure, unwritable workspace). The TaskRun fails on 1 and 2; results are written either way.',
    '',
    '## Usage',
    '',
    `See [samples/taskrun.yaml](samples/taskrun.yaml) and [tests/run.yaml](tests/run.yaml) (hermetic: no cluster needed).`,
    '',
    '```yaml',
    fs.existsSync(path.join(ROOT, 'tekton', 'task', `aicr-${stage}`, TASK_VERSION, 'samples', 'taskrun.yaml'))
      ? fs.readFileSync(path.join(ROOT, 'tekton', 'task', `aicr-${stage}`, TASK_VERSION, 'samples', 'taskrun.yaml'), 'utf8').trimEnd()
      : '# samples/taskrun.yaml',
    '```',
    '',
    '## Image',
    '',
    'Build and push the image from the repository root (see the root `Dockerfile`), then pin its digest:',
    '',
    '```sh',
    'npm ci && npm run build',
    'docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/<org>/aicr-ci:0.1.0 --push .',
    'crane digest ghcr.io/<org>/aicr-ci:0.1.0   # sha256:…',
    '```',
    '',
    'and pass `aicr-ci-image: ghcr.io/<org>/aicr-ci@sha256:…` (or change the default in a kustomize patch).',
    '',
    '## Security',
    '',
    '- Runs as UID/GID 65532, `runAsNonRoot`, read-only root filesystem (`/tmp` is an emptyDir), no privilege escalation, all capabilities dropped, RuntimeDefault seccomp.',
    '- RBAC: [samples/rbac.yaml](samples/rbac.yaml) grants only what this stage needs; see the comments in it.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}

/** Every generated file: path relative to the root → content. */
export async function generatedFiles(): Promise<Map<string, string>> {
  const specs = await engineSpecs();
  const out = new Map<string, string>();
  for (const s of ENGINE_STAGES) {
    const spec = specs.get(s)!;
    const dir = path.join('tekton', 'task', `aicr-${s}`, TASK_VERSION);
    out.set(path.join(dir, `aicr-${s}.yaml`), renderTektonTask(s, spec));
    out.set(path.join(dir, 'README.md'), renderTaskReadme(s, spec));
  }
  out.set(path.join('argo-workflows', 'templates', 'aicr-ci.workflowtemplate.yaml'), renderArgoStages(specs, 'WorkflowTemplate'));
  out.set(path.join('argo-workflows', 'templates', 'aicr-ci.clusterworkflowtemplate.yaml'), renderArgoStages(specs, 'ClusterWorkflowTemplate'));
  return out;
}

if (import.meta.main) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [rel, text] of await generatedFiles()) {
    const target = path.join(ROOT, rel);
    const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
    if (current === text) continue;
    stale++;
    if (check) process.stderr.write(`stale: ${rel}\n`);
    else {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, text);
      process.stderr.write(`wrote ${rel}\n`);
    }
  }
  if (check && stale > 0) process.exitCode = 1;
}
