/**
 * drift-check stage: baseline + current snapshot (+ recipe) → clean or drift,
 * with JSON, JSON Patch, Markdown, OpenMetrics reports, annotations and an
 * optional baseline promotion. The comparison itself is `src/drift`.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { errorMessage, FileError, InputError } from '../../core/errors.ts';
import { listFiles, writeFileAtomic } from '../../core/fsutil.ts';
import { DEFAULT_RETRY, type RetryPolicy } from '../../core/http.ts';
import type { KubeTarget } from '../../core/kube.ts';
import { EXIT, type Stage, type StageContext, type StageResult } from '../../core/stage.ts';
import {
  annotationsFor,
  baselineFileName,
  buildReport,
  buildRules,
  checkReportDir,
  detectDrift,
  evaluateConstraints,
  fetchText,
  findLastSuccessfulRun,
  isUrl,
  jsonPatch,
  loadSnapshotRef,
  markdownReport,
  openMetrics,
  parseIgnore,
  promoteToConfigMap,
  promoteToFile,
  readRulesFile,
  removeStaleReport,
  REPORT_FILES,
  snapshotInArtifact,
  textFormat,
  toJsonText,
  writeReportDir,
  type ConstraintReport,
  type LoadContext,
  type LoadedSnapshot,
  type RulesFile,
} from '../../drift/index.ts';
import { fileOrArtifact, kubeFor } from '../common.ts';
import { spec } from './spec.ts';

/** Where the baseline lives, which decides where a promotion goes. */
interface BaselineTarget {
  origin: 'file' | 'configmap' | 'url' | 'artifact';
  /** Path or URI (file, configmap, url); for `artifact`, the optional path inside it. */
  ref?: string;
  /** Artifact name (origin `artifact`). */
  artifact?: string;
}

/** `drift-schedule.yml` from `GITHUB_WORKFLOW_REF` (`owner/repo/.github/workflows/x.yml@refs/heads/main`). */
export function workflowFromRef(ref: string | undefined): string | undefined {
  return ref ? /\/\.github\/workflows\/([^@]+)@/.exec(ref)?.[1] : undefined;
}

/** The baseline inputs, checked, without any I/O. */
function baselineTarget(ctx: StageContext): BaselineTarget {
  const artifact = ctx.inputs.optional('baseline-artifact');
  const ref = ctx.inputs.optional('baseline');
  if (artifact) return { origin: 'artifact', artifact, ...(ref ? { ref } : {}) };
  if (!ref) throw new InputError('baseline', 'is required: give a baseline file, cm://namespace/name or URL, or set baseline-artifact');
  if (ref.startsWith('cm://')) return { origin: 'configmap', ref };
  if (isUrl(ref)) return { origin: 'url', ref };
  return { origin: 'file', ref: ctx.resolve(ref) };
}

/**
 * Download the baseline artifact (from the last successful run of the
 * workflow when a token is given) and locate the snapshot in it.
 * @returns the local file and a description for the `baseline-source` output.
 */
async function locateArtifactBaseline(ctx: StageContext, t: BaselineTarget, retry: RetryPolicy): Promise<{ file: string; describe: string }> {
  const { inputs, env } = ctx;
  const artifact = t.artifact as string;
  const token = inputs.optional('github-token');
  let dir: string;
  let describe = `artifact ${artifact}`;
  if (token) {
    const repository = inputs.optional('baseline-repository') ?? env.GITHUB_REPOSITORY;
    if (!repository) throw new InputError('baseline-repository', 'is required outside GitHub Actions (GITHUB_REPOSITORY is not set)');
    const workflow = inputs.optional('baseline-workflow') ?? workflowFromRef(env.GITHUB_WORKFLOW_REF);
    if (!workflow) throw new InputError('baseline-workflow', 'is required outside GitHub Actions (GITHUB_WORKFLOW_REF is not set)');
    const branchInput = inputs.optional('baseline-branch') ?? env.GITHUB_REF_NAME ?? '';
    const branch = branchInput === '*' ? '' : branchInput;
    const found = await ctx.log.step('github.last-successful-run', { repository, workflow, branch, artifact }, () =>
      findLastSuccessfulRun({ api: env.GITHUB_API_URL || 'https://api.github.com', repository, workflow, branch, artifact, token, retry }),
    );
    ctx.log.info(`baseline: artifact '${artifact}' of run ${found.runId}${found.runUrl ? ` (${found.runUrl})` : ''}${found.createdAt ? `, ${found.createdAt}` : ''}`);
    dir = await ctx.downloadArtifact(artifact, { runId: found.runId, repository, token });
    describe = `artifact ${artifact} of run ${found.runId}`;
  } else {
    dir = await ctx.downloadArtifact(artifact);
  }
  return { file: await snapshotInArtifact(dir, artifact, t.ref), describe };
}

