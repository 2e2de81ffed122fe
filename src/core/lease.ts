/**
 * A cluster-wide mutual-exclusion lock on a `coordination.k8s.io/v1` Lease,
 * through `@kubernetes/client-node` (loaded lazily).
 *
 * Used by the snapshot stage to serialise aicr agent Jobs on one cluster:
 * aicr v0.11.1 gives every agent run the same ServiceAccount/Role/RoleBinding
 * names (`--service-account-name`, default `aicr`), one ClusterRole and
 * ClusterRoleBinding `aicr-node-reader` whose single subject is the last run's
 * ServiceAccount, deletes all of them when a run finishes, and finds "its" pod
 * by the shared label `app.kubernetes.io/name=aicr` (`pkg/k8s/agent/rbac.go`,
 * `deployer.go` Cleanup, `wait.go` findPodName). Two runs at once therefore
 * break each other; one at a time does not.
 *
 * Protocol, as client-go's leader election (`tools/leaderelection`):
 * the holder writes `holderIdentity`, `leaseDurationSeconds` and `renewTime`
 * and renews every third of the duration. A waiter takes the Lease over when
 * it is released (no holder) or when its `resourceVersion` has not changed for
 * a whole duration by the waiter's own clock (so clocks need not agree). Every
 * write is a create or an optimistic-concurrency replace (resourceVersion), so
 * exactly one of several racing waiters wins. Release deletes the Lease with a
 * resourceVersion precondition.
 */
import { StageError } from './errors.ts';
import { apiCode, apiErrorMessage, loadKubeConfig } from './kube.ts';
import type { KubeTarget } from './kubeconfig.ts';

/** Options of {@link acquireLease}. */
export interface LeaseOptions {
  namespace: string;
  name: string;
  /** Unique identity of this holder (shown to waiters, so make it say who: run, job, host). */
  holder: string;
  /** How long to wait for the Lease before giving up, in ms. */
  timeoutMs: number;
  /** `leaseDurationSeconds`: a holder silent this long is considered gone (default 60). */
  ttlSeconds?: number;
  /** Renewal period in ms (default a third of the TTL). */
  renewMs?: number;
  /** First and longest pause between attempts, in ms (default 500 and 5000; doubled each time, with jitter). */
  backoffMs?: { initial: number; max: number };
  /** Progress lines (waiting, acquired, released). */
  info?: (message: string) => void;
  /** Problems that do not stop the run (a failed renewal, a lost Lease). */
  warn?: (message: string) => void;
}

/** A Lease this process holds. */
export interface HeldLease {
  readonly namespace: string;
  readonly name: string;
  readonly holder: string;
  /** How long acquiring waited, in ms. */
  readonly waitedMs: number;
  /** True once a renewal found another holder (the Lease expired under us). */
  lost(): boolean;
  /** Stop renewing and delete the Lease if still ours. Never throws (the TTL frees it anyway). */
  release(): Promise<void>;
}

type LeaseObj = import('@kubernetes/client-node').V1Lease;

/** RFC 3339 with microseconds, as the API server's MicroTime wants it. */
function microTime(d = new Date()): Date {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Consecutive failures to reach the API server (or 5xx/429) before acquiring gives up. */
const MAX_TRANSIENT = 4;

/** Go-style duration (`90s`, `15m`, `1h30m`, `0s`) in ms. */
export function parseGoDuration(text: string): number {
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let seen = '';
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]];
    seen += m[0];
  }
  if (!text || seen !== text) throw new StageError(`'${text}' is not a duration such as 90s, 15m or 1h30m`);
  return total;
}

