/**
 * validate stage: `aicr validate` with a recipe (and a snapshot), CTRF report out.
 */
import * as fs from 'node:fs/promises';
import { failureDetail, type AicrRun } from '../../core/aicr.ts';
import { AicrError, FileError, InputError } from '../../core/errors.ts';
import { produceFileAtomic } from '../../core/fsutil.ts';
import { code, sections, table } from '../../core/markdown.ts';
import { EXIT, type Stage, type StageContext, type StageResult } from '../../core/stage.ts';
import { isRecord, parseYamlDoc } from '../../core/yaml.ts';
import { withAgentLock } from '../agent-lock.ts';
import { fileOrArtifact, productOf, requireKube } from '../common.ts';
import { passFlags } from '../flags.ts';
import { PHASES, spec } from './spec.ts';

/** Counts from a CTRF report (`results.summary`, NVIDIA/aicr v0.11.1 `pkg/validator/ctrf`). */
export interface CtrfCounts {
  tests: number;
  passed: number;
  failed: number;
  skipped: number;
  failedTests: { name: string; suite: string; message: string }[];
}

/** Read counts from CTRF JSON; throws FileError if it is not a CTRF report. */
export function ctrfCounts(text: string, source: string): CtrfCounts {
  const doc = parseYamlDoc(text, source);
  const results = isRecord(doc) && isRecord(doc.results) ? doc.results : undefined;
  const summary = results && isRecord(results.summary) ? results.summary : undefined;
  if (!isRecord(doc) || doc.reportFormat !== 'CTRF' || !summary) throw new FileError(source, 'is not a CTRF report (reportFormat CTRF with results.summary)');
  const tests = Array.isArray(results?.tests) ? results.tests.filter(isRecord) : [];
  return {
    tests: Number(summary.tests ?? 0),
    passed: Number(summary.passed ?? 0),
    failed: Number(summary.failed ?? 0),
    skipped: Number(summary.skipped ?? 0),
    failedTests: tests
      .filter((t) => t.status === 'failed')
      .map((t) => ({ name: String(t.name ?? ''), suite: Array.isArray(t.suite) ? t.suite.join('/') : '', message: String(t.message ?? '') })),
  };
}

/** argv for `aicr validate` (without `--output`); flag names as in v0.11.1 `pkg/cli/validate.go`. */
export function validateArgs(ctx: StageContext, recipe: string, snapshot: string | undefined, kube: string[]): string[] {
  const { inputs } = ctx;
  const args = ['--recipe', recipe];
  if (snapshot) args.push('--snapshot', snapshot);
  for (const p of inputs.list('phase')) args.push('--phase', p);
  if (inputs.bool('no-cluster')) args.push('--no-cluster');
  if (!inputs.bool('fail-on-error')) args.push('--fail-on-error=false');
  args.push(
    ...passFlags(
      inputs,
      [
        ['namespace', '--namespace'],
        ['image', '--image'],
        ['job-name', '--job-name'],
        ['service-account-name', '--service-account-name'],
        ['timeout', '--timeout'],
      ],
      [
        ['image-pull-secret', '--image-pull-secret'],
        ['node-selector', '--node-selector'],
        ['toleration', '--toleration'],
      ],
    ),
  );
  if (inputs.bool('require-gpu')) args.push('--require-gpu');
  if (inputs.bool('no-cleanup')) args.push('--no-cleanup');
  const evidence = inputs.optional('evidence-dir');
  if (evidence) args.push('--evidence-dir', ctx.resolve(evidence));
  if (inputs.bool('cncf-submission')) args.push('--cncf-submission');
  for (const f of inputs.list('feature')) args.push('--feature', f);
  const data = inputs.optional('data');
  if (data) args.push('--data', ctx.resolve(data));
  args.push(...kube);
  return args;
}

