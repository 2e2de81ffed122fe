/**
 * snapshot stage: capture with `aicr snapshot`, check, publish.
 *
 * Job mode always asks aicr to write the snapshot to a ConfigMap named after
 * this run's unique Job (`cm://<namespace>/<job-name>`) and reads it back,
 * instead of aicr's shared default `aicr-snapshot`: two runs against one
 * cluster (a CI matrix) then never read each other's snapshot.
 *
 * That is not enough on its own: aicr v0.11.1 gives every agent run the same
 * ServiceAccount/Role/RoleBinding (`aicr`) and ClusterRole/ClusterRoleBinding
 * (`aicr-node-reader`, one subject: the last run's ServiceAccount), deletes
 * them all when a run ends, and finds its pod by the shared label
 * `app.kubernetes.io/name=aicr`. Measured against a real API server
 * (test/k8s/snapshot-job.test.ts): a second run in the same namespace streams
 * the first run's pod logs, and its agent is refused (403) once the first run's
 * cleanup deletes the Role; in another namespace the first agent loses its node
 * reads and its snapshot silently lacks them. So Job-mode runs on one cluster
 * take turns through a Lease (`src/core/lease.ts`, input `lock-timeout`).
 */
import { getExecOutput } from '@actions/exec';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { InputError, StageError } from '../../core/errors.ts';
import { produceFileAtomic, sha256File, writeFileAtomic } from '../../core/fsutil.ts';
import { deleteConfigMap, parseCmUri, readCmDocument, writeCmDocument } from '../../core/kube.ts';
import { code, sections, table } from '../../core/markdown.ts';
import { parseSnapshot, snapshotFacts, type SnapshotFacts } from '../../core/snapshot-doc.ts';
import type { Stage, StageContext, StageResult } from '../../core/stage.ts';
import { checkSelectors, checkTolerations, passFlags, rejectCommas } from '../flags.ts';
import { withAgentLock } from '../agent-lock.ts';
import { kubeFor, requireKube, runUrl } from '../common.ts';
import { snapshotProblems } from './checks.ts';
import { spec } from './spec.ts';

const NAME = /^[a-z0-9]([a-z0-9-]{0,50}[a-z0-9])?$/;

/**
 * The Lease Job-mode runs take turns on. Cluster-wide on purpose: aicr's
 * ClusterRole/ClusterRoleBinding `aicr-node-reader` are shared across
 * namespaces. `default` exists in every cluster.
 */

