import { artifactOutputs, commonInputs, type StageSpec } from '../../core/spec.ts';
import { lockTimeoutInput } from '../agent-lock.ts';
import { kubeconfigInput } from '../common.ts';

/** Phases of the pinned aicr v0.11.1 (`pkg/cli/validate.go`). */
export const PHASES = ['deployment', 'performance', 'conformance', 'all'] as const;

export const spec: StageSpec = {
  name: 'validate',
  title: 'AICR validate',
  summary: 'Validate a cluster or snapshot against an AICR recipe with aicr validate; publish the CTRF report.',
  description:
    'Validate a cluster (or, with no-cluster, a snapshot offline) against a recipe\'s constraints and checks with `aicr validate`; publishes the CTRF report and pass/fail counts.',
  example: `- uses: nvidia/aicr/actions/validate@v1
  with:
    recipe: \${{ steps.recipe.outputs.recipe-path }}
    snapshot: \${{ steps.snapshot.outputs.snapshot-path }}
    no-cluster: true                    # readiness constraints offline, checks skipped`,
  inputs: [
    { name: 'recipe', description: 'Recipe file, `cm://`, URL, or the path inside `recipe-artifact`.', kind: 'string' },
    { name: 'recipe-artifact', description: 'Name of an earlier job\'s recipe artifact.', kind: 'string' },
    { name: 'snapshot', description: 'Snapshot file, `cm://`, URL, or the path inside `snapshot-artifact`. Without it aicr deploys an agent to capture one.', kind: 'string' },
    { name: 'snapshot-artifact', description: 'Name of an earlier job\'s snapshot artifact.', kind: 'string' },
    { name: 'phase', description: 'Phases to run, one per line: deployment, performance, conformance or all (default: all).', kind: 'list' },
    { name: 'no-cluster', description: 'Evaluate readiness constraints offline and report every check skipped (`--no-cluster`).', kind: 'boolean', default: 'false' },
    { name: 'fail-on-error', description: 'Fail the step when a check fails (aicr `--fail-on-error`).', kind: 'boolean', default: 'true' },
    { name: 'namespace', description: 'Namespace for the agent and validation Jobs.', kind: 'string' },
    { name: 'image', description: 'Snapshot agent image.', kind: 'string' },
    { name: 'image-pull-secret', description: 'Image pull secrets, one per line.', kind: 'list' },
    { name: 'job-name', description: 'Agent Job name.', kind: 'string' },
    { name: 'service-account-name', description: 'Agent ServiceAccount name.', kind: 'string' },
    { name: 'timeout', description: 'Job completion timeout (e.g. 10m).', kind: 'duration' },
    { name: 'node-selector', description: 'Agent node selectors, one `key=value` per line.', kind: 'list' },
    { name: 'toleration', description: 'Tolerations, one `key=value:Effect` per line.', kind: 'list' },
    { name: 'require-gpu', description: 'Request a GPU for the agent pod.', kind: 'boolean', default: 'false' },
    { name: 'no-cleanup', description: 'Keep the Jobs and RBAC afterwards.', kind: 'boolean', default: 'false' },
    lockTimeoutInput,
    { name: 'evidence-dir', description: 'Directory for CNCF conformance evidence (`--evidence-dir`, needs phase conformance).', kind: 'string' },
    { name: 'cncf-submission', description: 'Collect CNCF submission evidence (needs evidence-dir).', kind: 'boolean', default: 'false' },
    { name: 'feature', description: 'Evidence features, one per line (needs cncf-submission).', kind: 'list' },
    { name: 'data', description: 'External data directory (`--data`).', kind: 'string' },
    { name: 'output', description: 'CTRF report file (JSON).', kind: 'string', default: 'validation-report.json' },
    kubeconfigInput,
    ...commonInputs('validate', { product: true }),
  ],
  outputs: [
    { name: 'report-path', description: 'Absolute path of the CTRF JSON report.' },
    { name: 'outcome', description: '`passed` (no failed check), `failed`, or `error` when the stage could not produce a report (e.g. a readiness constraint failed).' },
    { name: 'tests', description: 'Number of checks in the report.' },
    { name: 'passed', description: 'Checks passed.' },
    { name: 'failed', description: 'Checks failed.' },
    { name: 'skipped', description: 'Checks skipped (all of them with no-cluster).' },
    ...artifactOutputs,
  ],
};