async function run(ctx: StageContext): Promise<StageResult> {
  const { inputs, log } = ctx;
  for (const p of inputs.list('phase')) {
    if (!(PHASES as readonly string[]).includes(p)) throw new InputError('phase', `'${p}' is not a phase; expected one of ${PHASES.join(', ')}`);
  }
  if (inputs.bool('cncf-submission') && !inputs.optional('evidence-dir')) throw new InputError('cncf-submission', 'needs evidence-dir');
  if (inputs.list('feature').length > 0 && !inputs.bool('cncf-submission')) throw new InputError('feature', 'needs cncf-submission: true');
  const recipe = await fileOrArtifact(ctx, 'recipe', 'recipe-artifact');
  if (!recipe) throw new InputError('recipe', 'is required: give a recipe file, cm:// URI or URL, or recipe-artifact');
  const snapshot = await fileOrArtifact(ctx, 'snapshot', 'snapshot-artifact');
  if (!snapshot && inputs.bool('no-cluster')) throw new InputError('snapshot', 'is required with no-cluster (there is no cluster to capture one from)');
  const offline = inputs.bool('no-cluster');
  const cmRef = [recipe, snapshot].find((r) => r?.startsWith('cm://'));
  const kube = !offline ? await requireKube(ctx, 'validating a cluster (or set no-cluster)') : cmRef ? await requireKube(ctx, `reading ${cmRef}`) : { args: [], env: {} };
  const args = validateArgs(ctx, recipe, snapshot, kube.args);
  const output = ctx.resolve(inputs.string('output'));

  // aicr exits 8 both when readiness constraints fail (no report written) and when a
  // phase fails with --fail-on-error (report written): tell them apart by the report.
  let gateError: AicrError | undefined;
  const counts = await produceFileAtomic(output, async (tmp) => {
    const validate = (): Promise<AicrRun> =>
      log.step('aicr.validate', { args }, () => ctx.aicr.run('validate', [...args, '--output', tmp], { env: kube.env, okCodes: [0, 8] }));
    // Against a cluster aicr deploys its agent (without a snapshot) and validator Jobs under shared names.
    const r = offline || !('target' in kube) ? await validate() : await withAgentLock(ctx, kube.target, `validate ${inputs.string('namespace') || 'aicr-validation'}`, validate);
    const text = await fs.readFile(tmp, 'utf8').catch(() => '');
    if (r.exitCode !== 0) {
      const err = new AicrError(r.command, r.exitCode, failureDetail(r.stderr, r.stdout));
      if (!text) throw err; // readiness failure: no report, nothing to publish
      gateError = err;
    }
    return ctrfCounts(text, output);
  });
  const outcome = counts.failed > 0 || gateError ? 'failed' : 'passed';
  const summary = sections(
    `## AICR validate: ${outcome === 'passed' ? '✅ passed' : '❌ failed'}`,
    `Report ${code(output)} · recipe ${code(recipe)}${snapshot ? ` · snapshot ${code(snapshot)}` : ''}${inputs.bool('no-cluster') ? ' · no-cluster (readiness constraints evaluated offline, checks skipped)' : ''}`,
    table(['checks', 'passed', 'failed', 'skipped'], [[counts.tests, counts.passed, counts.failed, counts.skipped]]),
    table(['failed check', 'phase', 'message'], counts.failedTests.map((t) => [t.name, t.suite, t.message])),
  );
  const result: StageResult = {
    outputs: {
      'report-path': output,
      outcome,
      tests: String(counts.tests),
      passed: String(counts.passed),
      failed: String(counts.failed),
      skipped: String(counts.skipped),
    },
    product: productOf(output),
    summary,
    annotations: counts.failedTests.map((t) => ({ level: 'error' as const, message: `${t.suite} check ${t.name} failed: ${t.message}`, props: { title: 'AICR validation' } })),
  };
  if (outcome === 'failed' && inputs.bool('fail-on-error')) {
    result.exitCode = EXIT.gate;
    result.failMessage = `validation failed: ${counts.failed} of ${counts.tests} checks failed (report ${output})${gateError ? `; ${gateError.detail}` : ''}`;
  }
  return result;
}

export const stage: Stage = { spec, run, failureOutputs: { outcome: 'error' } };
