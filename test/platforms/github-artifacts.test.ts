/**
 * GitHubPlatform artifacts against the EMULATED Actions artifact service
 * (test/helpers/actions-runtime.ts): the real, unmodified @actions/artifact
 * client talks to loopback stand-ins for GitHub's results service, blob store
 * and REST API. Steps run as child processes like the runner runs a
 * JavaScript action (test/helpers/action-runner.ts), through the fixture
 * step test/fixtures/artifact-step.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { listFiles } from '../../src/core/fsutil.ts';
import { GitHubPlatform } from '../../src/platforms/github.ts';
import { runAction, type ActionRunResult } from '../helpers/action-runner.ts';
import { startActionsRuntime, type ActionsRuntime } from '../helpers/actions-runtime.ts';
import { ROOT, tempDir } from '../helpers/env.ts';

const STEP = path.join(ROOT, 'test', 'fixtures', 'artifact-step.ts');
const SCRATCH = tempDir('github-artifacts-');
/** A fresh directory under this file's scratch root (removed at exit). */
const freshDir = (prefix: string): string => fs.mkdtempSync(path.join(SCRATCH, prefix));

async function runtime(t: TestContext): Promise<ActionsRuntime> {
  const rt = await startActionsRuntime();
  t.after(() => rt.close());
  return rt;
}

function step(inputs: Record<string, string>, env: Record<string, string>): Promise<ActionRunResult> {
  return runAction(STEP, inputs, { env });
}

/** Fail with the step's own output when it did not succeed. */
function assertOk(r: ActionRunResult): void {
  assert.equal(r.exitCode, 0, `step failed:\n${r.annotations.map((a) => `${a.level}: ${a.message}`).join('\n')}\n--- stderr\n${r.stderr}`);
}

function errorOf(r: ActionRunResult): string {
  assert.equal(r.exitCode, 1, `step should have failed; stdout:\n${r.stdout}`);
  const errors = r.annotations.filter((a) => a.level === 'error');
  assert.ok(errors.length > 0, 'a failed step reports an ::error:: annotation');
  return errors.map((a) => a.message).join('\n');
}

/** A product with nested directories, hidden files, an empty file, binary data and awkward names. */
const PRODUCT: Record<string, string | Buffer> = {
  '.meta.json': '{"stage":"recipe","version":1}\n',
  'recipe.yaml': 'kind: RecipeResult\ncomponents: []\n',
  'sub/.hidden': 'hidden in a subdirectory\n',
  'sub/deep/nested/values.yaml': 'a:\n  b: [1, 2, 3]\n',
  '.hidden-dir/inner.txt': 'inside a hidden directory\n',
  'docs/read me.md': '# spaces in a name\n',
  'empty.txt': '',
  'bin/random.bin': randomBytes(700 * 1024),
};

function writeTree(dir: string, files: Record<string, string | Buffer>): string {
  for (const [rel, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), data);
  }
  return dir;
}

async function readTree(dir: string): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const rel of await listFiles(dir)) out[rel] = fs.readFileSync(path.join(dir, rel));
  return out;
}

function asBuffers(files: Record<string, string | Buffer>): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)]));
}

