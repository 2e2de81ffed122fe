/**
 * The lock that makes aicr agent runs on one cluster take turns. Its own
 * module so that only the stages that deploy aicr's agent (snapshot,
 * validate) bundle the Kubernetes client it needs.
 */
import * as os from 'node:os';
import type { KubeTarget } from '../core/kubeconfig.ts';
import { parseGoDuration, withLease } from '../core/lease.ts';
import type { InputSpec } from '../core/spec.ts';
import type { StageContext } from '../core/stage.ts';
import { runUrl } from './common.ts';

/** The Lease that makes aicr agent runs on one cluster take turns (see src/core/lease.ts). */
export const AGENT_LOCK = { namespace: 'default', name: 'aicr-ci-snapshot' } as const;

/** The `lock-timeout` input of stages that deploy aicr's agent. */
export const lockTimeoutInput: InputSpec = {
  name: 'lock-timeout',
  description:
    "How long to wait while another run uses aicr's agent on the same cluster (aicr v0.11.1 gives every agent run the same RBAC names and pod label, so runs take turns through the Lease `default/aicr-ci-snapshot`). `0s` runs without the lock.",
  kind: 'duration',
  default: '15m',
};

/**
 * Run `fn` (which deploys aicr's agent) holding {@link AGENT_LOCK}, unless
 * `lock-timeout` is `0s`. Waiting and handover are logged.
 * @param label - who holds it, shown to waiters (`<namespace>/<job>`).
 * @throws StageError when the lock cannot be had within `lock-timeout`.
 */
export async function withAgentLock<T>(ctx: StageContext, target: KubeTarget, label: string, fn: () => Promise<T>): Promise<T> {
  const timeoutMs = parseGoDuration(ctx.inputs.string('lock-timeout'));
  if (timeoutMs <= 0) {
    ctx.log.info("running without the agent lock (lock-timeout 0s): a parallel aicr agent run on this cluster can break this one");
    return fn();
  }
  const url = runUrl(ctx.env);
  const holder = `${label} on ${os.hostname()} pid ${process.pid}${url ? ` ${url}` : ''}`;
  return withLease(target, { ...AGENT_LOCK, holder, timeoutMs, info: (m) => ctx.log.info(m), warn: (m) => ctx.log.warning(m) }, fn);
}
