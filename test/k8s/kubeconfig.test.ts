/**
 * Kubeconfig precedence (input → KUBECONFIG → in-cluster → ~/.kube/config)
 * with real kubeconfigs against the real API server, through client-node
 * (readCmDocument) and through the real aicr with the argv/env the suite
 * gives it (kubeArgs). A "wrong cluster" is a kubeconfig whose server is a
 * loopback port nothing listens on: using it would fail with ECONNREFUSED.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCmDocument } from '../../src/core/kube.ts';
import { describeTarget, kubeArgs, resolveKube } from '../../src/core/kubeconfig.ts';
import { AICR, NO_AICR, tempDir } from '../helpers/env.ts';
import { closedPort, createNamespace, deleteNamespace, grant, K8S, kubeOk, NO_K8S, putConfigMap, saToken, writeKubeconfig } from '../helpers/k8s.ts';
import { runShellStage } from '../helpers/stage.ts';

const SNAPSHOT = 'kind: Snapshot\napiVersion: aicr.nvidia.com/v1alpha1\nmetadata:\n  version: 0.11.1\nmeasurements:\n- type: OS\n  subtypes:\n  - subtype: release\n    data:\n      ID: ubuntu\n      VERSION_ID: "24.04"\n';

/** The real aicr reading `cm://` with exactly `env` (plus PATH) and `args`: `aicr recipe --snapshot cm://… --intent training`. */
function aicrReads(uri: string, env: Record<string, string>, args: string[] = []): { code: number; stderr: string } {
  const r = spawnSync(AICR!, ['recipe', '--snapshot', uri, '--intent', 'training', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
  return { code: r.status ?? -1, stderr: r.stderr.replace(/\u001b\[[0-9;]*m/g, '') };
}

describe('kubeconfig precedence with real kubeconfigs against the real API server', { skip: NO_K8S || NO_AICR }, () => {
  let ns = '';
  let uri = '';
  let dir = '';
  let good = '';
  let wrong = '';
  let wrongHome = '';
  let goodHome = '';
  let emptyHome = '';
  let wrongPort = 0;
  before(async () => {
    ns = await createNamespace('aicr-kc-');
    uri = `cm://${ns}/probe`;
    await putConfigMap(ns, 'probe', { 'snapshot.yaml': SNAPSHOT, format: 'yaml' });
    dir = tempDir('aicr-k8s-kc-');
    good = writeKubeconfig(path.join(dir, 'good', 'kubeconfig'), { context: 'the-right-one' });
    wrongPort = await closedPort();
    wrong = writeKubeconfig(path.join(dir, 'wrong', 'kubeconfig'), { cluster: 'wrong-cluster', context: 'wrong-context', server: `https://127.0.0.1:${wrongPort}` });
    wrongHome = path.join(dir, 'home-wrong');
    writeKubeconfig(path.join(wrongHome, '.kube', 'config'), { cluster: 'wrong-cluster', context: 'ambient-wrong', server: `https://127.0.0.1:${wrongPort}` });
    goodHome = path.join(dir, 'home-good');
    writeKubeconfig(path.join(goodHome, '.kube', 'config'), { context: 'from-home' });
    emptyHome = path.join(dir, 'home-empty');
    fs.mkdirSync(emptyHome);
  });
  after(async () => {
    await deleteNamespace(ns);
  });

  it('the input wins over KUBECONFIG and an ambient ~/.kube/config that point at the wrong cluster, for client-node and for aicr', async () => {
    const env = { KUBECONFIG: wrong, HOME: wrongHome };
    const t = (await resolveKube(good, env, tempDir()))!;
    assert.equal(t.source, 'input');
    assert.equal(t.server, K8S!.server);
    assert.equal(t.context, 'the-right-one');
    assert.equal(describeTarget(t), `cluster 'aicr-ci-test' at ${K8S!.server} (context 'the-right-one', user 'aicr-ci-admin'; from input: ${good})`);
    assert.equal((await readCmDocument(t, uri)).text, SNAPSHOT);
    // aicr with the ambient environment alone goes to the wrong cluster; with kubeArgs it reads ours.
    const ambient = aicrReads(uri, env);
    assert.notEqual(ambient.code, 0);
    assert.match(ambient.stderr, new RegExp(`127\\.0\\.0\\.1:${wrongPort}.*connection refused`));
    const k = kubeArgs(t);
    assert.deepEqual(k, { args: ['--kubeconfig', good], env: { KUBECONFIG: good } });
    assert.equal(aicrReads(uri, { ...env, ...k.env }, k.args).code, 0);
    // --kubeconfig alone is not enough for every aicr code path; KUBECONFIG alone is.
    assert.equal(aicrReads(uri, { ...env, ...k.env }).code, 0);

    // Through a stage: the recipe stage reads the cm:// snapshot with the input, logging the cluster it chose.
    const r = await runShellStage('recipe', { snapshot: uri, intent: 'training', kubeconfig: good, output: path.join(tempDir(), 'recipe.yaml'), 'aicr-path': AICR! }, env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.includes(`Kubernetes: cluster 'aicr-ci-test' at ${K8S!.server} (context 'the-right-one'`), r.stderr);
    assert.ok(r.stderr.includes(`$ KUBECONFIG=${good} `), 'KUBECONFIG is exported to aicr');
  });

  it('snapshot in local mode with the input: aicr\'s collectors query that cluster, not the ambient one', async () => {
    const r = await runShellStage('snapshot', { mode: 'local', kubeconfig: good, output: path.join(tempDir(), 's.yaml'), 'require-measurements': 'K8s.server', 'aicr-path': AICR! }, { KUBECONFIG: wrong, HOME: wrongHome });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.outputs['k8s-version'], K8S!.versions.kubernetes);
    assert.ok(r.stderr.includes(`$ KUBECONFIG=${good} AICR_AGENT_MODE=true `) || r.stderr.includes(`$ AICR_AGENT_MODE=true KUBECONFIG=${good} `), r.stderr);
  });

  it('inline kubeconfig content as the input', async () => {
    const t = (await resolveKube(fs.readFileSync(good, 'utf8'), { KUBECONFIG: wrong, HOME: wrongHome }, tempDir()))!;
    assert.equal(t.source, 'input');
    assert.equal(t.origin, 'inline content');
    assert.equal((fs.statSync(t.file).mode & 0o777).toString(8), '600');
    assert.equal((await readCmDocument(t, uri)).text, SNAPSHOT);
    assert.equal(aicrReads(uri, { HOME: wrongHome, ...kubeArgs(t).env }, kubeArgs(t).args).code, 0);
  });

  it('KUBECONFIG wins over in-cluster credentials and ~/.kube/config', async () => {
    const sa = path.join(tempDir(), 'sa');
    fs.mkdirSync(sa);
    fs.writeFileSync(path.join(sa, 'token'), 'not-used');
    const t = (await resolveKube(undefined, { KUBECONFIG: good, HOME: wrongHome, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(wrongPort) }, tempDir(), { saDir: sa }))!;
    assert.equal(t.source, 'KUBECONFIG');
    assert.equal(t.file, good);
    assert.equal((await readCmDocument(t, uri)).text, SNAPSHOT);
  });

  it('a KUBECONFIG list is merged as client-go merges it (first current-context and first definition win) into one file, which aicr needs', async () => {
    // File 1 names the context; file 2 (another directory) defines the cluster and user with paths relative to itself, plus a wrong current-context.
    const d1 = path.join(dir, 'list-1');
    const d2 = path.join(dir, 'list-2');
    fs.mkdirSync(d1, { recursive: true });
    fs.mkdirSync(d2, { recursive: true });
    fs.copyFileSync(K8S!.caFile, path.join(d2, 'ca.crt'));
    fs.copyFileSync(K8S!.clientCertFile, path.join(d2, 'admin.crt'));
    fs.copyFileSync(K8S!.clientKeyFile, path.join(d2, 'admin.key'));
    const f1 = path.join(d1, 'config');
    const f2 = path.join(d2, 'config');
    fs.writeFileSync(f1, 'apiVersion: v1\nkind: Config\ncurrent-context: merged\ncontexts:\n- name: merged\n  context: {cluster: real, user: admin}\n');
    fs.writeFileSync(
      f2,
      `apiVersion: v1\nkind: Config\ncurrent-context: wrong-context\nclusters:\n- name: real\n  cluster: {server: "${K8S!.server}", certificate-authority: ca.crt}\n- name: wrong\n  cluster: {server: "https://127.0.0.1:${wrongPort}"}\ncontexts:\n- name: merged\n  context: {cluster: wrong, user: admin}\n- name: wrong-context\n  context: {cluster: wrong, user: admin}\nusers:\n- name: admin\n  user: {client-certificate: admin.crt, client-key: admin.key}\n`,
    );
    const list = `${f1}${path.delimiter}/nonexistent/skipped${path.delimiter}${f2}`;
    const t = (await resolveKube(undefined, { KUBECONFIG: list, HOME: wrongHome }, tempDir()))!;
    assert.equal(t.source, 'KUBECONFIG');
    assert.equal(t.context, 'merged', 'the first file that sets current-context wins');
    assert.equal(t.cluster, 'real', 'the first definition of context "merged" wins');
    assert.equal(t.server, K8S!.server);
    assert.match(describeTarget(t), new RegExp(`from KUBECONFIG: ${list.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, as .*kubeconfig-merged\\.json\\)$`));
    assert.equal((await readCmDocument(t, uri)).text, SNAPSHOT, 'relative certificate paths were resolved against file 2');
    // aicr takes KUBECONFIG as one path: the list itself fails, the merged file works.
    const raw = aicrReads(uri, { KUBECONFIG: list, HOME: wrongHome });
    assert.notEqual(raw.code, 0);
    assert.match(raw.stderr, /no such file or directory|failed to build kube config/);
    assert.equal(aicrReads(uri, { HOME: wrongHome, ...kubeArgs(t).env }).code, 0);
  });

  it('KUBECONFIG naming no existing file is an error, never a fallback to ~/.kube/config', async () => {
    await assert.rejects(
      resolveKube(undefined, { KUBECONFIG: '/nonexistent/a:/nonexistent/b', HOME: goodHome }, tempDir()),
      /^InputError: input 'kubeconfig': not set, and KUBECONFIG='\/nonexistent\/a:\/nonexistent\/b' names no existing file; not falling back to in-cluster credentials or ~\/\.kube\/config \(that may be another cluster\)/,
    );
    const r = await runShellStage('snapshot', { mode: 'job', 'aicr-path': AICR! }, { KUBECONFIG: '/nonexistent/kubeconfig', HOME: goodHome });
    assert.equal(r.code, 2);
    assert.match(r.outputs.error, /KUBECONFIG='\/nonexistent\/kubeconfig' names no existing file/);
  });

  it('in-cluster credentials (a real ServiceAccount token) win over ~/.kube/config, for client-node and for aicr (which alone would prefer ~/.kube/config)', async () => {
    await kubeOk('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader' } });
    await grant(ns, 'reader', 'cm-reader', ['configmaps'], ['get']);
    const sa = path.join(tempDir(), 'serviceaccount');
    fs.mkdirSync(sa);
    fs.writeFileSync(path.join(sa, 'token'), await saToken(ns, 'reader'));
    fs.copyFileSync(K8S!.caFile, path.join(sa, 'ca.crt'));
    fs.writeFileSync(path.join(sa, 'namespace'), ns);
    const env = { HOME: wrongHome, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(K8S!.ports.apiserver) };
    const t = (await resolveKube(undefined, env, tempDir(), { saDir: sa }))!;
    assert.equal(t.source, 'in-cluster');
    assert.equal(t.server, K8S!.server);
    assert.equal(t.namespace, ns);
    assert.match(describeTarget(t), new RegExp(`^cluster 'in-cluster' at ${K8S!.server.replace(/\./g, '\\.')} \\(context 'in-cluster', user 'in-cluster', namespace '${ns}'; from in-cluster: ServiceAccount credentials in ${sa}, as .*kubeconfig-in-cluster\\.json\\)$`));
    assert.equal((await readCmDocument(t, uri)).text, SNAPSHOT, 'read as the ServiceAccount');
    const ambient = aicrReads(uri, env);
    assert.notEqual(ambient.code, 0, 'aicr on its own takes ~/.kube/config before in-cluster credentials');
    assert.match(ambient.stderr, new RegExp(`127\\.0\\.0\\.1:${wrongPort}`));
    assert.equal(aicrReads(uri, { ...env, ...kubeArgs(t).env }, kubeArgs(t).args).code, 0, 'with the generated kubeconfig (tokenFile) aicr reads as the ServiceAccount');
  });

  it('~/.kube/config when nothing else is configured', async () => {
    const t = (await resolveKube(undefined, { HOME: goodHome }, tempDir()))!;
    assert.equal(t.source, 'default');
    assert.equal(t.context, 'from-home');
    assert.equal((await readCmDocument(t, uri)).text, SNAPSHOT);
  });

  it('no configuration at all: undefined, and each stage that needs a cluster says so', async () => {
    assert.equal(await resolveKube(undefined, { HOME: emptyHome, KUBECONFIG: '' }, tempDir()), undefined);
    const env = { HOME: emptyHome, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' };
    const job = await runShellStage('snapshot', { mode: 'job', 'aicr-path': AICR! }, env);
    assert.equal(job.code, 2);
    assert.match(job.outputs.error, /input 'kubeconfig': job mode \(use mode local on a GPU runner without a cluster\) needs a cluster, and none is configured: set input kubeconfig or KUBECONFIG/);
    const current = path.join(dir, 'current.yaml');
    fs.writeFileSync(current, SNAPSHOT);
    const drift = await runShellStage('drift-check', { baseline: uri, snapshot: current, 'report-dir': path.join(tempDir(), 'r') }, env);
    assert.equal(drift.code, 2);
    assert.match(drift.outputs.error, new RegExp(`baseline ${uri}: no Kubernetes configuration found \\(set input kubeconfig or KUBECONFIG\\) to read the ConfigMap`));
    // The recipe stage hands cm:// to aicr, but says itself, before aicr runs, that there is no cluster.
    const recipe = await runShellStage('recipe', { snapshot: uri, intent: 'training', output: path.join(tempDir(), 'r.yaml'), 'aicr-path': '/nonexistent/aicr' }, env);
    assert.equal(recipe.code, 2);
    assert.match(recipe.outputs.error, new RegExp(`input 'kubeconfig': reading ${uri} needs a cluster, and none is configured`));
    assert.doesNotMatch(`${job.stderr}${drift.stderr}${recipe.stderr}`, /localhost:8080/);
  });

  it('a kubeconfig that names no usable context is refused with the reason, before any request', async () => {
    const noCurrent = path.join(dir, 'no-current.yaml');
    fs.writeFileSync(noCurrent, 'apiVersion: v1\nkind: Config\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n');
    await assert.rejects(resolveKube(noCurrent, {}, tempDir()), new RegExp(`input 'kubeconfig': kubeconfig ${noCurrent} has no current-context \\(contexts: a\\); refusing to guess a cluster`));
    const noCluster = path.join(dir, 'no-cluster.yaml');
    fs.writeFileSync(noCluster, 'apiVersion: v1\nkind: Config\ncurrent-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n');
    await assert.rejects(resolveKube(noCluster, {}, tempDir()), /context 'a' names cluster 'c', which is not defined/);
    const noServer = path.join(dir, 'no-server.yaml');
    fs.writeFileSync(noServer, 'apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: c\n  cluster: {}\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n');
    await assert.rejects(resolveKube(undefined, { KUBECONFIG: noServer }, tempDir()), /cluster 'c' \(context 'a'\) has no server/);
    await assert.rejects(resolveKube('/nonexistent/kubeconfig', {}, tempDir()), /input 'kubeconfig': file '\/nonexistent\/kubeconfig' does not exist/);
    const empty = path.join(dir, 'empty.yaml');
    fs.writeFileSync(empty, '');
    await assert.rejects(resolveKube(undefined, { HOME: path.dirname(empty), KUBECONFIG: empty }, tempDir()), new RegExp(`kubeconfig ${empty} \\(from KUBECONFIG\\) has no current-context and no contexts; refusing to guess a cluster`));
  });
});
