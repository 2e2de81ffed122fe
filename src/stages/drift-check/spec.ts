import { artifactOutputs, commonInputs, type StageSpec } from '../../core/spec.ts';
import { kubeconfigInput } from '../common.ts';

export const spec: StageSpec = {
  name: 'drift-check',
  title: 'AICR drift check',
  summary: 'Compare a snapshot with a baseline by identity, hide capture noise, and report clean or drift in every format.',
  description:
    'Compare a fresh AICR snapshot with a baseline by identity (measurement type, subtype, reading key; order never counts), hide readings that change between captures of an unchanged cluster, optionally check the recipe constraints too, and report clean or drift as JSON, JSON Patch, Markdown, annotations and OpenMetrics.',
  example: `- uses: nvidia/aicr/actions/drift-check@v1
  id: drift
  with:
    baseline: cm://aicr-ci/aicr-baseline      # or a file, an https URL, or baseline-artifact
    snapshot: \${{ steps.snapshot.outputs.snapshot-path }}
    recipe: recipe.yaml                        # also report unmet recipe constraints
    fail-on-drift: true`,
  inputs: [
    {
      name: 'baseline',
      description:
        'Baseline snapshot: a file, `cm://namespace/name`, an http(s) URL, or the path inside `baseline-artifact`. Required unless `baseline-artifact` is set.',
      kind: 'string',
    },
    {
      name: 'baseline-artifact',
      description:
        'Artifact holding the baseline. With `github-token`: taken from the last successful run of `baseline-workflow` that has it; without: from this run (shell: `AICR_CI_ARTIFACT_DIR/<name>`). Also the name a promoted baseline is uploaded under.',
      kind: 'string',
    },
    {
      name: 'baseline-workflow',
      description: 'Workflow file name (`drift-schedule.yml`) or id whose last successful run holds `baseline-artifact`. Default: the running workflow.',
      kind: 'string',
    },
    {
      name: 'baseline-branch',
      description: 'Only runs on this branch count as the last successful run. Default: the branch of this run (`GITHUB_REF_NAME`); `*` for any branch.',
      kind: 'string',
    },
    { name: 'baseline-repository', description: 'Repository (`owner/name`) of `baseline-workflow`. Default: this repository.', kind: 'string' },
    {
      name: 'github-token',
      description: "Token with `actions:read` to find and download the last successful run's baseline artifact (for example the workflow's own `github.token`).",
      kind: 'string',
      secret: true,
    },
    {
      name: 'snapshot',
      description: 'Current snapshot: a file, `cm://namespace/name`, an http(s) URL, or the path inside `snapshot-artifact`. Required unless `snapshot-artifact` is set.',
      kind: 'string',
    },
    { name: 'snapshot-artifact', description: "Name of an earlier job's snapshot artifact (the snapshot stage's product).", kind: 'string' },
    {
      name: 'report-dir',
      description: 'Directory the reports are written to, all at once (it must be absent, empty, or hold a previous drift report, which is replaced).',
      kind: 'string',
      default: 'drift-report',
    },
    {
      name: 'ignore',
      description:
        'Noise rules, one per line: a glob on the change path (`K8s.image.istio-*`; `*` crosses `.` and `/`), a regex as `/…/flags`, `!<rule-id>` to switch a default rule off, or `none` to switch every rule off (then the result equals `aicr diff`).',
      kind: 'list',
    },
    { name: 'rules-file', description: 'YAML/JSON rules file (`defaults`, `disable`, `rules` with `id`, `glob` or `regex`, `strip`, `reason`).', kind: 'string' },
    {
      name: 'recipe',
      description: 'Recipe (file, `cm://` or URL) whose top-level constraints the current snapshot must still meet, evaluated with `aicr validate --no-cluster`; failures count as drift.',
      kind: 'string',
    },
    { name: 'fail-on-drift', description: 'Fail the step (exit 1) when drift is found.', kind: 'boolean', default: 'true' },
    {
      name: 'update-baseline',
      description:
        'Promote the current snapshot to be the baseline: written to the `cm://` or file baseline, or uploaded as `baseline-artifact`. Drift is then accepted: it is reported but does not fail the step.',
      kind: 'boolean',
      default: 'false',
    },
    { name: 'max-annotations', description: 'Most annotations on the run (the last one points at the full report when some are left out).', kind: 'integer', default: '10', min: 0, max: 50 },
    { name: 'max-report-changes', description: 'Most changes listed in the Markdown report and job summary; the JSON report has all.', kind: 'integer', default: '100', min: 1, max: 10000 },
    { name: 'http-retries', description: 'Retries for URL baselines and the GitHub API (exponential backoff, Retry-After honoured).', kind: 'integer', default: '4', min: 0, max: 10 },
    kubeconfigInput,
    ...commonInputs('drift-check', { product: true }),
  ],
  outputs: [
    { name: 'outcome', description: '`clean`, `drift` or `error`.' },
    { name: 'changes', description: 'Number of visible changes (after noise rules).' },
    { name: 'added', description: 'Readings only in the current snapshot.' },
    { name: 'removed', description: 'Readings only in the baseline.' },
    { name: 'modified', description: 'Readings whose value changed.' },
    { name: 'hidden', description: 'Changes hidden by noise rules.' },
    { name: 'constraints-failed', description: 'Recipe constraints the snapshot no longer meets (0 without `recipe`).' },
    { name: 'report-dir', description: 'Absolute path of the report directory.' },
    { name: 'report-json', description: 'JSON report: every change with both values, hidden counts per rule, counts per measurement.' },
    { name: 'report-markdown', description: 'Markdown report (also the job summary).' },
    { name: 'report-patch', description: 'RFC 6902 JSON Patch from the baseline\'s normalized form to the current one\'s.' },
    { name: 'report-metrics', description: 'OpenMetrics text (`aicr_drift_changes{measurement=…}`) for node-exporter\'s textfile collector or a Pushgateway.' },
    { name: 'baseline-source', description: 'Where the baseline came from (path, URI, or `artifact <name> of run <id>`).' },
    { name: 'baseline-updated', description: '`true` when the current snapshot was promoted to be the baseline.' },
    ...artifactOutputs,
  ],
};
