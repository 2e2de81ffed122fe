import { artifactOutputs, commonInputs, type StageSpec } from '../../core/spec.ts';
import { kubeconfigInput } from '../common.ts';

/** Deployers of the pinned aicr v0.11.1 (`pkg/bundler/config/config.go` GetDeployerTypes). */
export const DEPLOYERS = ['helm', 'argocd'] as const;

export const spec: StageSpec = {
  name: 'bundle',
  title: 'AICR bundle',
  summary: 'Render an AICR recipe into a Helm or Argo CD deployment bundle in a fresh directory.',
  description:
    'Render a recipe into a deployment bundle (Helm values, manifests, deploy.sh and checksums.txt, or Argo CD Applications) in a fresh, empty directory.',
  example: `- uses: nvidia/aicr/actions/bundle@v1
  id: bundle
  with:
    recipe-artifact: aicr-recipe
    deployer: helm                      # or argocd
    set: |
      gpuoperator:driver.version=570.133.20
    accelerated-node-selector: nvidia.com/gpu.present=true
    accelerated-node-toleration: nvidia.com/gpu=present:NoSchedule`,
  inputs: [
    { name: 'recipe', description: 'Recipe file, `cm://namespace/name`, https URL, or the path inside `recipe-artifact`.', kind: 'string' },
    { name: 'recipe-artifact', description: 'Name of an earlier job\'s recipe artifact to use as `recipe`.', kind: 'string' },
    { name: 'deployer', description: 'Bundle type.', kind: 'enum', values: DEPLOYERS, default: 'helm' },
    { name: 'repo', description: 'Git repository URL written into the Argo CD app-of-apps (`--repo`, argocd only).', kind: 'string' },
    { name: 'set', description: 'Value overrides, one `component:path=value` per line (`--set`).', kind: 'list' },
    { name: 'system-node-selector', description: 'Node selectors for system components, one `key=value` per line.', kind: 'list' },
    { name: 'system-node-toleration', description: 'Tolerations for system components, one `key=value:Effect` per line (default in aicr: tolerate all).', kind: 'list' },
    { name: 'accelerated-node-selector', description: 'Node selectors for GPU nodes, one `key=value` per line.', kind: 'list' },
    { name: 'accelerated-node-toleration', description: 'Tolerations for GPU nodes, one `key=value:Effect` per line (default in aicr: tolerate all).', kind: 'list' },
    { name: 'workload-gate', description: 'Skyhook runtime-required taint, `key=value:Effect` or `key:Effect`.', kind: 'string' },
    { name: 'workload-selector', description: 'Skyhook workload selector labels, one `key=value` per line.', kind: 'list' },
    { name: 'storage-class', description: 'Storage class to use wherever the recipe\'s components already choose one (adds `--set` entries for each `storageClassName`/`storageClass` in their overrides).', kind: 'string' },
    { name: 'nodes', description: 'Estimated number of GPU nodes (`--nodes`; 0 = unset).', kind: 'integer', min: 0 },
    { name: 'data', description: 'External data directory overlaid on aicr\'s embedded data (`--data`).', kind: 'string' },
    { name: 'attest', description: 'Sign the bundle with Sigstore (`--attest`; needs `id-token: write` and an aicr installed from the release archive).', kind: 'boolean', default: 'false' },
    { name: 'output', description: 'Directory to write the bundle into; must not exist or be empty.', kind: 'string', default: 'bundle' },
    kubeconfigInput,
    ...commonInputs('bundle', { product: true }),
  ],
  outputs: [
    { name: 'bundle-dir', description: 'Absolute path of the bundle directory.' },
    { name: 'checksums-sha256', description: 'SHA-256 of the bundle\'s checksums.txt: pin it in deploy\'s expected-checksums-sha256.' },
    { name: 'components', description: 'JSON list of `{name, version, chart}` in the bundle.' },
    { name: 'file-count', description: 'Number of files in the bundle.' },
    { name: 'deployer', description: 'The deployer used.' },
    ...artifactOutputs,
  ],
};
