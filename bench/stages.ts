/**
 * Per-stage overhead of the GitHub Action entries (dist/<stage>/index.js run
 * as the runner runs them: INPUT_* env, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
 * files) against the bare aicr command each wraps, and the cold start of
 * every dist entry. Prints medians of N runs (default 10) in one run.
 *
 * Targets (issue 2): overhead <= 100 ms median per stage; cold start <= 150 ms.
 * Usage: node bench/stages.ts [runs]     (AICR_BIN selects the aicr)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 10);
const toolsBin = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'aicr-ci', 'bin');
const aicr = process.env.AICR_BIN || (fs.existsSync(path.join(toolsBin, 'aicr')) ? path.join(toolsBin, 'aicr') : 'aicr');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aicr-bench-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Wall time (ms) of one command; throws when it fails. */
function time(cmd: string, args: string[], env: Record<string, string> = {}, okCodes = [0]): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (!okCodes.includes(r.status ?? -1)) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stdout + r.stderr).slice(-400)}`);
  return ms;
}

/** Env of a JavaScript action step (file commands in a fresh dir, no artifact upload). */
function actionEnv(inputs: Record<string, string>, i: number): Record<string, string> {
  const dir = path.join(work, `step-${i}-${Math.random().toString(36).slice(2)}`);
  fs.mkdirSync(dir, { recursive: true });
  // The runner creates the file-command files before the step starts.
  fs.writeFileSync(path.join(dir, 'output'), '');
  fs.writeFileSync(path.join(dir, 'summary'), '');
  const env: Record<string, string> = {
    GITHUB_OUTPUT: path.join(dir, 'output'),
    GITHUB_STEP_SUMMARY: path.join(dir, 'summary'),
    RUNNER_TEMP: dir,
    'INPUT_AICR-PATH': aicr,
    'INPUT_ARTIFACT-NAME': '',
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v.replace(/\{i\}/g, String(i));
  return env;
}

// Inputs shared by the pairs.
const recipe = path.join(work, 'recipe.yaml');
time(aicr, ['recipe', '--service', 'eks', '--accelerator', 'h100', '--intent', 'training', '--os', 'ubuntu', '--output', recipe]);
const bundle = path.join(work, 'bundle');
time(aicr, ['bundle', '--recipe', recipe, '--output', bundle]);
const snapshot = path.join(work, 'snapshot.yaml');
time(aicr, ['snapshot', '--output', snapshot], { AICR_AGENT_MODE: 'true' });
const snapshot2 = path.join(work, 'snapshot2.yaml');
time(aicr, ['snapshot', '--output', snapshot2], { AICR_AGENT_MODE: 'true' });
const kindRecipe = path.join(work, 'kind.yaml');
time(aicr, ['recipe', '--snapshot', snapshot, '--service', 'kind', '--intent', 'training', '--output', kindRecipe]);

interface Pair {
  stage: string;
  bare: string;
  /** Undefined when the pinned aicr has no command for it (drift-check: no `aicr diff` in v0.11.1). */
  bareRun?: (i: number) => number;
  inputs: Record<string, string>;
}
const pairs: Pair[] = [
  {
    stage: 'snapshot',
    bare: 'AICR_AGENT_MODE=true aicr snapshot -o f',
    bareRun: (i) => time(aicr, ['snapshot', '--output', path.join(work, `bare-snap-${i}.yaml`)], { AICR_AGENT_MODE: 'true' }),
    inputs: { mode: 'local', output: path.join(work, 'act-snap-{i}.yaml') },
  },
  {
    stage: 'recipe',
    bare: 'aicr recipe --service eks --accelerator h100 ... -o f',
    bareRun: (i) => time(aicr, ['recipe', '--service', 'eks', '--accelerator', 'h100', '--intent', 'training', '--os', 'ubuntu', '--output', path.join(work, `bare-r-${i}.yaml`)]),
    inputs: { service: 'eks', accelerator: 'h100', intent: 'training', os: 'ubuntu', output: path.join(work, 'act-r-{i}.yaml') },
  },
  {
    stage: 'bundle',
    bare: 'aicr bundle -r recipe.yaml -o dir',
    bareRun: (i) => time(aicr, ['bundle', '--recipe', recipe, '--output', path.join(work, `bare-b-${i}`)]),
    inputs: { recipe, output: path.join(work, 'act-b-{i}') },
  },
  {
    stage: 'deploy',
    bare: 'aicr verify bundle (dry-run verifies checksums)',
    bareRun: () => time(aicr, ['verify', bundle]),
    inputs: { bundle, 'dry-run': 'true' },
  },
  {
    stage: 'validate',
    bare: 'aicr validate --no-cluster -r -s -o f',
    bareRun: (i) => time(aicr, ['validate', '--recipe', kindRecipe, '--snapshot', snapshot, '--no-cluster', '--output', path.join(work, `bare-v-${i}.json`)]),
    inputs: { recipe: kindRecipe, snapshot, 'no-cluster': 'true', output: path.join(work, 'act-v-{i}.json') },
  },
  {
    stage: 'drift-check',
    bare: 'n/a: aicr v0.11.1 has no `aicr diff`',
    inputs: { baseline: snapshot, snapshot: snapshot2, 'report-dir': path.join(work, 'act-d-{i}') },
  },
];

const rows: string[][] = [];
for (const p of pairs) {
  const entry = path.join(root, 'dist', p.stage, 'index.js');
  time(process.execPath, [entry], actionEnv(p.inputs, 999)); // warm the page cache
  const bare: number[] = [];
  const action: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (p.bareRun) bare.push(p.bareRun(i));
    action.push(time(process.execPath, [entry], actionEnv(p.inputs, i)));
  }
  const a = median(action);
  if (!p.bareRun) {
    rows.push([p.stage, p.bare, '–', a.toFixed(0), '–', '–', '–']);
    continue;
  }
  const b = median(bare);
  rows.push([p.stage, p.bare, b.toFixed(0), a.toFixed(0), (a - b).toFixed(0), (a / b).toFixed(2), a - b <= 100 ? 'yes' : 'NO']);
}

const cold: string[][] = [];
for (const e of fs.readdirSync(path.join(root, 'dist')).sort()) {
  const entry = path.join(root, 'dist', e, 'index.js');
  // An invalid input makes the entry load everything it loads at start and exit at once.
  const args = e === 'cli' ? [entry, '--version'] : [entry];
  const env: Record<string, string> = e === 'cli' ? {} : { 'INPUT_LOG-FORMAT': 'bogus', GITHUB_OUTPUT: path.join(work, 'cold-out') };
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(time(process.execPath, args, env, [0, 1]));
  cold.push([e, median(xs).toFixed(0), median(xs) <= 150 ? 'yes' : 'NO']);
}
const nodeBase: number[] = [];
for (let i = 0; i < runs; i++) nodeBase.push(time(process.execPath, ['-e', '0']));

function print(headers: string[], body: string[][]): void {
  const w = headers.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  process.stdout.write(`${line(headers)}\n| ${w.map((n) => '-'.repeat(n)).join(' | ')} |\n${body.map(line).join('\n')}\n`);
}
process.stdout.write(`aicr: ${aicr}; node ${process.version}; ${runs} runs each, medians in ms; ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}\n\n`);
print(['stage', 'bare command', 'bare', 'action', 'overhead', 'ratio', '<=100 ms'], rows);
process.stdout.write('\n');
print(['dist entry', 'cold start', '<=150 ms'], cold);
process.stdout.write(`\n(node -e 0 alone: ${median(nodeBase).toFixed(0)} ms)\n`);
