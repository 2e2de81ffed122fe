/**
 * deploy stage: verify the bundle, then deploy.sh, dry-run plan, or GitOps commit.
 */
import { getExecOutput } from '@actions/exec';
import { which } from '@actions/io';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { shellQuote, stripAnsi } from '../../core/aicr.ts';
import { InputError, StageError } from '../../core/errors.ts';
import { listFiles, writeFileAtomic } from '../../core/fsutil.ts';
import { code, sections, table } from '../../core/markdown.ts';
import type { Stage, StageContext, StageResult } from '../../core/stage.ts';
import { dirOrArtifact, productOf, requireKube } from '../common.ts';
import { verifyChecksums } from './checksums.ts';
import { commitBundle } from './gitops.ts';
import { readPlan, type Plan } from './plan.ts';
import { spec } from './spec.ts';

/** Printed by deploy.sh (v0.11.1 template) when `--best-effort` swallowed failures. */
const BEST_EFFORT_FAILED = /WARNING: the following components failed:(.*)$/m;

/** deploy.sh argv from the inputs (flags of the v0.11.1 deploy.sh.tmpl usage line). */
export function deployScriptArgs(wait: boolean, bestEffort: boolean, retries: number | undefined): string[] {
  const args: string[] = [];
  if (!wait) args.push('--no-wait');
  if (bestEffort) args.push('--best-effort');
  if (retries !== undefined) args.push('--retries', String(retries));
  return args;
}

function planTable(plan: Plan): string {
  return table(['#', 'component', 'namespace', 'chart', 'version'], plan.steps.map((s) => [s.order, s.component, s.namespace, s.chart, s.version]));
}