function secondsText(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)}m` : `${Math.round(ms / 1000)}s`;
}

/**
 * Take the Lease `namespace/name`, waiting (with backoff) while another holder
 * has it, and keep renewing it until released.
 *
 * @returns the held Lease; call `release()` in a `finally`.
 * @throws StageError when the wait exceeds `timeoutMs` (naming the holder and
 *   how to clear a stale Lease), when RBAC forbids reading or writing Leases
 *   (naming the rights needed), when the namespace does not exist, when the
 *   credentials are rejected, or when the server cannot be reached (or answers
 *   5xx/429) on 4 attempts in a row (about 4 s with the default backoff).
 */
export async function acquireLease(t: KubeTarget, o: LeaseOptions): Promise<HeldLease> {
  const { k8s, kc } = await loadKubeConfig(t);
  const api = kc.makeApiClient(k8s.CoordinationV1Api);
  const ttl = o.ttlSeconds ?? 60;
  const backoff = o.backoffMs ?? { initial: 500, max: 5000 };
  const ref = `Lease ${o.namespace}/${o.name}`;
  const started = performance.now();
  let transient = 0;
  const fatal = (err: unknown, what: string): StageError | undefined => {
    const code = apiCode(err);
    if (code === 403) {
      return new StageError(
        `${apiErrorMessage(err, what, t.server)}; the snapshot lock needs get, create, update and delete on leases.coordination.k8s.io in namespace '${o.namespace}' (or set lock-timeout to 0s to run without it)`,
        { cause: err },
      );
    }
    if (code === 401 || code === 422 || code === 400) return new StageError(apiErrorMessage(err, what, t.server), { cause: err });
    // Unreachable server, 5xx, 429: retried a few times, then fatal (a CI step should not sit out lock-timeout on a dead cluster).
    if (++transient >= MAX_TRANSIENT) return new StageError(`${apiErrorMessage(err, what, t.server)} (${transient} attempts)`, { cause: err });
    return undefined;
  };
  const spec = (transitions: number, acquired: boolean, prev?: LeaseObj['spec']) => ({
    holderIdentity: o.holder,
    leaseDurationSeconds: ttl,
    acquireTime: acquired ? microTime() : prev?.acquireTime,
    renewTime: microTime(),
    leaseTransitions: transitions,
  });

  let delay = backoff.initial;
  let observed: { rv: string; at: number } | undefined;
  let lastHolder = '';
  let lastLog = 0;
  let lastProblem = '';
  for (;;) {
    let got: LeaseObj | undefined;
    try {
      got = await api.readNamespacedLease({ name: o.name, namespace: o.namespace });
    } catch (err) {
      if (apiCode(err) === 404) {
        try {
          await api.createNamespacedLease({
            namespace: o.namespace,
            body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: o.name, namespace: o.namespace, labels: { 'app.kubernetes.io/managed-by': 'aicr-ci' } }, spec: spec(0, true) },
          });
          break;
        } catch (cerr) {
          if (apiCode(cerr) === 404) throw new StageError(`cannot take the snapshot lock (${ref}): namespace '${o.namespace}' does not exist`);
          if (apiCode(cerr) === 409) continue; // another waiter created it first
          const f = fatal(cerr, `cannot create ${ref}`);
          if (f) throw f;
          lastProblem = apiErrorMessage(cerr, `cannot create ${ref}`, t.server);
        }
      } else {
        const f = fatal(err, `cannot read ${ref}`);
        if (f) throw f;
        lastProblem = apiErrorMessage(err, `cannot read ${ref}`, t.server);
      }
    }
    if (got) {
      transient = 0;
      const holder = got.spec?.holderIdentity ?? '';
      const rv = got.metadata?.resourceVersion ?? '';
      const now = performance.now();
      if (!observed || observed.rv !== rv) observed = { rv, at: now };
      const leaseTtl = (got.spec?.leaseDurationSeconds ?? ttl) * 1000;
      const expired = now - observed.at >= leaseTtl;
      if (!holder || holder === o.holder || expired) {
        if (expired && holder && holder !== o.holder) o.warn?.(`${ref}: holder '${holder}' has not renewed it for ${secondsText(leaseTtl)}; taking it over`);
        try {
          await api.replaceNamespacedLease({
            name: o.name,
            namespace: o.namespace,
            body: { ...got, spec: spec((got.spec?.leaseTransitions ?? 0) + (holder === o.holder ? 0 : 1), true, got.spec) },
          });
          break;
        } catch (err) {
          if (apiCode(err) === 409) continue; // someone else took it between our read and write
          const f = fatal(err, `cannot update ${ref}`);
          if (f) throw f;
          lastProblem = apiErrorMessage(err, `cannot update ${ref}`, t.server);
        }
      } else {
        const waited = now - started;
        if (holder !== lastHolder || now - lastLog >= 30_000) {
          const since = got.spec?.acquireTime ? ` since ${new Date(String(got.spec.acquireTime)).toISOString().replace(/\.\d+Z$/, 'Z')}` : '';
          o.info?.(
            `waiting for the snapshot lock (${ref}): held by '${holder}'${since}; another aicr agent Job runs on this cluster; waited ${secondsText(waited)} of ${secondsText(o.timeoutMs)}`,
          );
          lastHolder = holder;
          lastLog = now;
        }
        lastProblem = `held by '${holder}' (renewed ${String(got.spec?.renewTime ?? '?')}, duration ${leaseTtl / 1000}s)`;
      }
    }
    const waited = performance.now() - started;
    if (waited + delay > o.timeoutMs) {
      throw new StageError(
        `timed out after ${secondsText(waited)} waiting for the snapshot lock (${ref}): ${lastProblem}. Another snapshot run on this cluster still holds it; raise lock-timeout, or, if no run is active, delete the Lease (it also frees itself ${ttl}s after its holder stops renewing)`,
      );
    }
    await sleep(delay * (0.8 + Math.random() * 0.4));
    delay = Math.min(delay * 2, backoff.max);
  }

  const waitedMs = Math.round(performance.now() - started);
  o.info?.(`took the snapshot lock (${ref}) as '${o.holder}'${waitedMs > 1000 ? ` after ${secondsText(waitedMs)}` : ''}`);
  let lost = false;
  let renewing: Promise<void> = Promise.resolve();
  const renew = async (): Promise<void> => {
    try {
      const got = await api.readNamespacedLease({ name: o.name, namespace: o.namespace });
      if (got.spec?.holderIdentity !== o.holder) {
        if (!lost) o.warn?.(`lost the snapshot lock (${ref}) to '${got.spec?.holderIdentity ?? ''}': renewals failed for longer than ${ttl}s`);
        lost = true;
        return;
      }
      await api.replaceNamespacedLease({ name: o.name, namespace: o.namespace, body: { ...got, spec: { ...got.spec, renewTime: microTime() } } });
    } catch (err) {
      o.warn?.(`could not renew the snapshot lock: ${apiErrorMessage(err, `renew ${ref}`, t.server)}`);
    }
  };
  const timer = setInterval(() => {
    renewing = renewing.then(renew);
  }, o.renewMs ?? (ttl * 1000) / 3);
  timer.unref();
  return {
    namespace: o.namespace,
    name: o.name,
    holder: o.holder,
    waitedMs,
    lost: () => lost,
    async release(): Promise<void> {
      clearInterval(timer);
      await renewing;
      if (lost) return;
      try {
        const got = await api.readNamespacedLease({ name: o.name, namespace: o.namespace });
        if (got.spec?.holderIdentity !== o.holder) return;
        await api.deleteNamespacedLease({
          name: o.name,
          namespace: o.namespace,
          body: { preconditions: { resourceVersion: got.metadata?.resourceVersion } },
        });
        o.info?.(`released the snapshot lock (${ref})`);
      } catch (err) {
        if (apiCode(err) === 404 || apiCode(err) === 409) return;
        o.warn?.(`could not release the snapshot lock (it frees itself after ${ttl}s): ${apiErrorMessage(err, `release ${ref}`, t.server)}`);
      }
    },
  };
}

/**
 * Run `fn` while holding the Lease; always release it.
 * @throws what {@link acquireLease} throws, or what `fn` throws.
 */
export async function withLease<T>(t: KubeTarget, o: LeaseOptions, fn: (lease: HeldLease) => Promise<T>): Promise<T> {
  const lease = await acquireLease(t, o);
  try {
    return await fn(lease);
  } finally {
    await lease.release();
  }
}
