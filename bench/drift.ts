#!/usr/bin/env node
/**
 * Drift benchmark: the shell CLI's drift-check against `aicr diff`, `dyff
 * between` and `diff -q`, on a large synthetic pair (5,000 nodes of
 * NodeTopology labels and taints, thousands of sysctl and systemd readings)
 * and on a real pair, in one run. Prints medians, ratios and peak RSS, and
 * checks the targets of the drift-check issue.
 *
 *   node bench/drift.ts [--runs 5] [--nodes 5000] [--parsers] [--keep]
 *
 * drift-check runs as `node dist/cli/index.js` when the bundle exists, else
 * `node src/entries/cli.ts` (type stripping; slower start, more memory).
 * dyff comes from PATH or ~/.cache/aicr-ci-bench/bin (installed there with
 * `go install github.com/homeport/dyff/cmd/dyff@latest` on first use).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { generatePair } from './drift/generate.ts';
import { measure, median, type Sample } from './drift/measure.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    nodes: { type: 'string', default: '5000' },
    parsers: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const RUNS = Math.max(1, Number(opts.runs));
const NODE = process.execPath;
const MiB = 1024 * 1024;

function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, bin);
    if (dir && fs.existsSync(p)) return p;
  }
  return undefined;
}

/** dyff from PATH or the bench cache, installed with `go install` when missing. */
function findDyff(): string | undefined {
  const cacheBin = path.join(os.homedir(), '.cache', 'aicr-ci-bench', 'bin');
  const cached = path.join(cacheBin, 'dyff');
  const found = which('dyff') ?? (fs.existsSync(cached) ? cached : undefined);
  if (found) return found;
  if (!which('go')) return undefined;
  process.stderr.write(`installing dyff: GOBIN=${cacheBin} go install github.com/homeport/dyff/cmd/dyff@latest\n`);
  const r = spawnSync('go', ['install', 'github.com/homeport/dyff/cmd/dyff@latest'], { env: { ...process.env, GOBIN: cacheBin }, stdio: ['ignore', 'inherit', 'inherit'] });
  return r.status === 0 && fs.existsSync(cached) ? cached : undefined;
}

const toolsBin = process.env.AICR_CI_TOOLS_BIN || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'aicr-ci', 'bin');
// Same lookup as the tests: AICR_BIN, then what scripts/setup-env.mjs installed, then PATH.
const aicr = process.env.AICR_BIN || (fs.existsSync(path.join(toolsBin, 'aicr')) ? path.join(toolsBin, 'aicr') : which('aicr'));
const aicrHasDiff = aicr ? spawnSync(aicr, ['diff', '--help'], { stdio: 'ignore' }).status === 0 : false;
const aicrVersion = aicr ? (/\d+\.\d+\.\d+/.exec(spawnSync(aicr, ['--version'], { encoding: 'utf8' }).stdout)?.[0] ?? '') : '';
const dyff = findDyff();
const dist = path.join(ROOT, 'dist', 'cli', 'index.js');
const cli = fs.existsSync(dist) ? [dist] : [path.join(ROOT, 'src', 'entries', 'cli.ts')];

interface Tool {
  name: string;
  /** Command for a pair, or a reason it cannot run. */
  argv: (a: string, b: string, scratch: string) => [string, string[]] | string;
  okCodes: number[];
}

const tools: Tool[] = [
  {
    name: 'aicr-ci drift-check',
    argv: (a, b, scratch) => [NODE, [...cli, 'drift-check', '--baseline', a, '--snapshot', b, '--report-dir', path.join(scratch, 'report')]],
    okCodes: [0, 1],
  },
  {
    name: 'aicr diff',
    argv: (a, b, scratch) =>
      aicrHasDiff && aicr ? [aicr, ['diff', '--baseline', a, '--target', b, '--format', 'json', '--output', path.join(scratch, 'aicr-diff.json')]] : `n/a: pinned aicr v${aicrVersion || '0.11.1'} has no diff`,
    okCodes: [0],
  },
  {
    name: 'dyff between',
    argv: (a, b) => (dyff ? [dyff, ['between', '--omit-header', '--set-exit-code', a, b]] : 'n/a: dyff not installed and go not available'),
    okCodes: [0, 1],
  },
  { name: 'diff -q', argv: (a, b) => ['diff', ['-q', a, b]], okCodes: [0, 1] },
];