test('emulated Actions artifact service: GitHubPlatform uploads a product with nested dirs and hidden files and downloads it by name byte-identical', async (t) => {
  const rt = await runtime(t);
  const src = writeTree(freshDir('product-'), PRODUCT);

  const up = await step({ operation: 'upload', 'artifact-name': 'aicr-recipe', root: src }, rt.env);
  assertOk(up);
  assert.equal(up.outputs.uploaded, 'true');
  assert.equal(up.outputs.files, String(Object.keys(PRODUCT).length));
  const [stored, ...more] = rt.artifacts({ name: 'aicr-recipe' });
  assert.ok(stored && more.length === 0, 'exactly one artifact stored');
  assert.equal(up.outputs['artifact-id'], String(stored.id), 'artifact-id output is the service id');
  assert.ok(stored.id > 2 ** 31, 'ids above 2^31 survive the int64-as-string round trip');
  assert.equal(stored.finalized, true);
  assert.equal(stored.runId, rt.run.id);
  assert.match(stored.digest ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(Object.keys(stored.files()).sort(), Object.keys(PRODUCT).sort(), 'the uploaded zip holds every file, hidden ones included');

  const dest = path.join(freshDir('download-'), 'fresh', 'dir');
  const down = await step({ operation: 'download', 'artifact-name': 'aicr-recipe', dest }, rt.env);
  assertOk(down);
  assert.equal(down.outputs.path, dest);
  assert.deepEqual(await readTree(dest), asBuffers(PRODUCT), 'downloaded tree is byte-identical to the product');

  // The same-run path never touches the REST API.
  assert.deepEqual(rt.requests().filter((r) => r.service === 'api'), []);
});

test('emulated Actions artifact service: an artifact uploaded in one job downloads by name in a later job of the same run', async (t) => {
  const rt = await runtime(t);
  const src = writeTree(freshDir('product-'), { '.meta.json': '{}', 'sub/.hidden': 'x' });
  assertOk(await step({ operation: 'upload', 'artifact-name': 'aicr-snapshot', root: src }, rt.env));
  const dest = freshDir('download-');
  assertOk(await step({ operation: 'download', 'artifact-name': 'aicr-snapshot', dest }, rt.jobEnv()));
  assert.deepEqual(await readTree(dest), asBuffers({ '.meta.json': '{}', 'sub/.hidden': 'x' }));
});

test('emulated Actions artifact service: the same artifact name uploaded twice in one run fails (409 conflict), another run may reuse it', async (t) => {
  const rt = await runtime(t);
  rt.seedArtifact({ name: 'aicr-bundle', files: { 'a.txt': 'from another run' } });
  const src = writeTree(freshDir('product-'), { 'bundle.yaml': 'one\n' });

  const first = await step({ operation: 'upload', 'artifact-name': 'aicr-bundle', root: src }, rt.env);
  assertOk(first);

  const second = await step({ operation: 'upload', 'artifact-name': 'aicr-bundle', root: src }, rt.env);
  const msg = errorOf(second);
  assert.match(msg, /\(409\) Conflict/);
  assert.match(msg, /an artifact with this name already exists on the workflow run/);
  assert.equal(rt.artifacts({ runId: rt.run.id, name: 'aicr-bundle' }).length, 1, 'the first upload is untouched');
  assert.equal(second.outputs['artifact-id'], undefined, 'no artifact-id output from the failed upload');
});

test('emulated Actions artifact service: downloading by name an artifact that does not exist fails with a message naming it', async (t) => {
  const rt = await runtime(t);
  const dest = freshDir('download-');
  const r = await step({ operation: 'download', 'artifact-name': 'aicr-no-such-artifact', dest }, rt.env);
  const msg = errorOf(r);
  assert.match(msg, /artifact 'aicr-no-such-artifact' not found in this workflow run/);
  assert.match(msg, /Artifact not found for name: aicr-no-such-artifact/);
  assert.deepEqual(fs.readdirSync(dest), [], 'nothing was written');
});

test('emulated Actions artifact service: cross-run download with findBy (run id, repository, token) fetches a seeded artifact of another run', async (t) => {
  const rt = await runtime(t);
  const files = { '.meta.json': '{"run":"earlier"}', 'sub/.hidden': 'h', 'sub/deep/snapshot.yaml': 'kind: Snapshot\n' };
  const seeded = rt.seedArtifact({ name: 'aicr-snapshot', files });
  assert.notEqual(seeded.runId, rt.run.id, 'seeded into another run');
  const before = rt.requests().length;

  const dest = freshDir('download-');
  const r = await step(
    { operation: 'download', 'artifact-name': 'aicr-snapshot', dest, 'run-id': String(seeded.runId), repository: rt.run.repository, 'github-token': rt.githubToken },
    rt.env,
  );
  assertOk(r);
  assert.deepEqual(await readTree(dest), asBuffers(files));
  assert.ok(r.masks.includes(rt.githubToken), 'the token is masked in the step log');

  const calls = rt.requests().slice(before);
  const api = calls.filter((c) => c.service === 'api').map((c) => `${c.method} ${c.url.split('?')[0]} ${c.status}`);
  assert.deepEqual(api, [
    `GET /repos/${rt.run.repository}/actions/runs/${seeded.runId}/artifacts 200`,
    `GET /repos/${rt.run.repository}/actions/artifacts/${seeded.id}/zip 302`,
  ]);
  assert.ok(calls.some((c) => c.service === 'blob' && c.method === 'GET' && c.status === 200), 'zip fetched from the signed blob URL');
  assert.deepEqual(calls.filter((c) => c.service === 'results'), [], 'cross-run goes through REST, not the results service');
});

test('emulated Actions artifact service: cross-run download from another repository needs a token for that repository; a wrong token is refused', async (t) => {
  const rt = await runtime(t);
  const seeded = rt.seedArtifact({ name: 'aicr-recipe', repository: 'other-org/other-repo', files: { 'recipe.yaml': 'r\n' } });
  const base = { operation: 'download', 'artifact-name': 'aicr-recipe', 'run-id': String(seeded.runId), repository: 'other-org/other-repo' };

  const bad = await step({ ...base, dest: freshDir('download-'), 'github-token': 'ghp_notARealTokenAtAll000000000000000000' }, rt.env);
  assert.match(errorOf(bad), /cannot look up artifact 'aicr-recipe' in run \d+: the token was refused \(.*Bad credentials.*\); give a token with actions:read/);

  const jobToken = await step({ ...base, dest: freshDir('download-'), 'github-token': rt.githubToken }, rt.env);
  assert.match(errorOf(jobToken), /Not Found/, "the job's GITHUB_TOKEN cannot see another private repository");

  const pat = rt.issueToken({ repositories: ['other-org/other-repo'] });
  const dest = freshDir('download-');
  assertOk(await step({ ...base, dest, 'github-token': pat }, rt.env));
  assert.deepEqual(await readTree(dest), asBuffers({ 'recipe.yaml': 'r\n' }));
});

test('emulated Actions artifact service: the real client lists artifacts of this run (Twirp) and of another run (REST), and deletes by name', async (t) => {
  const rt = await runtime(t);
  const src = writeTree(freshDir('product-'), { 'x.txt': 'x' });
  const up = await step({ operation: 'upload', 'artifact-name': 'aicr-deploy', root: src }, rt.env);
  assertOk(up);
  const other = rt.seedArtifact({ name: 'aicr-old', files: { 'o.txt': 'o' } });

  const here = await step({ operation: 'list' }, rt.env);
  assertOk(here);
  const rows = JSON.parse(here.outputs.artifacts ?? '[]') as { id: number; name: string; digest?: string }[];
  assert.deepEqual(rows.map((a) => [a.id, a.name]), [[Number(up.outputs['artifact-id']), 'aicr-deploy']], 'only this run');

  const there = await step({ operation: 'list', 'run-id': String(other.runId), 'github-token': rt.githubToken }, rt.env);
  assertOk(there);
  const otherRows = JSON.parse(there.outputs.artifacts ?? '[]') as { id: number; name: string; digest?: string }[];
  assert.deepEqual(otherRows, [{ id: other.id, name: 'aicr-old', size: other.size, digest: other.digest }]);

  const del = await step({ operation: 'delete', 'artifact-name': 'aicr-deploy' }, rt.env);
  assertOk(del);
  assert.equal(del.outputs['artifact-id'], up.outputs['artifact-id']);
  assert.deepEqual(rt.artifacts({ runId: rt.run.id }), []);
  const gone = await step({ operation: 'download', 'artifact-name': 'aicr-deploy', dest: freshDir('download-') }, rt.env);
  assert.match(errorOf(gone), /artifact 'aicr-deploy' not found/);
});

test('emulated Actions artifact service: outside an action step (no ACTIONS_RUNTIME_TOKEN) upload returns undefined and download throws the clear message', async (t) => {
  const saved = { token: process.env.ACTIONS_RUNTIME_TOKEN, url: process.env.ACTIONS_RESULTS_URL };
  delete process.env.ACTIONS_RUNTIME_TOKEN;
  delete process.env.ACTIONS_RESULTS_URL;
  t.after(() => {
    if (saved.token !== undefined) process.env.ACTIONS_RUNTIME_TOKEN = saved.token;
    if (saved.url !== undefined) process.env.ACTIONS_RESULTS_URL = saved.url;
  });
  const platform = new GitHubPlatform();
  const src = writeTree(freshDir('product-'), { 'a.txt': 'a' });
  assert.equal(await platform.uploadArtifact({ name: 'aicr-recipe', root: src, files: ['a.txt'], retentionDays: 0 }), undefined);
  await assert.rejects(platform.downloadArtifact('aicr-recipe', freshDir('download-')), {
    name: 'StageError',
    message: /cannot download artifact 'aicr-recipe': no Actions runtime token in this step \(only JavaScript action steps get one\)/,
  });

  // The same as a composite `run:` step would see it: every GITHUB_* variable, but no runtime token.
  const rt = await runtime(t);
  const { ACTIONS_RUNTIME_TOKEN: _token, ...runStepEnv } = rt.env;
  const up = await step({ operation: 'upload', 'artifact-name': 'aicr-recipe', root: src }, runStepEnv);
  assertOk(up);
  assert.equal(up.outputs.uploaded, 'false');
  const down = await step({ operation: 'download', 'artifact-name': 'aicr-recipe', dest: freshDir('download-') }, runStepEnv);
  assert.match(errorOf(down), /no Actions runtime token in this step/);
  assert.deepEqual(rt.requests(), [], 'nothing reached the service');
});