/** `20261129T185612Z`: sortable, file-name safe UTC time. */
export function compactUtc(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** argv of the agent options for `aicr snapshot` (job mode), as in v0.11.1 `pkg/cli/snapshot.go`. */
export function agentArgs(ctx: StageContext, jobName: string): string[] {
  const { inputs } = ctx;
  const args = passFlags(
    inputs,
    [
      ['namespace', '--namespace'],
      ['image', '--image'],
      ['service-account-name', '--service-account-name'],
      ['timeout', '--timeout'],
      ['runtime-class', '--runtime-class'],
    ],
    [
      ['node-selector', '--node-selector'],
      ['toleration', '--toleration'],
      ['image-pull-secret', '--image-pull-secret'],
    ],
  );
  args.push('--job-name', jobName);
  // --privileged defaults to true in aicr; only the opt-out needs a flag.
  if (!inputs.bool('privileged')) args.push('--privileged=false');
  if (inputs.bool('require-gpu')) args.push('--require-gpu');
  const maxNodes = inputs.int('max-nodes-per-entry');
  if (maxNodes) args.push('--max-nodes-per-entry', String(maxNodes));
  if (inputs.bool('no-cleanup')) args.push('--no-cleanup');
  return args;
}

async function gitCommit(ctx: StageContext): Promise<string> {
  if (ctx.env.GITHUB_SHA) return ctx.env.GITHUB_SHA;
  const r = await getExecOutput('git', ['-C', ctx.workDir, 'rev-parse', 'HEAD'], { silent: true, ignoreReturnCode: true }).catch(() => undefined);
  return r?.exitCode === 0 ? r.stdout.trim() : '';
}

async function run(ctx: StageContext): Promise<StageResult> {
  const { inputs, log, aicr } = ctx;
  const mode = inputs.string('mode');
  const cluster = inputs.optional('cluster');
  if (cluster && !NAME.test(cluster)) throw new InputError('cluster', `'${cluster}' must be lower-case letters, digits and '-' (it becomes part of a file name)`);
  const configmap = inputs.optional('configmap');
  if (configmap && !parseCmUri(configmap)) throw new InputError('configmap', `'${configmap}' is not cm://<namespace>/<name>`);
  for (const name of ['node-selector', 'toleration', 'image-pull-secret']) rejectCommas(name, inputs.list(name));
  checkSelectors('node-selector', inputs.list('node-selector'));
  checkTolerations('toleration', inputs.list('toleration'));
  if (inputs.bool('require-gpu') && inputs.optional('runtime-class')) {
    throw new InputError('runtime-class', 'cannot be combined with require-gpu (aicr rejects the pair): a runtime class gives nvidia-smi without taking a GPU');
  }
  const jobName = inputs.optional('job-name') ?? `aicr-${randomBytes(4).toString('hex')}`;
  if (!NAME.test(jobName)) throw new InputError('job-name', `'${jobName}' is not a valid Job name (lower-case letters, digits, '-')`);

  const capturedAt = new Date();
  const output = cluster
    ? path.join(path.dirname(ctx.resolve(inputs.string('output'))), `snapshot-${cluster}-${compactUtc(capturedAt)}.yaml`)
    : ctx.resolve(inputs.string('output'));
  // Local mode needs no cluster, but when one is named its collectors should query that one.
  const kube =
    mode === 'job'
      ? await requireKube(ctx, 'job mode (use mode local on a GPU runner without a cluster)')
      : configmap
        ? await requireKube(ctx, `writing ${configmap}`)
        : inputs.optional('kubeconfig')
          ? await kubeFor(ctx)
          : undefined;

  let facts!: SnapshotFacts;
  let text = '';
  let snapshotVersion = '';
  await produceFileAtomic(output, async (tmp) => {
    if (mode === 'local') {
      const env: Record<string, string> = { AICR_AGENT_MODE: 'true', ...(kube?.env ?? {}) };
      const maxNodes = inputs.int('max-nodes-per-entry');
      if (maxNodes) env.AICR_MAX_NODES_PER_ENTRY = String(maxNodes);
      const args = ['--output', tmp, '--format', 'yaml', ...(inputs.bool('require-gpu') ? ['--require-gpu'] : [])];
      await log.step('aicr.snapshot', { mode, args }, () => aicr.run('snapshot', args, { env }));
      text = await fs.readFile(tmp, 'utf8');
    } else {
      const target = kube!.target!;
      const namespace = inputs.optional('namespace') ?? 'default';
      const runCm = `cm://${namespace}/${jobName}`;
      const args = [...agentArgs(ctx, jobName), ...kube!.args, '--output', runCm];
      const capture = async (): Promise<void> => {
        await log.step('aicr.snapshot', { mode, job: jobName, namespace }, () => aicr.run('snapshot', args, { env: kube!.env }));
        text = (await log.step('configmap.read', { uri: runCm }, () => readCmDocument(target, runCm))).text;
        await deleteConfigMap(target, runCm).catch((e: Error) => log.warning(`could not delete the run's ConfigMap ${runCm}: ${e.message}`));
      };
      await withAgentLock(ctx, target, `${namespace}/${jobName}`, capture);
      await fs.writeFile(tmp, text);
    }
    const doc = parseSnapshot(text, `snapshot from aicr (${mode} mode)`);
    facts = snapshotFacts(doc);
    snapshotVersion = doc.metadata.version ?? '';
    const problems = snapshotProblems(doc, facts, inputs.int('expect-gpu-count'), inputs.list('require-measurements'));
    if (problems.length > 0) throw new StageError(`snapshot rejected, nothing published:\n  ${problems.join('\n  ')}`);
  });

  const sha256 = await sha256File(output);
  const files = [path.basename(output)];
  let metadataPath = '';
  if (cluster) {
    metadataPath = `${output.slice(0, -'.yaml'.length)}.meta.json`;
    const meta = {
      cluster,
      capturedAt: capturedAt.toISOString(),
      gitCommit: await gitCommit(ctx),
      kubernetesVersion: facts.k8sVersion,
      snapshot: path.basename(output),
      sha256,
      mode,
      sourceNode: facts.sourceNode,
      runUrl: runUrl(ctx.env),
    };
    await writeFileAtomic(metadataPath, `${JSON.stringify(meta, null, 2)}\n`);
    files.push(path.basename(metadataPath));
  }
  if (configmap && kube?.target) {
    const target = kube.target;
    await log.step('configmap.write', { uri: configmap }, () =>
      writeCmDocument(target, configmap, { text, format: 'yaml', kind: 'Snapshot', version: snapshotVersion, timestamp: capturedAt.toISOString().replace(/\.\d+Z$/, 'Z') }),
    );
  }

  return {
    outputs: {
      'snapshot-path': output,
      sha256,
      'metadata-path': metadataPath,
      configmap: configmap ?? '',
      'k8s-version': facts.k8sVersion,
      'gpu-model': facts.gpuModel,
      'gpu-count': String(facts.gpuCount),
      'driver-version': facts.driverVersion,
      measurements: facts.measurementTypes.join(','),
    },
    product: { root: path.dirname(output), files },
    summary: sections(
      `## AICR snapshot${cluster ? ` of ${code(cluster)}` : ''}`,
      `${code(output)} · sha256 ${code(sha256.slice(0, 16))}… · ${mode} mode${configmap ? ` · also in ${code(configmap)}` : ''}`,
      table(
        ['Kubernetes', 'GPUs', 'GPU model', 'driver', 'CUDA', 'OS', 'kernel', 'node'],
        [[facts.k8sVersion || '—', facts.gpuCount, facts.gpuModel || '—', facts.driverVersion || '—', facts.cudaVersion || '—', facts.osRelease || '—', facts.kernel || '—', facts.sourceNode || '—']],
      ),
      `Measurements: ${facts.measurementTypes.map(code).join(', ')}`,
    ),
  };
}

export const stage: Stage = { spec, run };
