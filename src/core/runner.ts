/**
 * Runs one stage on one platform: read inputs, run, publish the product,
 * outputs and summary. Platform-neutral: everything goes through the port.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Aicr } from './aicr.ts';
import { errorMessage, InputErrors } from './errors.ts';
import { readInputs } from './inputs.ts';
import { StageLog, type LogFormat } from './log.ts';
import type { Platform } from './platform.ts';
import { EXIT, type Stage, type StageContext } from './stage.ts';

/**
 * Run `stage` on `platform`.
 *
 * Order matters for "nothing that looks valid on failure": the product is
 * uploaded first, then outputs are set, then the summary is written. If the
 * upload or the outputs fail, the stage fails and only `failureOutputs` are
 * published; a summary that cannot be written is a warning.
 *
 * @returns the process exit code: 0 success, 1 gate tripped (drift), 2 error.
 */
export async function runStage(stage: Stage, platform: Platform): Promise<number> {
  const declared = stage.spec.outputs.map((o) => o.name);
  const format: LogFormat = platform.input('log-format')?.trim() === 'json' ? 'json' : 'text';
  const log = new StageLog(platform, stage.spec.name, format);
  let tempDir: string | undefined;
  let published = false;
  try {
    const inputs = readInputs(stage.spec, (n) => platform.input(n));
    for (const s of stage.spec.inputs) {
      const v = inputs.string(s.name);
      if (s.secret && v) platform.mask(v);
    }
    await platform.prepare?.();
    const workDir = path.resolve(inputs.string('working-directory'));
    tempDir = await fs.mkdtemp(path.join(platform.tempDir(), `aicr-${stage.spec.name}-`));
    const scratch = tempDir;
    const bin = stage.spec.inputs.some((i) => i.name === 'aicr-path') ? inputs.string('aicr-path') : 'aicr';
    const aicr = new Aicr({ bin, log, logJson: format === 'json', cwd: workDir });
    let downloads = 0;
    const ctx: StageContext = {
      inputs,
      log,
      aicr,
      workDir,
      tempDir: scratch,
      env: process.env,
      resolve: (p) => path.resolve(workDir, p),
      downloadArtifact: (name, source) =>
        log.step('artifact.download', { name, ...(source?.runId ? { runId: source.runId } : {}) }, () =>
          platform.downloadArtifact(name, path.join(scratch, `artifact-${++downloads}`), source),
        ),
    };
    log.event({ event: 'stage.start', status: 'ok', parameters: inputs.effective(), duration_ms: 0 });
    const started = performance.now();
    const result = await stage.run(ctx);

    const outputs: Record<string, string> = { ...result.outputs };
    const artifactName = stage.spec.inputs.some((i) => i.name === 'artifact-name') ? inputs.string('artifact-name') : '';
    if (result.product && artifactName) {
      const product = result.product;
      const uploaded = await log.step(
        'artifact.upload',
        { name: artifactName, files: product.files.length },
        () =>
          platform.uploadArtifact({
            name: artifactName,
            root: product.root,
            files: product.files,
            retentionDays: inputs.int('artifact-retention-days') ?? 0,
          }),
      );
      if (uploaded) {
        outputs['artifact-name'] = uploaded.name;
        outputs['artifact-id'] = uploaded.id;
      } else {
        log.debug(`artifact '${artifactName}' not uploaded: no artifact store on ${platform.name} (products stay on disk)`);
      }
    }
    for (const extra of result.extraProducts ?? []) {
      const up = await log.step('artifact.upload', { name: extra.name, files: extra.files.length }, () =>
        platform.uploadArtifact({ ...extra, retentionDays: inputs.int('artifact-retention-days') ?? 0 }),
      );
      if (!up) log.warning(`artifact '${extra.name}' was not uploaded: no artifact store on ${platform.name}`);
    }
    for (const dir of result.addPath ?? []) platform.addPath(dir);
    await platform.setOutputs(outputs, declared);
    published = true;
    // The summary is for people; failing to write it must not turn a published result into a failure.
    if (result.summary) await platform.summary(result.summary).catch((e: unknown) => log.warning(`could not write the summary: ${errorMessage(e)}`));
    for (const a of result.annotations ?? []) platform.annotate(a.level, a.message, a.props);
    log.event({
      event: 'stage.end',
      status: 'ok',
      counts: { outputs: Object.keys(outputs).length },
      duration_ms: Math.round(performance.now() - started),
    });
    if (result.exitCode && result.exitCode !== EXIT.ok) {
      platform.fail(result.failMessage ?? `${stage.spec.name} failed`);
      return result.exitCode;
    }
    return EXIT.ok;
  } catch (err) {
    const message =
      err instanceof InputErrors
        ? `${stage.spec.name}: invalid input\n${err.message}`
        : `${stage.spec.name}: ${errorMessage(err)}`;
    log.event({ event: 'stage.end', status: 'error', duration_ms: 0, error: message });
    platform.fail(message);
    try {
      if (!published) await platform.setOutputs({ ...(stage.failureOutputs ?? {}) }, declared);
    } catch (e) {
      log.error(`could not publish failure outputs: ${errorMessage(e)}`);
    }
    return EXIT.error;
  } finally {
    if (tempDir) await fs.rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
  }
}
