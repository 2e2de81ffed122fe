import { artifactOutputs, commonInputs, type StageSpec } from '../../core/spec.ts';
import { lockTimeoutInput } from '../agent-lock.ts';
import { kubeconfigInput } from '../common.ts';

export const spec: StageSpec = {
  name: 'snapshot',
  title: 'AICR snapshot',
  summary: 'Capture a GPU cluster snapshot with aicr (agent Job or local), check it, publish it.',
  description:
    'Capture a snapshot of a GPU cluster with `aicr snapshot` (an agent Job on the cluster, or `local` on a self-hosted GPU runner), check it, and publish it as a file, an artifact and optionally a ConfigMap.',
  example: `- uses: nvidia/aicr/actions/snapshot@v1
  id: snapshot
  with:
    kubeconfig: \${{ secrets.KUBECONFIG }}
    namespace: aicr-ci
    node-selector: nvidia.com/gpu.present=true
    cluster: prod-east            # snapshot-prod-east-<UTC time>.yaml + .meta.json
    expect-gpu-count: 8
    require-measurements: |
      GPU
      K8s.server`,
  inputs: [
    { name: 'mode', description: '`job` deploys aicr\'s agent Job on the cluster; `local` collects on this machine (`AICR_AGENT_MODE=true`).', kind: 'enum', values: ['job', 'local'], default: 'job' },
    { name: 'output', description: 'Snapshot file to write (YAML). With `cluster`, only its directory is used.', kind: 'string', default: 'snapshot.yaml' },
    {
      name: 'cluster',
      description: 'Cluster name: the file becomes `snapshot-<cluster>-<UTC time>.yaml` with a `.meta.json` sidecar (cluster, time, git commit, Kubernetes version).',
      kind: 'string',
    },
    { name: 'configmap', description: 'Also store the snapshot in `cm://namespace/name` (aicr\'s ConfigMap layout).', kind: 'string' },
    { name: 'namespace', description: 'Namespace of the agent Job (aicr default: `default`).', kind: 'string' },
    { name: 'node-selector', description: 'Agent node selectors, one `key=value` per line (e.g. `nvidia.com/gpu.present=true`).', kind: 'list' },
    { name: 'toleration', description: 'Agent tolerations, one `key=value:Effect` per line (aicr default: tolerate all).', kind: 'list' },
    { name: 'image', description: 'Agent image (aicr default: `ghcr.io/nvidia/aicr:<version>`).', kind: 'string' },
    { name: 'image-pull-secret', description: 'Image pull secrets, one per line.', kind: 'list' },
    { name: 'job-name', description: 'Agent Job name. Default: `aicr-<random>`, unique per run so parallel runs never share a Job or ConfigMap.', kind: 'string' },
    { name: 'service-account-name', description: 'Agent ServiceAccount (aicr default: `aicr`).', kind: 'string' },
    { name: 'timeout', description: 'How long to wait for the Job (e.g. `5m`).', kind: 'duration' },
    lockTimeoutInput,
    { name: 'privileged', description: 'Run the agent privileged (needed for GPU and SystemD data).', kind: 'boolean', default: 'true' },
    { name: 'require-gpu', description: 'Ask aicr to require a GPU (requests `nvidia.com/gpu` in job mode; fails without a GPU in local mode).', kind: 'boolean', default: 'false' },
    { name: 'runtime-class', description: 'RuntimeClass for the agent pod (e.g. `nvidia`).', kind: 'string' },
    { name: 'max-nodes-per-entry', description: 'Cap node names per NodeTopology entry (0 = unlimited); keeps big clusters under the 1 MiB ConfigMap limit.', kind: 'integer', min: 0 },
    { name: 'no-cleanup', description: 'Leave the agent Job and RBAC in place.', kind: 'boolean', default: 'false' },
    kubeconfigInput,
    {
      name: 'expect-gpu-count',
      description: 'Fail unless the snapshot saw at least this many GPUs (aicr does not check this in job mode).',
      kind: 'integer',
      min: 0,
    },
    {
      name: 'require-measurements',
      description: 'Measurement types (or `Type.subtype`) that must be present with data, one per line, e.g. `GPU`, `K8s.server`.',
      kind: 'list',
    },
    ...commonInputs('snapshot', { product: true }),
  ],
  outputs: [
    { name: 'snapshot-path', description: 'Absolute path of the snapshot file.' },
    { name: 'sha256', description: 'SHA-256 of the snapshot file.' },
    { name: 'metadata-path', description: 'Absolute path of the `.meta.json` sidecar (with `cluster`).' },
    { name: 'configmap', description: 'The `cm://` URI written, if any.' },
    { name: 'k8s-version', description: 'Kubernetes server version (`K8s.server.version`).' },
    { name: 'gpu-model', description: 'GPU model (`GPU.smi.gpu.model`).' },
    { name: 'gpu-count', description: 'Number of GPUs seen (`GPU.smi.gpu-count`).' },
    { name: 'driver-version', description: 'NVIDIA driver version (`GPU.smi.driver`).' },
    { name: 'measurements', description: 'Comma-separated measurement types in the snapshot.' },
    ...artifactOutputs,
  ],
};
