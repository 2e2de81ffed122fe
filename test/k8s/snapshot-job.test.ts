/**
 * The snapshot stage in Job mode against the real API server, with the test
 * playing the GPU node (test/helpers/k8s-node.ts): real `aicr snapshot` creates
 * its RBAC and agent Job; the test binds the Job's pod to a fake Node, runs the
 * pod's own command (`AICR_AGENT_MODE=true aicr snapshot -o cm://…`) on this
 * machine with the pod's ServiceAccount token, serves its log to aicr through
 * the API server, and marks the pod Succeeded; aicr's own wait sees the Job
 * complete and the stage publishes the snapshot.
 *
 * Then parallel runs: first the collision with aicr alone (why the stage
 * serialises), then two stage runs at once through the Lease.
 *
 * All Job-mode runs live in this one file (run in order), and each holds the
 * cluster lock, so no other test's aicr agent runs meet them on the cluster.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { resolveKube } from '../../src/core/kubeconfig.ts';
import { acquireLease, type HeldLease } from '../../src/core/lease.ts';
import { AGENT_LOCK as SNAPSHOT_LOCK } from '../../src/stages/agent-lock.ts';
import { AICR, NO_AICR, tempDir } from '../helpers/env.ts';
import { createNamespace, deleteNamespace, getConfigMap, K8S, kubeApi, NO_K8S, waitFor } from '../helpers/k8s.ts';
import { NodePlayer, type PodObj } from '../helpers/k8s-node.ts';
import { runShellStage, type StageRun } from '../helpers/stage.ts';

type Snap = { metadata: Record<string, string>; measurements: { type: string; subtypes?: { subtype: string; data: Record<string, unknown> }[] }[] };
const readingOf = (doc: Snap, type: string, subtype: string, key: string): unknown =>
  doc.measurements.find((m) => m.type === type)?.subtypes?.find((s) => s.subtype === subtype)?.data?.[key];

const SKIP = NO_K8S || NO_AICR;

/** The stage released its lock: the Lease is gone, or (another process's run on this cluster) held by someone else. */
async function assertLockNotHeldBy(fragment: string): Promise<void> {
  const l = await kubeApi<{ spec?: { holderIdentity?: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${SNAPSHOT_LOCK.namespace}/leases/${SNAPSHOT_LOCK.name}`);
  if (l.status === 404) return;
  assert.equal(l.status, 200);
  assert.ok(!(l.body.spec?.holderIdentity ?? '').includes(fragment), `the lock is still held by this run: ${l.body.spec?.holderIdentity}`);
}

/** Leftover aicr agent RBAC of a namespace and the cluster. */
async function agentRbac(ns: string, sa = 'aicr'): Promise<string[]> {
  const left: string[] = [];
  for (const [kind, p] of [
    ['ServiceAccount', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}`],
    ['Role', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/${sa}`],
    ['RoleBinding', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/${sa}`],
    ['ClusterRole', '/apis/rbac.authorization.k8s.io/v1/clusterroles/aicr-node-reader'],
    ['ClusterRoleBinding', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/aicr-node-reader'],
  ]) {
    if ((await kubeApi('GET', p)).status === 200) left.push(kind);
  }
  return left;
}

