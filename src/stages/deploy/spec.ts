import { artifactOutputs, commonInputs, type StageSpec } from '../../core/spec.ts';
import { kubeconfigInput } from '../common.ts';

export const spec: StageSpec = {
  name: 'deploy',
  title: 'AICR deploy',
  summary: "Verify an AICR bundle's checksums, then run deploy.sh, print the plan, or commit it to GitOps.",
  description:
    'Verify every checksums.txt entry of a bundle natively, then run its deploy.sh against the cluster, print the plan only (dry-run), or commit the bundle to a GitOps repository.',
  example: `- uses: nvidia/aicr/actions/deploy@v1
  with:
    bundle-artifact: aicr-bundle
    expected-checksums-sha256: \${{ needs.bundle.outputs.checksums-sha256 }}
    kubeconfig: \${{ secrets.KUBECONFIG }}
    dry-run: false                      # true: verify and print the plan only`,
  inputs: [
    { name: 'bundle', description: 'Bundle directory, or the path inside `bundle-artifact`.', kind: 'string' },
    { name: 'bundle-artifact', description: 'Name of an earlier job\'s bundle artifact.', kind: 'string' },
    {
      name: 'expected-checksums-sha256',
      description: 'SHA-256 of the approved bundle\'s checksums.txt (the bundle stage\'s `checksums-sha256` output); any other bundle is refused.',
      kind: 'string',
    },
    { name: 'mode', description: '`script` runs the bundle\'s deploy.sh; `gitops` commits the bundle into `gitops-repo`.', kind: 'enum', values: ['script', 'gitops'], default: 'script' },
    { name: 'dry-run', description: 'Verify and print the plan; run and commit nothing.', kind: 'boolean', default: 'false' },
    { name: 'wait', description: 'Wait for each component to become ready (deploy.sh without `--no-wait`).', kind: 'boolean', default: 'true' },
    { name: 'retries', description: 'deploy.sh `--retries N` for failed helm/kubectl operations (empty: its default, 5).', kind: 'integer', min: 0, max: 50 },
    {
      name: 'best-effort',
      description: 'deploy.sh `--best-effort`: continue past failing components. The step still fails if any component failed.',
      kind: 'boolean',
      default: 'false',
    },
    kubeconfigInput,
    { name: 'gitops-repo', description: 'Checked-out GitOps repository (work tree) for `mode: gitops`.', kind: 'string' },
    { name: 'gitops-path', description: 'Directory inside the GitOps repository that becomes exactly the bundle.', kind: 'string', default: 'aicr-bundle' },
    { name: 'gitops-branch', description: 'Branch to push to. Default: the checked-out branch.', kind: 'string' },
    { name: 'gitops-remote', description: 'Remote to push to.', kind: 'string', default: 'origin' },
    { name: 'gitops-push', description: 'Push the commit.', kind: 'boolean', default: 'true' },
    { name: 'gitops-message', description: 'Commit message.', kind: 'string', default: 'aicr: update bundle' },
    { name: 'gitops-author-name', description: 'Commit author name.', kind: 'string', default: 'github-actions[bot]' },
    { name: 'gitops-author-email', description: 'Commit author email.', kind: 'string', default: '41898282+github-actions[bot]@users.noreply.github.com' },
    {
      name: 'record',
      description: 'Where to write the deploy record (JSON: the verified bundle digest, the plan, what was done), the product this stage uploads.',
      kind: 'string',
      default: 'deploy-record.json',
    },
    ...commonInputs('deploy', { product: true }),
  ],
  outputs: [
    { name: 'checksums-sha256', description: 'SHA-256 of the verified checksums.txt.' },
    { name: 'verified-files', description: 'Number of files whose checksum was verified.' },
    { name: 'deployer', description: '`helm` or `argocd`, as detected from the bundle.' },
    { name: 'plan', description: 'JSON list of `{order, component, namespace, chart, version}`.' },
    { name: 'deployed', description: '`true` when deploy.sh ran to success, `false` for dry-run and gitops.' },
    { name: 'commit-sha', description: 'GitOps commit (HEAD when nothing changed).' },
    { name: 'gitops-changed', description: '`true` when the GitOps commit changed anything.' },
    { name: 'record-path', description: 'Absolute path of the deploy record.' },
    ...artifactOutputs,
  ],
};
