/**
 * Self-test of the action runner helper: inputs, file commands and workflow
 * commands as the GitHub runner reads them.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { inputEnvName, parseKeyValueFile, runAction } from './action-runner.ts';
import { tempDir } from './env.ts';

test('action runner: input names map like actions/runner (spaces to _, hyphens kept)', () => {
  assert.equal(inputEnvName('recipe-file'), 'INPUT_RECIPE-FILE');
  assert.equal(inputEnvName('my input'), 'INPUT_MY_INPUT');
});

test('action runner: GITHUB_OUTPUT heredoc and name=value forms; malformed files are errors', () => {
  assert.deepEqual(parseKeyValueFile('a=1\n\nb<<ghadelimiter_x\nline 1\nline=2\nghadelimiter_x\nc=x<<y\n'), { a: '1', b: 'line 1\nline=2', c: 'x<<y' });
  assert.throws(() => parseKeyValueFile('b<<EOF\nno end\n'), /matching delimiter not found/);
  assert.throws(() => parseKeyValueFile('just text\n'), /Invalid format/);
});

test('action runner: runs a .ts entry with INPUT_* and fresh step files, and reads back outputs, summary, PATH and annotations', async () => {
  const dir = tempDir('action-runner-');
  const entry = path.join(dir, 'entry.ts');
  fs.writeFileSync(
    entry,
    `import * as fs from 'node:fs';
const n: string = process.env['INPUT_RECIPE-FILE'] ?? 'missing';
fs.appendFileSync(process.env.GITHUB_OUTPUT!, 'file<<EOF_1\\n' + n + '\\nsecond line\\nEOF_1\\nplain=yes\\n');
fs.appendFileSync(process.env.GITHUB_STEP_SUMMARY!, '# Summary\\n');
fs.appendFileSync(process.env.GITHUB_PATH!, '/opt/tool/bin\\n');
console.log('::warning file=a%2Cb.yaml,line=3,title=T%3A1::multi%0Aline 100%25');
console.log('::add-mask::s3cret');
console.log('::stop-commands::pause1');
console.log('::error::ignored while stopped');
console.log('::pause1::');
console.error('::error::from stderr');
console.log(JSON.stringify({ leaked: process.env.INPUT_LEAK ?? null, temp: Boolean(process.env.RUNNER_TEMP), tool: Boolean(process.env.RUNNER_TOOL_CACHE) }));
process.exitCode = 3;
`,
  );
  process.env.INPUT_LEAK = 'from the parent';
  try {
    const r = await runAction(entry, { 'recipe-file': 'recipe.yaml' });
    assert.equal(r.exitCode, 3);
    assert.deepEqual(r.outputs, { file: 'recipe.yaml\nsecond line', plain: 'yes' });
    assert.equal(r.summary, '# Summary\n');
    assert.deepEqual(r.path, ['/opt/tool/bin']);
    assert.deepEqual(r.masks, ['s3cret']);
    assert.deepEqual(
      r.annotations.map((a) => [a.level, a.message, a.file, a.line, a.title]),
      [
        ['warning', 'multi\nline 100%', 'a,b.yaml', 3, 'T:1'],
        ['error', 'from stderr', undefined, undefined, undefined],
      ],
    );
    const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.deepEqual(last, { leaked: null, temp: true, tool: true }, "the parent's INPUT_* do not leak; RUNNER_TEMP and RUNNER_TOOL_CACHE are set");
  } finally {
    delete process.env.INPUT_LEAK;
  }
});
