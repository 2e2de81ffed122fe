#!/usr/bin/env node
// Build dist/<entry>/index.js for every src/entries/<entry>.ts with @vercel/ncc
// (ESM, because package.json says "type": "module"). dist/ is rebuilt from
// scratch so stale chunks cannot survive; the dist test compares the result
// with what is committed.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { minify } from 'terser';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outRoot = process.argv[2] ? resolve(process.argv[2]) : join(root, 'dist');
const only = process.argv.slice(3);
const entries = readdirSync(join(root, 'src', 'entries'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .filter((e) => only.length === 0 || only.includes(e))
  .sort();
if (only.length === 0) rmSync(outRoot, { recursive: true, force: true });
const ncc = join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
// Type checking is `npm run typecheck`'s job (tsc over the whole tree); ncc only
// transpiles, which makes the build several times faster and the output the same.
const run = promisify(execFile);
async function build(entry) {
  const started = Date.now();
  const out = join(outRoot, entry);
  rmSync(out, { recursive: true, force: true });
  await run(process.execPath, [ncc, 'build', join(root, 'src', 'entries', `${entry}.ts`), '-o', out, '--minify', '--transpile-only', '--target', 'es2022', '--quiet'], { cwd: root });
  // ncc minifies only the entry file; its lazy chunks (the Kubernetes client,
  // @actions/artifact) come out as readable webpack output, tens of MB per stage.
  for (const f of readdirSync(out).filter((n) => n.endsWith('.index.js'))) {
    const file = join(out, f);
    const { code } = await minify(readFileSync(file, 'utf8'), { module: true, compress: false, mangle: true, format: { comments: false } });
    writeFileSync(file, code);
  }
  process.stderr.write(`built dist/${entry} in ${Date.now() - started} ms\n`);
}
const queue = [...entries];
const workers = Array.from({ length: Math.min(2, queue.length) }, async () => {
  while (queue.length > 0) await build(queue.shift());
});
await Promise.all(workers);