async function run(ctx: StageContext): Promise<StageResult> {
  const { inputs, log } = ctx;
  const bundleDir = await dirOrArtifact(ctx, 'bundle', 'bundle-artifact');
  if (!bundleDir) throw new InputError('bundle', 'is required: give the bundle directory or bundle-artifact');
  const expected = inputs.optional('expected-checksums-sha256')?.toLowerCase();
  if (expected && !/^[0-9a-f]{64}$/.test(expected)) throw new InputError('expected-checksums-sha256', `'${expected}' is not a SHA-256 hex digest`);
  const mode = inputs.string('mode');
  if (mode === 'gitops' && !inputs.optional('gitops-repo')) throw new InputError('gitops-repo', 'is required with mode gitops');

  const files = await listFiles(bundleDir);
  const report = await log.step('bundle.verify', { bundle: bundleDir }, () => verifyChecksums(bundleDir, files), (r) => ({ files: r.entries.length, uncovered: r.uncovered.length }));
  if (expected && report.checksumsSha256 !== expected) {
    throw new StageError(
      `bundle ${bundleDir} is not the approved one: checksums.txt sha256 is ${report.checksumsSha256}, expected-checksums-sha256 is ${expected}; nothing was run`,
    );
  }
  log.info(`verified ${report.entries.length} files against checksums.txt (sha256 ${report.checksumsSha256})`);
  for (const f of report.uncovered) log.warning(`not covered by checksums.txt: ${f}`);
  const plan = await readPlan(bundleDir, files);
  const outputs: Record<string, string> = {
    'checksums-sha256': report.checksumsSha256,
    'verified-files': String(report.entries.length),
    deployer: plan.deployer,
    plan: JSON.stringify(plan.steps),
    deployed: 'false',
    'commit-sha': '',
    'gitops-changed': 'false',
  };
  const recordPath = ctx.resolve(inputs.string('record'));
  /** Write the deploy record (the stage's product) and return the result around it. */
  const finish = async (what: string, summary: string): Promise<StageResult> => {
    const record = {
      at: new Date().toISOString(),
      what,
      bundle: inputs.optional('bundle-artifact') ? { artifact: inputs.string('bundle-artifact') } : { dir: bundleDir },
      checksumsSha256: report.checksumsSha256,
      approvedChecksumsSha256: expected ?? null,
      verifiedFiles: report.entries.length,
      deployer: plan.deployer,
      plan: plan.steps,
      deployed: outputs.deployed === 'true',
      gitops: outputs['commit-sha'] ? { commit: outputs['commit-sha'], changed: outputs['gitops-changed'] === 'true' } : null,
    };
    await writeFileAtomic(recordPath, `${JSON.stringify(record, null, 2)}\n`);
    outputs['record-path'] = recordPath;
    return { outputs, product: productOf(recordPath), summary };
  };
  const from = inputs.optional('bundle-artifact') ? `artifact ${code(inputs.string('bundle-artifact'))}` : code(bundleDir);
  const head = `Bundle ${from} (${plan.deployer}): ${report.entries.length} files verified, checksums.txt sha256 ${code(report.checksumsSha256)}${expected ? ' (matches the approved bundle)' : ''}`;

  if (inputs.bool('dry-run')) {
    log.info(`dry-run: would ${mode === 'gitops' ? `commit the bundle to ${inputs.string('gitops-repo')}/${inputs.string('gitops-path')}` : `run deploy.sh for ${plan.steps.length} components`}:`);
    for (const s of plan.steps) log.info(`  ${s.order}. ${s.component}${s.chart ? ` (${s.chart}@${s.version})` : ''} → ${s.namespace}`);
    return finish('dry-run', sections('## AICR deploy (dry-run: nothing was run)', head, planTable(plan)));
  }

  if (mode === 'gitops') {
    const res = await log.step('gitops.commit', { repo: inputs.string('gitops-repo'), path: inputs.string('gitops-path') }, () =>
      commitBundle(
        {
          repo: ctx.resolve(inputs.string('gitops-repo')),
          subdir: inputs.string('gitops-path'),
          bundleDir,
          files,
          message: inputs.string('gitops-message'),
          authorName: inputs.string('gitops-author-name'),
          authorEmail: inputs.string('gitops-author-email'),
          push: inputs.bool('gitops-push'),
          remote: inputs.string('gitops-remote'),
          branch: inputs.optional('gitops-branch') ?? '',
        },
        log,
      ),
    );
    outputs['commit-sha'] = res.commit;
    outputs['gitops-changed'] = String(res.changed);
    return finish(
      'gitops',
      sections(
        '## AICR deploy (GitOps)',
        head,
        res.changed
          ? `Committed ${code(res.commit.slice(0, 12))} to ${code(inputs.string('gitops-path'))}${res.pushed ? ` and pushed to ${code(res.branch)}` : ' (not pushed)'}.`
          : `${code(inputs.string('gitops-path'))} already matched the bundle; no commit.`,
        planTable(plan),
      ),
    );
  }

  const script = path.join(bundleDir, 'deploy.sh');
  if (plan.deployer !== 'helm' || !fs.existsSync(script)) {
    throw new InputError('mode', `bundle ${bundleDir} has no deploy.sh (an ${plan.deployer} bundle); use mode gitops to hand it to Argo CD`);
  }
  const missing: string[] = [];
  for (const b of ['kubectl', 'helm']) if (!(await which(b))) missing.push(b);
  if (missing.length > 0) throw new StageError(`deploy.sh needs ${missing.join(' and ')} on PATH; install them before this step (nothing was run)`);
  const kube = await requireKube(ctx, 'deploy.sh');
  const args = deployScriptArgs(inputs.bool('wait'), inputs.bool('best-effort'), inputs.int('retries'));
  const command = `${Object.entries(kube.env).map(([k, v]) => `${k}=${shellQuote(v)} `).join('')}bash ${shellQuote(script)} ${args.map(shellQuote).join(' ')}`.trim();
  log.info(`$ ${command}`);
  const result = await log.step('deploy.sh', { args, components: plan.steps.length }, () =>
    getExecOutput('bash', [script, ...args], {
      cwd: bundleDir,
      env: { ...(process.env as Record<string, string>), ...kube.env },
      silent: true,
      ignoreReturnCode: true,
      listeners: { stdline: (l) => log.info(`  ${stripAnsi(l)}`), errline: (l) => log.info(`  ${stripAnsi(l)}`) },
    }),
  );
  if (result.exitCode !== 0) {
    const tail = stripAnsi(`${result.stdout}\n${result.stderr}`).trim().split('\n').slice(-3).join(' | ');
    throw new StageError(`deploy.sh exited ${result.exitCode}: ${tail}`);
  }
  const failed = BEST_EFFORT_FAILED.exec(result.stdout);
  if (failed) throw new StageError(`deploy.sh (--best-effort) finished but components failed:${failed[1]}`);
  outputs.deployed = 'true';
  return finish('deploy.sh', sections('## AICR deploy', head, `deploy.sh ran to success with ${code(args.join(' ') || '(defaults)')}.`, planTable(plan)));
}

export const stage: Stage = { spec, run };