describe('snapshot stage, Job mode, against the real API server (the test plays the GPU node)', { skip: SKIP }, () => {
  const namespaces: string[] = [];
  let kubeconfig = '';
  before(() => {
    kubeconfig = K8S!.kubeconfig;
  });
  after(async () => {
    for (const ns of namespaces) await deleteNamespace(ns);
  });

  it('publishes a snapshot whose OS readings are this machine\'s, captured by aicr\'s own agent Job', async () => {
    const ns = await createNamespace('aicr-snap-');
    namespaces.push(ns);
    const player = await new NodePlayer(AICR!).start();
    const node = `gpu-node-${ns.slice(-8)}`;
    player.watch(ns, () => node);
    const dir = tempDir('aicr-k8s-snap-');
    const started = performance.now();
    let r;
    try {
      r = await runShellStage('snapshot', {
        mode: 'job',
        namespace: ns,
        kubeconfig,
        output: path.join(dir, 'snapshot.yaml'),
        'node-selector': 'nvidia.com/gpu.present=true',
        timeout: '2m',
        configmap: `cm://${ns}/published`,
        'require-measurements': 'OS.sysctl\nK8s.node',
        'aicr-path': AICR!,
      });
    } finally {
      await player.stop();
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    assert.equal(r.code, 0, r.stderr);
    process.stderr.write(`# Job-mode snapshot through the stage: ${seconds} s\n`);

    // The pod aicr created, and what the test ran for it, are the Job spec's.
    assert.equal(player.played.size, 1, 'one agent pod');
    const pod = [...player.played.values()][0];
    assert.match(pod.job, /^aicr-[0-9a-f]{8}$/, 'the stage gave the Job a unique name');
    assert.deepEqual(pod.argv.slice(1), ['snapshot', '-o', `cm://${ns}/${pod.job}`], 'aicr\'s Job runs `aicr snapshot -o cm://<ns>/<job>`');
    assert.equal(pod.env.AICR_AGENT_MODE, 'true');
    assert.equal(pod.env.NODE_NAME, node, 'NODE_NAME comes from spec.nodeName');
    assert.equal(pod.exitCode, 0, pod.log);

    // The published snapshot is this machine's, collected by the agent.
    const text = fs.readFileSync(r.outputs['snapshot-path'], 'utf8');
    const doc = parse(text) as Snap;
    assert.equal(readingOf(doc, 'OS', 'sysctl', '/proc/sys/kernel/osrelease'), os.release(), 'kernel reading is this machine\'s');
    assert.equal(readingOf(doc, 'OS', 'sysctl', '/proc/sys/kernel/hostname'), fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim());
    assert.equal(doc.metadata['source-node'], node);
    assert.equal(readingOf(doc, 'K8s', 'node', 'source-node'), node, 'the agent read its own Node through its ServiceAccount');
    assert.equal(readingOf(doc, 'K8s', 'node', 'kernel-version'), os.release());
    assert.equal(readingOf(doc, 'K8s', 'server', 'version'), K8S!.versions.kubernetes);
    assert.equal(r.outputs['k8s-version'], K8S!.versions.kubernetes);

    // aicr streamed the agent's log (API server → fake kubelet) into the stage log.
    assert.ok(player.logRequests.some((q) => q.pod === pod.pod && q.follow), 'aicr asked for the pod log with follow=true');
    assert.match(r.stderr, new RegExp(`\\[agent\\] applying ConfigMap: namespace=${ns} name=${pod.job}`));
    assert.match(r.stderr, /took the snapshot lock \(Lease default\/aicr-ci-snapshot\)/);
    assert.match(r.stderr, new RegExp(`Kubernetes: cluster 'aicr-ci-test' at ${K8S!.server.replace(/[.]/g, '\\.')} \\(context 'aicr-ci-test'`));

    // Published to the ConfigMap in aicr's layout; the run's own ConfigMap, the Job, the RBAC and the lock are gone.
    const published = await getConfigMap(ns, 'published');
    assert.equal(published?.data?.['snapshot.yaml'], text);
    assert.equal(published?.metadata.labels?.['app.kubernetes.io/version'], doc.metadata.version);
    assert.equal(await getConfigMap(ns, pod.job), undefined, 'the run\'s ConfigMap is deleted');
    assert.equal((await kubeApi('GET', `/apis/batch/v1/namespaces/${ns}/jobs/${pod.job}`)).status, 404, 'aicr deleted its Job');
    assert.deepEqual(await agentRbac(ns), [], 'aicr deleted its RBAC');
    await assertLockNotHeldBy(pod.job);
  });

  it('fails clearly when the agent fails, publishes nothing, and frees the lock', async () => {
    const ns = await createNamespace('aicr-snapfail-');
    namespaces.push(ns);
    const player = await new NodePlayer(AICR!).start();
    player.watch(ns, () => `gpu-node-${ns.slice(-8)}`, () => ({ exitCode: 3, message: '[agent] simulated crash: no GPU was detected' }));
    const dir = tempDir('aicr-k8s-snapfail-');
    let r;
    try {
      r = await runShellStage('snapshot', { mode: 'job', namespace: ns, kubeconfig, output: path.join(dir, 'snapshot.yaml'), timeout: '1m', 'aicr-path': AICR! });
    } finally {
      await player.stop();
    }
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.outputs.error ?? r.stderr, /aicr snapshot .*exited 8: .*job failed/s);
    assert.match(r.stderr, /--- agent logs ---\n.*simulated crash: no GPU was detected/s, 'aicr dumps the failed agent\'s log');
    assert.deepEqual(fs.readdirSync(dir), [], 'no snapshot file');
    await assertLockNotHeldBy(`${ns}/`);
  });
});