/**
 * True when the error says the baseline does not exist yet (no file, no
 * ConfigMap in an existing namespace, no run or artifact holding it), as
 * opposed to a broken or unreachable one.
 */
export function isMissingBaseline(err: unknown): boolean {
  const m = errorMessage(err);
  if (err instanceof FileError) return /: baseline: does not exist$/.test(m);
  return /ConfigMap '[^']+' does not exist in namespace/.test(m) || /no successful run of workflow .* holds a non-expired artifact/.test(m) || /artifact '[^']+' not found/.test(m);
}

async function run(ctx: StageContext): Promise<StageResult> {
  const reportDir = ctx.resolve(ctx.inputs.string('report-dir'));
  try {
    return await check(ctx, reportDir);
  } catch (err) {
    // A failed check must not leave an older, valid-looking report behind.
    await removeStaleReport(reportDir);
    throw err;
  }
}

async function check(ctx: StageContext, reportDir: string): Promise<StageResult> {
  const { inputs, log } = ctx;
  const ignore = parseIgnore(inputs.list('ignore'));
  const rulesFilePath = inputs.optional('rules-file');
  if (rulesFilePath && ignore.none) throw new InputError('rules-file', "cannot be used with ignore: none (which switches every rule off)");
  const rulesFile: RulesFile | undefined = rulesFilePath ? await readRulesFile(ctx.resolve(rulesFilePath)) : undefined;
  const rules = buildRules(ignore, rulesFile);
  await checkReportDir(reportDir);
  const updateBaseline = inputs.bool('update-baseline');
  const failOnDrift = inputs.bool('fail-on-drift');
  const retry: RetryPolicy = { ...DEFAULT_RETRY, retries: inputs.int('http-retries') ?? DEFAULT_RETRY.retries };
  let kubeP: Promise<KubeTarget | undefined> | undefined;
  const kube = (): Promise<KubeTarget | undefined> => (kubeP ??= kubeFor(ctx).then((k) => k.target));
  const loadCtx: LoadContext = { kube, retry };

  const snapshotRef = await fileOrArtifact(ctx, 'snapshot', 'snapshot-artifact');
  if (!snapshotRef) throw new InputError('snapshot', 'is required: give the current snapshot (file, cm://namespace/name or URL) or snapshot-artifact');
  const target = baselineTarget(ctx);
  if (updateBaseline && target.origin === 'url') {
    throw new InputError('update-baseline', `cannot write the baseline back to a URL (${target.ref}); use a file, a cm:// ConfigMap or baseline-artifact`);
  }

  const counts = (l: LoadedSnapshot) => ({ readings: l.snapshot.readings, bytes: l.snapshot.bytes });
  // A missing baseline is an error, except when asked to promote: then the
  // current snapshot becomes the first baseline (and is compared with itself).
  let baseline: LoadedSnapshot | undefined;
  let describe = target.origin === 'artifact' ? `artifact ${target.artifact}` : (target.ref as string);
  try {
    let ref = target.ref as string;
    if (target.origin === 'artifact') ({ file: ref, describe } = await locateArtifactBaseline(ctx, target, retry));
    else describe = ref;
    baseline = await log.step('drift.load', { role: 'baseline', ref: describe }, () => loadSnapshotRef('baseline', ref, loadCtx), counts);
  } catch (err) {
    if (!(updateBaseline && isMissingBaseline(err))) throw err;
    log.warning(`no baseline yet (${errorMessage(err)}); update-baseline is set, so the current snapshot becomes the first baseline`);
  }
  const initialized = baseline === undefined;
  const current = await log.step('drift.load', { role: 'snapshot', ref: snapshotRef }, () => loadSnapshotRef('snapshot', snapshotRef, loadCtx), counts);
  baseline ??= current;
  if (initialized) describe = `none (initialized from ${current.ref})`;
  for (const n of new Set([...baseline.snapshot.notices, ...current.snapshot.notices])) log.info(`notice: ${n}`);

  const result = await log.step('drift.compare', { rules: rules.length }, async () => detectDrift(baseline.snapshot, current.snapshot, rules), (r) => ({
    changes: r.changes.length,
    hidden: r.hiddenTotal,
    raw: r.rawTotal,
  }));

  let constraints: ConstraintReport | undefined;
  const recipeRef = inputs.optional('recipe');
  if (recipeRef) {
    const ref = recipeRef.startsWith('cm://') || isUrl(recipeRef) ? recipeRef : ctx.resolve(recipeRef);
    const { text: recipeText } = await fetchText('recipe', ref, loadCtx);
    let snapshotFile = current.ref;
    if (current.kind !== 'file') {
      snapshotFile = path.join(ctx.tempDir, `current-snapshot.${textFormat(current.text)}`);
      await writeFileAtomic(snapshotFile, current.text);
    }
    const workDir = await fs.mkdtemp(path.join(ctx.tempDir, 'constraints-'));
    constraints = await log.step(
      'aicr.validate',
      { recipe: ref, snapshot: snapshotFile, noCluster: true },
      () => evaluateConstraints({ aicr: ctx.aicr, recipeText, recipeSource: ref, snapshotFile, snapshot: current.snapshot, tempDir: workDir }),
      (c) => ({ constraints: c.total, failed: c.failed, skipped: c.skipped }),
    );
  }

  const report = buildReport(baseline.snapshot, current.snapshot, result, rules, constraints);
  if (initialized) report.notices.unshift(`No baseline existed (${target.origin === 'artifact' ? `artifact ${target.artifact}` : target.ref}); the current snapshot was promoted as the first baseline and compared with itself.`);
  const artifactName = inputs.string('artifact-name');
  const fullReport = `${path.join(reportDir, REPORT_FILES.json)}${artifactName ? ` (artifact '${artifactName}')` : ''}`;
  const markdown = markdownReport(report, { maxChanges: inputs.int('max-report-changes') ?? 100, fullReport });
  const files: Record<string, string> = {
    [REPORT_FILES.json]: toJsonText(report),
    [REPORT_FILES.patch]: toJsonText(jsonPatch(baseline.snapshot, current.snapshot, result.changes, rules)),
    [REPORT_FILES.markdown]: markdown,
    [REPORT_FILES.metrics]: openMetrics(report),
  };

  // Baseline promotion (or, for an artifact baseline, carrying it forward so it
  // outlives artifact retention) happens before the report lands: a failed
  // promotion leaves no report.
  const extraProducts: NonNullable<StageResult['extraProducts']> = [];
  let promoted = false;
  if (target.origin === 'artifact') {
    const keep = updateBaseline ? current : baseline;
    const root = await fs.mkdtemp(path.join(ctx.tempDir, 'baseline-artifact-'));
    const name = baselineFileName(keep.text);
    await writeFileAtomic(path.join(root, name), keep.text);
    extraProducts.push({ name: target.artifact as string, root, files: [name] });
    promoted = updateBaseline;
    if (!updateBaseline) log.info(`baseline: re-uploading the unchanged baseline as artifact '${target.artifact}' so it outlives artifact retention`);
  } else if (updateBaseline && target.origin === 'configmap') {
    const uri = target.ref as string;
    await log.step('drift.promote', { to: uri }, async () => promoteToConfigMap(await kube(), uri, current));
    promoted = true;
  } else if (updateBaseline && target.origin === 'file') {
    const file = target.ref as string;
    await log.step('drift.promote', { to: file }, () => promoteToFile(file, current));
    promoted = true;
  }
  if (promoted) log.info(`baseline: promoted ${current.ref} to ${target.origin === 'artifact' ? `artifact '${target.artifact}'` : target.ref}`);

  await log.step('drift.report', { dir: reportDir }, () => writeReportDir(reportDir, files));
  const s = report.summary;
  log.info(
    `drift-check: ${report.outcome}: ${s.changes} change${s.changes === 1 ? '' : 's'} (${s.added} added, ${s.removed} removed, ${s.modified} modified), ${s.hidden} hidden by rules${constraints ? `, ${s.constraintsFailed} of ${constraints.total} recipe constraints failed` : ''}`,
  );

  const outputs: Record<string, string> = {
    outcome: report.outcome,
    changes: String(s.changes),
    added: String(s.added),
    removed: String(s.removed),
    modified: String(s.modified),
    hidden: String(s.hidden),
    'constraints-failed': String(s.constraintsFailed),
    'report-dir': reportDir,
    'report-json': path.join(reportDir, REPORT_FILES.json),
    'report-markdown': path.join(reportDir, REPORT_FILES.markdown),
    'report-patch': path.join(reportDir, REPORT_FILES.patch),
    'report-metrics': path.join(reportDir, REPORT_FILES.metrics),
    'baseline-source': describe,
    'baseline-updated': String(promoted),
  };
  const gate = report.outcome === 'drift' && failOnDrift && !updateBaseline;
  return {
    outputs,
    product: { root: reportDir, files: await listFiles(reportDir) },
    ...(extraProducts.length > 0 ? { extraProducts } : {}),
    summary: markdown,
    annotations: annotationsFor(report, inputs.int('max-annotations') ?? 10, fullReport),
    ...(gate
      ? {
          exitCode: EXIT.gate,
          failMessage: `drift-check: drift from the baseline: ${s.changes} change${s.changes === 1 ? '' : 's'}${s.constraintsFailed ? ` and ${s.constraintsFailed} failed recipe constraint${s.constraintsFailed === 1 ? '' : 's'}` : ''}; see ${fullReport}`,
        }
      : {}),
  };
}

export const stage: Stage = { spec, run, failureOutputs: { outcome: 'error' } };
