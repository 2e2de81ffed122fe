/**
 * `cm://` documents against the real API server, round-tripped with the real
 * aicr in both directions (aicr writes, we read; we write, aicr reads), for
 * snapshots, recipes and validation reports; and every failure a user meets,
 * each with its own clear message.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { configMapDataBytes, CONFIGMAP_MAX_BYTES, readCmDocument, writeCmDocument } from '../../src/core/kube.ts';
import { resolveKube, type KubeTarget } from '../../src/core/kubeconfig.ts';
import { AICR, NO_AICR, tempDir } from '../helpers/env.ts';
import { closedPort, createNamespace, deleteNamespace, getConfigMap, K8S, NO_K8S, putConfigMap, saKubeconfig, writeKubeconfig } from '../helpers/k8s.ts';

/** Run the real aicr with the admin kubeconfig (and no ambient ~/.kube/config). */
function aicr(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const home = tempDir('aicr-k8s-home-');
  const r = spawnSync(AICR!, args, { encoding: 'utf8', cwd: home, env: { PATH: process.env.PATH ?? '', HOME: home, KUBECONFIG: K8S!.kubeconfig, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.replace(/\u001b\[[0-9;]*m/g, '') };
}

const errorOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected an error');
};

describe('cm:// against the real API server, round-tripped with the real aicr', { skip: NO_K8S || NO_AICR }, () => {
  let ns = '';
  let admin: KubeTarget;
  let work = '';
  let snapshotFile = '';
  let snapshotText = '';
  before(async () => {
    ns = await createNamespace('aicr-cm-');
    work = tempDir('aicr-k8s-cm-');
    admin = (await resolveKube(K8S!.kubeconfig, {}, work))!;
    snapshotFile = path.join(work, 'snapshot.yaml');
    // A real snapshot of this machine (agent mode, no cluster).
    const r = aicr(['snapshot', '--output', snapshotFile], { AICR_AGENT_MODE: 'true', KUBECONFIG: '' });
    assert.equal(r.code, 0, r.stderr);
    snapshotText = fs.readFileSync(snapshotFile, 'utf8');
  });
  after(async () => {
    await deleteNamespace(ns);
  });

  it('aicr writes a snapshot with -o cm://, and readCmDocument reads it', async () => {
    const r = aicr(['snapshot', '--output', `cm://${ns}/by-aicr`], { AICR_AGENT_MODE: 'true' });
    assert.equal(r.code, 0, r.stderr);
    const doc = await readCmDocument(admin, `cm://${ns}/by-aicr`);
    assert.equal(doc.key, 'snapshot.yaml');
    assert.equal(doc.format, 'yaml');
    const snap = parse(doc.text) as { kind: string; measurements: { type: string; subtypes: { subtype: string; data: Record<string, unknown> }[] }[] };
    assert.equal(snap.kind, 'Snapshot');
    assert.equal(snap.measurements.find((m) => m.type === 'OS')?.subtypes.find((s) => s.subtype === 'sysctl')?.data['/proc/sys/kernel/osrelease'], os.release());
    assert.match(doc.text, /^measurements:\n {4}- type: /m, 'aicr indents YAML inside a ConfigMap by 4 (yaml.v3); read as-is');
  });

  it('writeCmDocument writes aicr\'s layout (same labels, keys and format as aicr\'s own), and aicr reads it with --snapshot cm://', async () => {
    await writeCmDocument(admin, `cm://${ns}/by-us`, { text: snapshotText, format: 'yaml', kind: 'Snapshot', version: '', timestamp: '2026-01-02T03:04:05Z' });
    const ours = (await getConfigMap(ns, 'by-us'))!;
    const theirs = (await getConfigMap(ns, 'by-aicr'))!;
    assert.deepEqual(ours.metadata.labels, theirs.metadata.labels, 'labels name=aicr, component=Snapshot, version=unknown, as aicr writes them');
    assert.deepEqual(Object.keys(ours.data!).sort(), Object.keys(theirs.data!).sort());
    assert.equal(ours.data!['snapshot.yaml'], snapshotText);
    assert.equal(ours.data!.format, 'yaml');
    assert.equal(ours.data!.timestamp, '2026-01-02T03:04:05Z');
    assert.deepEqual(ours.metadata.managedFields?.map((m) => m.manager), ['aicr-ci'], 'server-side apply, field manager aicr-ci');

    const fromCm = aicr(['recipe', '--snapshot', `cm://${ns}/by-us`, '--intent', 'training', '--output', path.join(work, 'recipe-cm.yaml')]);
    assert.equal(fromCm.code, 0, fromCm.stderr);
    const fromFile = aicr(['recipe', '--snapshot', snapshotFile, '--intent', 'training', '--output', path.join(work, 'recipe-file.yaml')]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.deepEqual(parse(fs.readFileSync(path.join(work, 'recipe-cm.yaml'), 'utf8')), parse(fs.readFileSync(path.join(work, 'recipe-file.yaml'), 'utf8')), 'aicr built the same recipe from our ConfigMap as from the file');

    // JSON in the same layout: key snapshot.json and format json, which aicr's reader picks by data.format.
    const json = JSON.stringify(parse(snapshotText));
    await writeCmDocument(admin, `cm://${ns}/by-us-json`, { text: json, format: 'json', kind: 'Snapshot', version: '0.11.1', timestamp: '2026-01-02T03:04:05Z' });
    const j = aicr(['recipe', '--snapshot', `cm://${ns}/by-us-json`, '--intent', 'training', '--output', path.join(work, 'recipe-json.yaml')]);
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual(parse(fs.readFileSync(path.join(work, 'recipe-json.yaml'), 'utf8')), parse(fs.readFileSync(path.join(work, 'recipe-file.yaml'), 'utf8')));
    assert.equal((await getConfigMap(ns, 'by-us-json'))!.metadata.labels!['app.kubernetes.io/version'], '0.11.1');
  });

  it('recipes and validation reports both ways: aicr recipe/validate -o cm:// read back; our recipe ConfigMap read by aicr validate --recipe cm://', async () => {
    const file = path.join(work, 'eks.yaml');
    assert.equal(aicr(['recipe', '--service', 'eks', '--intent', 'training', '--output', file]).code, 0);
    const r = aicr(['recipe', '--service', 'eks', '--intent', 'training', '--output', `cm://${ns}/recipe-by-aicr`]);
    assert.equal(r.code, 0, r.stderr);
    const read = await readCmDocument(admin, `cm://${ns}/recipe-by-aicr`);
    assert.deepEqual(parse(read.text), parse(fs.readFileSync(file, 'utf8')), 'the recipe aicr stored is the one it writes to a file');
    assert.equal((await getConfigMap(ns, 'recipe-by-aicr'))!.metadata.labels!['app.kubernetes.io/component'], 'Snapshot', 'aicr labels recipes component=Snapshot too (no header)');

    const recipeText = fs.readFileSync(file, 'utf8');
    await writeCmDocument(admin, `cm://${ns}/recipe-by-us`, { text: recipeText, format: 'yaml', kind: 'RecipeResult', version: '0.11.1', timestamp: '2026-01-02T03:04:05Z' });
    await writeCmDocument(admin, `cm://${ns}/snap-by-us`, { text: snapshotText, format: 'yaml', kind: 'Snapshot', version: '', timestamp: '2026-01-02T03:04:05Z' });
    const v = aicr(['validate', '--recipe', `cm://${ns}/recipe-by-us`, '--snapshot', `cm://${ns}/snap-by-us`, '--no-cluster', '--output', `cm://${ns}/report-by-aicr`]);
    assert.equal(v.code, 0, v.stderr);
    const report = await readCmDocument(admin, `cm://${ns}/report-by-aicr`);
    const ctrf = JSON.parse(report.text) as { reportFormat: string; results: { summary: { tests: number } } };
    assert.equal(report.key, 'snapshot.json', 'aicr stores the CTRF report as JSON under snapshot.json');
    assert.equal(ctrf.reportFormat, 'CTRF');
    assert.ok(ctrf.results.summary.tests > 0);
  });

  it('rewriting a ConfigMap in the other format leaves exactly one document key (SSA keeps another manager\'s fields otherwise)', async () => {
    // by-aicr holds aicr's snapshot.yaml (field manager aicr).
    const json = JSON.stringify(parse(snapshotText));
    await writeCmDocument(admin, `cm://${ns}/by-aicr`, { text: json, format: 'json', kind: 'Snapshot', version: '', timestamp: '2026-01-02T03:04:05Z' });
    const cm = (await getConfigMap(ns, 'by-aicr'))!;
    assert.deepEqual(Object.keys(cm.data!).sort(), ['format', 'snapshot.json', 'timestamp']);
    assert.equal((await readCmDocument(admin, `cm://${ns}/by-aicr`)).key, 'snapshot.json');
    const back = aicr(['recipe', '--snapshot', `cm://${ns}/by-aicr`, '--intent', 'training', '--output', path.join(work, 'recipe-rewritten.yaml')]);
    assert.equal(back.code, 0, back.stderr);
  });

  describe('each failure is a clear, distinct error', () => {
    const messages: Record<string, string> = {};
    after(() => {
      const seen = new Map<string, string>();
      for (const [what, m] of Object.entries(messages)) {
        const shape = m.replace(/cm:\/\/[^ :]+/g, 'cm://X');
        assert.ok(!seen.has(shape), `'${what}' reads the same as '${seen.get(shape)}': ${m}`);
        seen.set(shape, what);
      }
    });

    it('namespace missing (read and write)', async () => {
      messages['read, namespace missing'] = await errorOf(readCmDocument(admin, 'cm://no-such-namespace/x'));
      assert.equal(messages['read, namespace missing'], "cannot read cm://no-such-namespace/x: namespace 'no-such-namespace' does not exist");
      messages['write, namespace missing'] = await errorOf(writeCmDocument(admin, 'cm://no-such-namespace/x', { text: snapshotText, format: 'yaml', kind: 'Snapshot', version: '', timestamp: 't' }));
      assert.equal(messages['write, namespace missing'], "cannot write cm://no-such-namespace/x: namespace 'no-such-namespace' does not exist");
    });

    it('ConfigMap missing', async () => {
      messages['read, ConfigMap missing'] = await errorOf(readCmDocument(admin, `cm://${ns}/nothing-here`));
      assert.equal(messages['read, ConfigMap missing'], `cannot read cm://${ns}/nothing-here: ConfigMap 'nothing-here' does not exist in namespace '${ns}'`);
    });

    it('forbidden: a ServiceAccount with no rights (real RBAC, 403), reading and writing', async () => {
      const sa = (await resolveKube(saKubeconfig(ns, 'no-rights'), {}, work))!;
      messages['read, forbidden'] = await errorOf(readCmDocument(sa, `cm://${ns}/by-us`));
      assert.equal(
        messages['read, forbidden'],
        `cannot read cm://${ns}/by-us: forbidden: the credentials lack RBAC permission (configmaps "by-us" is forbidden: User "system:serviceaccount:${ns}:no-rights" cannot get resource "configmaps" in API group "" in the namespace "${ns}")`,
      );
      messages['write, forbidden'] = await errorOf(writeCmDocument(sa, `cm://${ns}/by-us`, { text: snapshotText, format: 'yaml', kind: 'Snapshot', version: '', timestamp: 't' }));
      assert.match(messages['write, forbidden'], new RegExp(`^cannot write cm://${ns}/by-us: forbidden: the credentials lack RBAC permission \\(configmaps "by-us" is forbidden: User "system:serviceaccount:${ns}:no-rights" cannot patch resource "configmaps"`));
      // A missing namespace cannot be told apart without rights: the server answers 403 first.
      assert.match(await errorOf(readCmDocument(sa, 'cm://no-such-namespace/x')), /forbidden/);
    });

    it('over the 1 MiB limit: our pre-check counts as the server does (a ConfigMap of exactly the limit is accepted); the server\'s own 422 and 413 when the pre-check is bypassed', async () => {
      const timestamp = '2026-01-02T03:04:05Z';
      const fits = 'x'.repeat(CONFIGMAP_MAX_BYTES - 'yaml'.length - timestamp.length);
      assert.equal(configMapDataBytes({ 'snapshot.yaml': fits, format: 'yaml', timestamp }), CONFIGMAP_MAX_BYTES);
      await writeCmDocument(admin, `cm://${ns}/exactly-1mib`, { text: fits, format: 'yaml', kind: 'Snapshot', version: '', timestamp });
      assert.equal((await readCmDocument(admin, `cm://${ns}/exactly-1mib`)).text.length, fits.length);

      const over = { text: `${fits}x`, format: 'yaml' as const, kind: 'Snapshot', version: '', timestamp };
      messages['write, over the limit (pre-check)'] = await errorOf(writeCmDocument(admin, `cm://${ns}/big`, over));
      assert.equal(
        messages['write, over the limit (pre-check)'],
        `cannot write cm://${ns}/big: the ConfigMap data would be ${CONFIGMAP_MAX_BYTES + 1} bytes (document ${fits.length + 1} bytes), over the API server's limit of ${CONFIGMAP_MAX_BYTES} bytes; on large clusters pass max-nodes-per-entry to shrink NodeTopology readings, or keep the document as a file or artifact`,
      );
      messages['write, over the limit (server 422)'] = await errorOf(writeCmDocument(admin, `cm://${ns}/big`, over, { sizeCheck: false }));
      assert.equal(
        messages['write, over the limit (server 422)'],
        `cannot write cm://${ns}/big: over the API server's limit of ${CONFIGMAP_MAX_BYTES} bytes for a ConfigMap's data (ConfigMap "big" is invalid: []: Too long: may not be more than ${CONFIGMAP_MAX_BYTES} bytes)`,
      );
      messages['write, request too large (server 413)'] = await errorOf(writeCmDocument(admin, `cm://${ns}/big`, { ...over, text: 'x'.repeat(3 * CONFIGMAP_MAX_BYTES + 1) }, { sizeCheck: false }));
      assert.equal(messages['write, request too large (server 413)'], `cannot write cm://${ns}/big: the request body is over the API server's size limit (Request entity too large: limit is 3145728)`);
      assert.equal(await getConfigMap(ns, 'big'), undefined);
    });

    it('a ConfigMap without the expected key', async () => {
      await putConfigMap(ns, 'not-a-doc', { 'config.yaml': 'a: 1', format: 'yaml' });
      messages['read, no document key'] = await errorOf(readCmDocument(admin, `cm://${ns}/not-a-doc`));
      assert.equal(messages['read, no document key'], `cm://${ns}/not-a-doc has no document: expected data key snapshot.yaml (aicr's layout); found keys: config.yaml, format`);
      // aicr's own reader agrees there is nothing to read.
      const r = aicr(['recipe', '--snapshot', `cm://${ns}/not-a-doc`, '--intent', 'training']);
      assert.notEqual(r.code, 0);
    });

    it('rejected credentials (401) and an unreachable server name the server', async () => {
      const bad = (await resolveKube(writeKubeconfig(path.join(work, 'bad-token.kubeconfig'), { token: 'not-a-real-token' }), {}, work))!;
      messages['read, unauthorized'] = await errorOf(readCmDocument(bad, `cm://${ns}/by-us`));
      assert.equal(
        messages['read, unauthorized'],
        `cannot read cm://${ns}/by-us: unauthorized: the API server at ${K8S!.server} rejected the credentials (expired or revoked token, deleted ServiceAccount, or an untrusted client certificate) (Unauthorized)`,
      );
      const port = await closedPort();
      const gone = (await resolveKube(writeKubeconfig(path.join(work, 'gone.kubeconfig'), { server: `https://127.0.0.1:${port}` }), {}, work))!;
      messages['read, unreachable'] = await errorOf(readCmDocument(gone, `cm://${ns}/by-us`));
      assert.match(messages['read, unreachable'], new RegExp(`^cannot read cm://${ns}/by-us: cannot reach the API server at https://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    });
  });
});