/** Start `aicr snapshot` in Job mode as a child process; resolves with its exit code and stderr. */
function aicrSnapshot(ns: string, job: string, kubeconfig: string): { done: Promise<{ code: number; stderr: string }> } {
  const child = spawn(AICR!, ['snapshot', '--namespace', ns, '--job-name', job, '--output', `cm://${ns}/${job}`, '--timeout', '1m', '--kubeconfig', kubeconfig], {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString().replace(/\u001b\[[0-9;]*m/g, '')));
  return { done: new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stderr }))) };
}

/** What the API server's authorizer answers now for ServiceAccount `ns/sa` (RBAC changes reach it through an informer, a few ms late). */
async function allowed(ns: string, sa: string, verb: string, resource: string, namespace?: string): Promise<boolean> {
  const r = await kubeApi<{ status: { allowed: boolean } }>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: `system:serviceaccount:${ns}:${sa}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
      resourceAttributes: { verb, resource, ...(namespace ? { namespace } : {}) },
    },
  });
  return r.body.status.allowed;
}

async function podOf(player: NodePlayer, ns: string, job: string): Promise<PodObj> {
  return waitFor(`the pod of Job ${job}`, async () => (await player.pods(ns)).find((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === job), 20_000);
}

describe('parallel Job-mode snapshots on one cluster (a CI matrix)', { skip: SKIP }, () => {
  const namespaces: string[] = [];
  let lock: HeldLease | undefined;
  after(async () => {
    await lock?.release();
    for (const ns of namespaces) await deleteNamespace(ns);
  });

  // The two collision tests run aicr alone, without the stage's lock; they
  // hold the lock themselves so no stage run elsewhere meets them.
  const holdLock = async (): Promise<void> => {
    const target = (await resolveKube(K8S!.kubeconfig, {}, tempDir()))!;
    lock = await acquireLease(target, { ...SNAPSHOT_LOCK, holder: `test ${process.pid}: aicr without the lock`, timeoutMs: 300_000 });
  };
  const releaseLock = async (): Promise<void> => {
    await lock?.release();
    lock = undefined;
  };

  it('without the lock, aicr alone: a second run in the same namespace streams the first run\'s pod and is refused once the first run\'s cleanup deletes the shared RBAC', async () => {
    await holdLock();
    const ns = await createNamespace('aicr-collide-');
    namespaces.push(ns);
    const player = await new NodePlayer(AICR!).start();
    try {
      const a = aicrSnapshot(ns, 'aicr-run-a', K8S!.kubeconfig);
      const podA = await player.startPod(await podOf(player, ns, 'aicr-run-a'), 'gpu-node-a');
      const b = aicrSnapshot(ns, 'aicr-run-b', K8S!.kubeconfig);
      const podB = await player.startPod(await podOf(player, ns, 'aicr-run-b'), 'gpu-node-b');
      // Both aicr processes look for "their" pod by the shared label and take the first: run A's.
      await waitFor('both runs to follow a pod log', () => player.logRequests.filter((q) => q.follow).length >= 2 || undefined, 15_000);
      assert.deepEqual(
        player.logRequests.filter((q) => q.follow).map((q) => q.pod),
        [podA.pod, podA.pod],
        'run B streams run A\'s pod, never its own',
      );
      // Run A's agent works; run A completes and its cleanup deletes the RBAC both runs share.
      assert.equal(await player.runAgent(podA), 0, podA.log);
      await player.finishPod(podA, 0);
      const resA = await a.done;
      assert.equal(resA.code, 0, resA.stderr);
      assert.deepEqual(await agentRbac(ns), [], 'run A\'s cleanup deleted ServiceAccount, Role, RoleBinding, ClusterRole and ClusterRoleBinding while run B still runs');
      // Run B's agent now has no rights: it cannot write its ConfigMap.
      await waitFor('the authorizer to see the deleted Role', async () => !(await allowed(ns, 'aicr', 'patch', 'configmaps', ns)) || undefined, 10_000);
      const codeB = await player.runAgent(podB);
      await player.finishPod(podB, codeB);
      const resB = await b.done;
      assert.notEqual(codeB, 0, 'run B\'s agent fails');
      assert.match(podB.log, /forbidden|Unauthorized/i);
      assert.equal(resB.code, 8, resB.stderr);
      assert.match(resB.stderr, /job failed/);
      assert.match(resB.stderr, new RegExp(`\\[agent\\] applying ConfigMap: namespace=${ns} name=aicr-run-a`), 'run B\'s log shows run A\'s agent');
      assert.equal(await getConfigMap(ns, 'aicr-run-b'), undefined, 'run B has no snapshot');
    } finally {
      await player.stop();
      await releaseLock();
    }
  });

  it('without the lock, aicr alone: in two namespaces the shared ClusterRoleBinding follows the last run, and the first run\'s snapshot silently lacks its node readings', async () => {
    await holdLock();
    const nsA = await createNamespace('aicr-collide-a-');
    const nsB = await createNamespace('aicr-collide-b-');
    namespaces.push(nsA, nsB);
    const player = await new NodePlayer(AICR!).start();
    try {
      const a = aicrSnapshot(nsA, 'aicr-run-a', K8S!.kubeconfig);
      const podA = await player.startPod(await podOf(player, nsA, 'aicr-run-a'), 'gpu-node-a');
      const b = aicrSnapshot(nsB, 'aicr-run-b', K8S!.kubeconfig);
      const podB = await player.startPod(await podOf(player, nsB, 'aicr-run-b'), 'gpu-node-b');
      const crb = await kubeApi<{ subjects: { namespace: string; name: string }[] }>('GET', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/aicr-node-reader');
      assert.deepEqual(crb.body.subjects.map((x) => `${x.namespace}/${x.name}`), [`${nsB}/aicr`], 'one subject: the last run\'s ServiceAccount');
      await waitFor('the authorizer to see the rebound ClusterRoleBinding', async () => !(await allowed(nsA, 'aicr', 'get', 'nodes')) || undefined, 10_000);
      assert.equal(await player.runAgent(podA), 0, podA.log);
      await player.finishPod(podA, 0);
      const resA = await a.done;
      assert.equal(resA.code, 0, 'run A "succeeds"');
      assert.match(podA.log, /failed to get node "gpu-node-a".*forbidden/);
      const docA = parse((await getConfigMap(nsA, 'aicr-run-a'))!.data!['snapshot.yaml']) as Snap;
      assert.equal(readingOf(docA, 'K8s', 'node', 'source-node'), undefined, 'run A\'s snapshot has no node reading');
      assert.equal(docA.measurements.some((m) => m.type === 'NodeTopology'), false, 'run A\'s snapshot has no NodeTopology');
      await waitFor('the authorizer to see the deleted ClusterRoleBinding', async () => !(await allowed(nsB, 'aicr', 'get', 'nodes')) || undefined, 10_000);
      assert.equal(await player.runAgent(podB), 0, podB.log);
      await player.finishPod(podB, 0);
      assert.equal((await b.done).code, 0);
      const docB = parse((await getConfigMap(nsB, 'aicr-run-b'))!.data!['snapshot.yaml']) as Snap;
      assert.equal(readingOf(docB, 'K8s', 'node', 'source-node'), undefined, 'run A\'s cleanup deleted the ClusterRole: run B lost its node reading too');
    } finally {
      await player.stop();
      await releaseLock();
    }
  });

  it('through the stage, two runs at once in one namespace take turns on the Lease and each publishes its own node\'s data', async () => {
    const ns = await createNamespace('aicr-matrix-');
    namespaces.push(ns);
    const player = await new NodePlayer(AICR!).start();
    const suffix = ns.slice(-8);
    const jobs = { a: `matrix-a-${suffix}`, b: `matrix-b-${suffix}` };
    const nodeOf = (job: string): string => (job === jobs.a ? 'gpu-node-matrix-a' : 'gpu-node-matrix-b');
    player.watch(ns, (pod) => nodeOf(pod.metadata.labels?.['batch.kubernetes.io/job-name'] ?? ''));
    const dir = tempDir('aicr-k8s-matrix-');
    const run = (job: string) =>
      runShellStage('snapshot', {
        mode: 'job',
        namespace: ns,
        kubeconfig: K8S!.kubeconfig,
        'job-name': job,
        cluster: job,
        output: path.join(dir, job, 'snapshot.yaml'),
        timeout: '1m',
        'lock-timeout': '2m',
        'require-measurements': 'K8s.node\nNodeTopology',
        'aicr-path': AICR!,
      });
    const started = performance.now();
    let results: StageRun[];
    try {
      results = await Promise.all([run(jobs.a), run(jobs.b)]);
    } finally {
      await player.stop();
    }
    process.stderr.write(`# two parallel Job-mode snapshots through the stage: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    for (const [i, job] of [jobs.a, jobs.b].entries()) {
      const r = results[i];
      assert.equal(r.code, 0, r.stderr);
      const doc = parse(fs.readFileSync(r.outputs['snapshot-path'], 'utf8')) as Snap;
      assert.equal(doc.metadata['source-node'], nodeOf(job), `${job}: its own node`);
      assert.equal(readingOf(doc, 'K8s', 'node', 'source-node'), nodeOf(job));
      assert.equal(readingOf(doc, 'K8s', 'node', 'provider-id'), `aicr-ci-test://${nodeOf(job)}`);
      assert.equal(readingOf(doc, 'OS', 'sysctl', '/proc/sys/kernel/osrelease'), os.release());
      assert.equal(JSON.parse(fs.readFileSync(r.outputs['metadata-path'], 'utf8')).sourceNode, nodeOf(job));
    }
    const pods = [...player.played.values()].sort((x, y) => x.seenAt - y.seenAt);
    assert.equal(pods.length, 2);
    assert.ok(pods[1].seenAt > pods[0].finishedAt!, 'the second agent pod appeared only after the first had finished');
    // One run waited for the other and said so (naming it); with another process's runs on the cluster both may wait for those first.
    const waitedFor = (r: StageRun, other: string): boolean => new RegExp(`waiting for the snapshot lock \\(Lease default/aicr-ci-snapshot\\): held by '${ns}/${other} on `).test(r.stderr);
    assert.ok(waitedFor(results[0], jobs.b) || waitedFor(results[1], jobs.a), 'a run waited for the other, and said for whom');
    assert.ok(!(waitedFor(results[0], jobs.b) && waitedFor(results[1], jobs.a)), 'not both for each other');
    assert.deepEqual(await agentRbac(ns), []);
  });
});
