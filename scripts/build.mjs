#!/usr/bin/env node
// Build dist/<entry>/index.js for every src/entries/<entry>.ts with @vercel/ncc
// (ESM, because package.json says "type": "module"). dist/ is rebuilt from
// scratch so stale chunks cannot survive; the dist test compares the result
// with what is committed.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
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
for (const entry of entries) {
  const started = Date.now();
  const out = join(outRoot, entry);
  rmSync(out, { recursive: true, force: true });
  execFileSync(process.execPath, [ncc, 'build', join(root, 'src', 'entries', `${entry}.ts`), '-o', out, '--minify', '--target', 'es2022', '--quiet'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  process.stderr.write(`built dist/${entry} in ${Date.now() - started} ms\n`);
}
