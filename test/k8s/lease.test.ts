/**
 * src/core/lease.ts against the real API server (coordination.k8s.io/v1
 * Leases, optimistic concurrency, real RBAC). Each test uses its own Lease,
 * never the snapshot stage's.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveKube, type KubeTarget } from '../../src/core/kubeconfig.ts';
import { acquireLease, parseGoDuration, withLease } from '../../src/core/lease.ts';
import { tempDir } from '../helpers/env.ts';
import { closedPort, createNamespace, deleteNamespace, K8S, kubeApi, NO_K8S, saKubeconfig, uniqueName, writeKubeconfig } from '../helpers/k8s.ts';

type LeaseBody = { spec: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string; acquireTime?: string; leaseTransitions?: number } };

describe('parseGoDuration', () => {
  it('reads Go durations and refuses the rest', () => {
    assert.equal(parseGoDuration('15m'), 900_000);
    assert.equal(parseGoDuration('1h30m'), 5_400_000);
    assert.equal(parseGoDuration('0s'), 0);
    assert.equal(parseGoDuration('1.5s'), 1500);
    assert.throws(() => parseGoDuration('15'), /'15' is not a duration/);
    assert.throws(() => parseGoDuration('5m junk'), /is not a duration/);
  });
});

describe('Lease lock against the real API server', { skip: NO_K8S }, () => {
  let ns = '';
  let admin: KubeTarget;
  before(async () => {
    ns = await createNamespace('aicr-lease-');
    admin = (await resolveKube(K8S!.kubeconfig, {}, tempDir()))!;
  });
  after(async () => {
    await deleteNamespace(ns);
  });
  const lease = async (name: string) => kubeApi<LeaseBody>('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`);

  it('one holder at a time: a second waiter logs who holds it, and gets it when the first releases', async () => {
    const name = uniqueName('lock');
    const first = await acquireLease(admin, { namespace: ns, name, holder: 'run-1', timeoutMs: 5000 });
    const l = await lease(name);
    assert.equal(l.status, 200);
    assert.equal(l.body.spec.holderIdentity, 'run-1');
    assert.equal(l.body.spec.leaseDurationSeconds, 60);
    assert.match(l.body.spec.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime as the server stores it');
    const lines: string[] = [];
    const secondP = acquireLease(admin, { namespace: ns, name, holder: 'run-2', timeoutMs: 10_000, backoffMs: { initial: 100, max: 300 }, info: (m) => lines.push(m) });
    await new Promise((r) => setTimeout(r, 700));
    assert.match(lines[0] ?? '', new RegExp(`^waiting for the snapshot lock \\(Lease ${ns}/${name}\\): held by 'run-1' since \\d{4}-.*Z; another aicr agent Job runs on this cluster; waited \\d+s of 10s$`));
    assert.equal(lines.length, 1, 'one line per holder, not one per attempt');
    await first.release();
    const second = await secondP;
    assert.ok(second.waitedMs >= 600, `waited ${second.waitedMs} ms`);
    assert.equal((await lease(name)).body.spec.holderIdentity, 'run-2');
    assert.equal((await lease(name)).body.spec.leaseTransitions, 0, 'a fresh Lease after release');
    assert.match(lines.at(-1)!, /^took the snapshot lock .* as 'run-2'/);
    await second.release();
    assert.equal((await lease(name)).status, 404, 'release deletes the Lease');
  });

  it('racing waiters: exactly one holds it at any time', async () => {
    const name = uniqueName('race');
    const spans: [number, number][] = [];
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        withLease(admin, { namespace: ns, name, holder: `racer-${i}`, timeoutMs: 30_000, backoffMs: { initial: 50, max: 200 } }, async () => {
          const start = performance.now();
          await new Promise((r) => setTimeout(r, 150));
          spans.push([start, performance.now()]);
        }),
      ),
    );
    spans.sort((a, b) => a[0] - b[0]);
    assert.equal(spans.length, 5);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i][0] >= spans[i - 1][1], `holder ${i} started before holder ${i - 1} ended`);
  });

  it('a holder that stops renewing is taken over after the Lease duration, by the waiter\'s own clock', async () => {
    const name = uniqueName('stale');
    const dead = await acquireLease(admin, { namespace: ns, name, holder: 'crashed-run', timeoutMs: 5000, ttlSeconds: 2, renewMs: 3_600_000 });
    const warnings: string[] = [];
    const t0 = performance.now();
    const next = await acquireLease(admin, { namespace: ns, name, holder: 'next-run', timeoutMs: 15_000, ttlSeconds: 2, backoffMs: { initial: 200, max: 500 }, warn: (m) => warnings.push(m) });
    const waited = performance.now() - t0;
    assert.ok(waited >= 2000 && waited < 6000, `took over after ${Math.round(waited)} ms`);
    assert.match(warnings.join('\n'), /holder 'crashed-run' has not renewed it for 2s; taking it over/);
    const l = await lease(name);
    assert.equal(l.body.spec.holderIdentity, 'next-run');
    assert.equal(l.body.spec.leaseTransitions, 1);
    await dead.release(); // not the holder any more: must not delete next-run's Lease
    assert.equal((await lease(name)).body.spec.holderIdentity, 'next-run');
    await next.release();
  });

  it('renewals keep a Lease held past its duration', async () => {
    const name = uniqueName('renew');
    const held = await acquireLease(admin, { namespace: ns, name, holder: 'long-run', timeoutMs: 5000, ttlSeconds: 2, renewMs: 400 });
    const before = (await lease(name)).body.spec.renewTime;
    await assert.rejects(
      acquireLease(admin, { namespace: ns, name, holder: 'impatient', timeoutMs: 3500, ttlSeconds: 2, backoffMs: { initial: 200, max: 400 } }),
      (err: Error) => {
        assert.match(err.message, new RegExp(`^timed out after \\ds waiting for the snapshot lock \\(Lease ${ns}/${name}\\): held by 'long-run' \\(renewed .*, duration 2s\\)\\. Another snapshot run on this cluster still holds it; raise lock-timeout`));
        return true;
      },
    );
    assert.notEqual((await lease(name)).body.spec.renewTime, before, 'renewTime moved');
    assert.equal(held.lost(), false);
    await held.release();
  });

  it('a ServiceAccount without rights gets a clear error naming the rights needed (real RBAC, 403)', async () => {
    const target = (await resolveKube(saKubeconfig(ns, 'no-rights'), {}, tempDir()))!;
    await assert.rejects(acquireLease(target, { namespace: ns, name: uniqueName('rbac'), holder: 'x', timeoutMs: 5000 }), (err: Error) => {
      assert.match(
        err.message,
        new RegExp(`^cannot read Lease ${ns}/rbac-[0-9a-f]+: forbidden: the credentials lack RBAC permission \\(leases.coordination.k8s.io "rbac-[0-9a-f]+" is forbidden: User "system:serviceaccount:${ns}:no-rights" cannot get resource "leases".*\\); the snapshot lock needs get, create, update and delete on leases.coordination.k8s.io in namespace '${ns}' \\(or set lock-timeout to 0s to run without it\\)$`),
      );
      return true;
    });
  });

  it('an unreachable API server fails after a few attempts, naming the server, instead of waiting out the timeout', async () => {
    const port = await closedPort();
    const gone = (await resolveKube(writeKubeconfig(path.join(tempDir(), 'kubeconfig'), { server: `https://127.0.0.1:${port}` }), {}, tempDir()))!;
    const t0 = performance.now();
    await assert.rejects(
      acquireLease(gone, { namespace: ns, name: 'x', holder: 'x', timeoutMs: 600_000, backoffMs: { initial: 100, max: 200 } }),
      new RegExp(`^StageError: cannot read Lease ${ns}/x: cannot reach the API server at https://127\\.0\\.0\\.1:${port}: fetch failed: ECONNREFUSED .* \\(4 attempts\\)$`),
    );
    assert.ok(performance.now() - t0 < 5000);
  });

  it('a missing namespace is named', async () => {
    await assert.rejects(acquireLease(admin, { namespace: 'no-such-ns-for-leases', name: 'x', holder: 'x', timeoutMs: 5000 }), /^StageError: cannot take the snapshot lock \(Lease no-such-ns-for-leases\/x\): namespace 'no-such-ns-for-leases' does not exist$/);
  });
});