interface Row {
  tool: string;
  samples?: Sample[];
  note?: string;
}

async function benchPair(label: string, a: string, b: string, scratch: string): Promise<Row[]> {
  const rows: Row[] = [];
  for (const t of tools) {
    const cmd = t.argv(a, b, scratch);
    if (typeof cmd === 'string') {
      rows.push({ tool: t.name, note: cmd });
      continue;
    }
    const samples: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      samples.push(await measure(cmd[0], cmd[1], { okCodes: t.okCodes, env: { ...process.env, AICR_CI_TEMP: scratch, AICR_CI_ARTIFACT_DIR: '', AICR_CI_SUMMARY: '' } }));
    }
    rows.push({ tool: t.name, samples });
    process.stderr.write(`  ${label}: ${t.name} done\n`);
  }
  return rows;
}

function printTable(title: string, sizes: [number, number], rows: Row[]): { ours: number; dyff?: number; aicr?: number; rss: number } {
  const ours = rows[0].samples as Sample[];
  const oursMedian = median(ours.map((s) => s.seconds));
  const lines = [
    `\n${title}: ${(sizes[0] / MiB).toFixed(1)} MiB → ${(sizes[1] / MiB).toFixed(1)} MiB, ${RUNS} runs each`,
    `${'tool'.padEnd(22)}${'median s'.padStart(10)}${'min s'.padStart(9)}${'max s'.padStart(9)}${'peak RSS MiB'.padStart(14)}  vs drift-check`,
  ];
  const res: { ours: number; dyff?: number; aicr?: number; rss: number } = { ours: oursMedian, rss: Math.max(...ours.map((s) => s.rssMiB)) };
  for (const r of rows) {
    if (!r.samples) {
      lines.push(`${r.tool.padEnd(22)}${r.note}`);
      continue;
    }
    const secs = r.samples.map((s) => s.seconds);
    const m = median(secs);
    const rss = Math.max(...r.samples.map((s) => s.rssMiB));
    const ratio = r === rows[0] ? '1.0×' : m >= oursMedian ? `${(m / oursMedian).toFixed(1)}× slower` : `${(oursMedian / m).toFixed(1)}× faster`;
    lines.push(`${r.tool.padEnd(22)}${m.toFixed(3).padStart(10)}${Math.min(...secs).toFixed(3).padStart(9)}${Math.max(...secs).toFixed(3).padStart(9)}${rss.toFixed(0).padStart(14)}  ${ratio}`);
    if (r.tool === 'dyff between') res.dyff = m;
    if (r.tool === 'aicr diff') res.aicr = m;
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return res;
}

async function baselineRss(): Promise<{ node: number; cli: number }> {
  const n = await measure(NODE, ['-e', '0']);
  const c = await measure(NODE, [...cli, 'drift-check', '--help']);
  return { node: n.rssMiB, cli: c.rssMiB };
}

/** The `yaml` package against js-yaml (the engine's parser) on one large document, in child processes. */
async function parsers(file: string, scratch: string): Promise<void> {
  const script = path.join(scratch, 'parse.mjs');
  const yamlUrl = new URL(`file://${path.join(ROOT, 'node_modules', 'yaml', 'dist', 'index.js')}`).href;
  const jsyamlUrl = new URL(`file://${path.join(ROOT, 'node_modules', 'js-yaml', 'dist', 'js-yaml.mjs')}`).href;
  fs.writeFileSync(
    script,
    [
      `import * as fs from 'node:fs';`,
      `const [file, which] = process.argv.slice(2);`,
      `const text = fs.readFileSync(file, 'utf8');`,
      `if (which === 'yaml') { const { parseDocument } = await import(${JSON.stringify(yamlUrl)}); parseDocument(text, { uniqueKeys: true, strict: true }).toJS({ maxAliasCount: 100 }); }`,
      `if (which === 'js-yaml') { const { load } = await import(${JSON.stringify(jsyamlUrl)}); load(text, { maxAliases: 100 }); }`,
      `if (which === 'none') {}`,
    ].join('\n'),
  );
  const none = await measure(NODE, [script, file, 'none']);
  process.stdout.write(`\nparsers on ${path.basename(file)} (${(fs.statSync(file).size / MiB).toFixed(1)} MiB), one process each, read included:\n`);
  for (const which of ['yaml', 'js-yaml']) {
    const s = await measure(NODE, [script, file, which]);
    process.stdout.write(`  ${which.padEnd(8)} ${(s.seconds - none.seconds).toFixed(2)} s parse, peak RSS ${s.rssMiB.toFixed(0)} MiB (read only: ${none.rssMiB.toFixed(0)} MiB)\n`);
  }
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'aicr-drift-bench-'));
try {
  process.stderr.write(`generating the synthetic pair (${opts.nodes} nodes) in ${scratch}\n`);
  const big = await generatePair(path.join(scratch, 'synthetic'), { nodes: Number(opts.nodes) });
  const fixtures = path.resolve(ROOT, '..', 'shared', 'fixtures', 'aicr', 'snapshots');
  let real: { label: string; a: string; b: string } | undefined;
  if (fs.existsSync(path.join(fixtures, 'eks-gb200-2026-01-02.yaml'))) {
    real = { label: 'real pair: GB200 EKS 2026-01-02 → 2026-02-05', a: path.join(fixtures, 'eks-gb200-2026-01-02.yaml'), b: path.join(fixtures, 'eks-gb200-2026-02-05.yaml') };
  } else if (aicr) {
    const a = path.join(scratch, 'capture-a.yaml');
    const b = path.join(scratch, 'capture-b.yaml');
    for (const f of [a, b]) spawnSync(aicr, ['snapshot', '-o', f], { env: { ...process.env, AICR_AGENT_MODE: 'true' }, stdio: 'ignore' });
    real = { label: 'real pair: two local captures (AICR_AGENT_MODE=true aicr snapshot)', a, b };
  }
  const base = await baselineRss();
  process.stdout.write(
    `drift-check runs as: node ${path.relative(ROOT, cli[0])}${cli[0] === dist ? '' : ' (no dist/ bundle: Node type stripping)'}; ${os.cpus().length} CPUs; load average ${os.loadavg()[0].toFixed(1)}\n` +
      `Node baseline (node -e 0): ${base.node.toFixed(0)} MiB peak RSS; drift-check --help: ${base.cli.toFixed(0)} MiB\n`,
  );
  const bigRows = await benchPair('synthetic', big.baseline, big.current, scratch);
  const bigRes = printTable(`synthetic pair, ${opts.nodes} nodes`, big.bytes, bigRows);
  if (real) {
    const rows = await benchPair('real', real.a, real.b, scratch);
    printTable(real.label, [fs.statSync(real.a).size, fs.statSync(real.b).size], rows);
  }
  const larger = Math.max(...big.bytes) / MiB;
  const rssLimit = 4 * larger + base.node;
  const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  process.stdout.write(
    [
      '',
      'targets (synthetic pair):',
      `  no slower than aicr diff: ${bigRes.aicr === undefined ? 'n/a (pinned aicr has no diff)' : `${verdict(bigRes.ours <= bigRes.aicr)} (${bigRes.ours.toFixed(2)} s vs ${bigRes.aicr.toFixed(2)} s)`}`,
      `  at least 3× faster than dyff: ${bigRes.dyff === undefined ? 'n/a (no dyff)' : `${verdict(bigRes.dyff / bigRes.ours >= 3)} (${(bigRes.dyff / bigRes.ours).toFixed(1)}×)`}`,
      `  peak RSS under 4 × ${larger.toFixed(1)} MiB + Node baseline ${base.node.toFixed(0)} MiB = ${rssLimit.toFixed(0)} MiB: ${verdict(bigRes.rss < rssLimit)} (${bigRes.rss.toFixed(0)} MiB)`,
      '',
    ].join('\n'),
  );
  if (opts.parsers) await parsers(big.baseline, scratch);
} finally {
  if (opts.keep) process.stderr.write(`kept ${scratch}\n`);
  else fs.rmSync(scratch, { recursive: true, force: true });
}
