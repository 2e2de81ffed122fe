import { commonInputs, type StageSpec } from '../../core/spec.ts';
import { PINNED_AICR_VERSION } from '../../core/version.ts';

export const spec: StageSpec = {
  name: 'setup',
  title: 'Set up aicr',
  summary: 'Install a pinned, checksum-verified aicr CLI from its GitHub release and put it on PATH.',
  description:
    'Install a pinned aicr from its GitHub release archive, verified against the release checksums file before extraction, cached in the runner tool cache and put on PATH. Reuses an aicr already on PATH when its version matches.',
  example: `- uses: nvidia/aicr@v1            # installs the pinned aicr, verified, cached, on PATH
  id: aicr
  with:
    version: v0.11.1
- run: aicr --version`,
  inputs: [
    { name: 'version', description: `aicr release to install (\`v1.2.3\` or \`1.2.3\`). Default: the version this suite is tested with.`, kind: 'string', default: PINNED_AICR_VERSION },
    {
      name: 'download-base-url',
      description: 'Where releases live: `<base>/v<version>/aicr_<version>_<os>_<arch>.tar.gz` and `aicr_checksums.txt`. Change for a mirror.',
      kind: 'string',
      default: 'https://github.com/NVIDIA/aicr/releases/download',
    },
    { name: 'sha256', description: 'Expected SHA-256 of the archive; when set it must also match the checksums file entry.', kind: 'string' },
    { name: 'github-token', description: 'Token for the download (avoids rate limits on github.com; never sent to other hosts).', kind: 'string', secret: true },
    ...commonInputs('setup', { product: false }).filter((i) => i.name !== 'aicr-path'),
  ],
  outputs: [
    { name: 'aicr-path', description: 'Absolute path of the aicr binary.' },
    { name: 'version', description: 'Installed version, bare (`0.11.1`).' },
    { name: 'cache-hit', description: '`path` (reused from PATH), `cache` (tool cache) or `false` (downloaded).' },
  ],
};
