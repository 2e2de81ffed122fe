/**
 * `npm run demo`: the main job on a real example, through the shell CLI
 * (dist/cli/index.js) and the real aicr: a local snapshot of this machine,
 * a recipe from aicr's embedded data, a bundle, a deploy dry-run, a no-cluster
 * validation, and a drift check of a second snapshot against the first.
 * Prints where every product went.
 *
 * Environment: AICR_BIN (else the aicr scripts/setup-env.mjs installed, else PATH),
 * AICR_CI_DEMO_DIR (default ./demo-output/<UTC time>).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const toolsBin = process.env.AICR_CI_TOOLS_BIN || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'aicr-ci', 'bin');

function findAicr(): string | undefined {
  if (process.env.AICR_BIN) return process.env.AICR_BIN;
  const cached = path.join(toolsBin, 'aicr');
  if (fs.existsSync(cached)) return cached;
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) if (fs.existsSync(path.join(d, 'aicr'))) return path.join(d, 'aicr');
  return undefined;
}

const aicr = findAicr();
if (!aicr) {
  process.stderr.write(
    'demo: no aicr found. scripts/setup-env.mjs tried `go install github.com/NVIDIA/aicr/cmd/aicr@' +
      fs.readFileSync(path.join(root, '.aicr-version'), 'utf8').trim() +
      '` (see its message above); put an aicr on PATH or set AICR_BIN and run again.\n',
  );
  process.exit(2);
}
const out = path.resolve(process.env.AICR_CI_DEMO_DIR || path.join(root, 'demo-output', new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')));
fs.mkdirSync(out, { recursive: true });
const artifacts = path.join(out, 'artifacts');
const cli = path.join(root, 'dist', 'cli', 'index.js');

/** Run one stage through the CLI; returns its outputs, exits on failure (gates allowed when asked). */
function stage(name: string, flags: Record<string, string>, okCodes = [0]): Record<string, string> {
  const args = [cli, name, ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]), '--aicr-path', aicr!, '--working-directory', out];
  process.stderr.write(`\n── aicr-ci ${name} ${Object.entries(flags).map(([k, v]) => `--${k} ${v.includes('\n') ? JSON.stringify(v) : v}`).join(' ')}\n`);
  const r = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    env: { ...process.env, AICR_CI_ARTIFACT_DIR: artifacts, AICR_CI_SUMMARY: path.join(out, 'summary.md') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (!okCodes.includes(r.status ?? -1)) {
    process.stderr.write(`demo: ${name} failed (exit ${r.status})\n`);
    process.exit(r.status ?? 2);
  }
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, string>;
}

const baseline = stage('snapshot', { mode: 'local', output: 'baseline.yaml', 'artifact-name': 'baseline' });
const snapshot = stage('snapshot', { mode: 'local', cluster: 'demo' });
const recipe = stage('recipe', { service: 'eks', accelerator: 'h100', intent: 'training', os: 'ubuntu', output: 'recipe.yaml' });
const bundle = stage('bundle', { 'recipe-artifact': 'aicr-recipe', 'accelerated-node-toleration': 'nvidia.com/gpu=present:NoSchedule', output: 'bundle' });
const deploy = stage('deploy', { 'bundle-artifact': 'aicr-bundle', 'expected-checksums-sha256': bundle['checksums-sha256'], 'dry-run': 'true' });
const localRecipe = stage('recipe', { 'snapshot-artifact': 'aicr-snapshot', service: 'kind', intent: 'training', output: 'recipe-kind.yaml', 'artifact-name': 'aicr-recipe-kind' });
const validate = stage('validate', { recipe: localRecipe['recipe-path'], snapshot: snapshot['snapshot-path'], 'no-cluster': 'true', output: 'validation-report.json' });
const drift = stage('drift-check', { baseline: baseline['snapshot-path'], snapshot: snapshot['snapshot-path'], 'report-dir': 'drift-report' }, [0, 1]);

const plan = JSON.parse(deploy.plan) as { component: string }[];
const rows: [string, string][] = [
  ['snapshot (this machine)', `${snapshot['snapshot-path']}  (+ ${path.basename(snapshot['metadata-path'])}; ${snapshot.measurements})`],
  ['recipe (eks/h100/training)', `${recipe['recipe-path']}  (${(JSON.parse(recipe.components) as unknown[]).length} components; overlays ${recipe['applied-overlays']})`],
  ['bundle', `${bundle['bundle-dir']}  (${bundle['file-count']} files; checksums.txt sha256 ${bundle['checksums-sha256'].slice(0, 16)}…)`],
  ['deploy (dry-run)', `verified ${deploy['verified-files']} files; plan: ${plan.map((s) => s.component).join(' → ')}`],
  ['validation report', `${validate['report-path']}  (${validate.outcome}: ${validate.tests} checks — ${validate.passed} passed, ${validate.failed} failed, ${validate.skipped} skipped with no-cluster)`],
  ['drift check', `${drift.outcome}: ${drift.changes} changes, ${drift.hidden} hidden as noise; report ${drift['report-dir']}`],
  ['artifacts', artifacts],
  ['summary (Markdown)', path.join(out, 'summary.md')],
];
process.stdout.write(`\nAICR demo with ${aicr} — products in ${out}\n\n`);
for (const [what, where] of rows) process.stdout.write(`  ${what.padEnd(28)} ${where}\n`);
