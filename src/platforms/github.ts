/**
 * GitHub Actions adapter: inputs from `INPUT_*`, outputs and summary through
 * the runner's file commands (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`),
 * annotations as workflow commands, artifacts through `@actions/artifact`.
 *
 * `@actions/artifact` is loaded lazily: it is megabytes of code that a stage
 * without an upload (or a local run) should not pay for at start-up.
 */
import * as core from '@actions/core';
import * as os from 'node:os';
import * as path from 'node:path';
import { StageError } from '../core/errors.ts';
import type { AnnotationProps, ArtifactSource, ArtifactUpload, Level, Platform, UploadedArtifact } from '../core/platform.ts';
import { runStage } from '../core/runner.ts';
import type { Stage } from '../core/stage.ts';

/** Upload is possible only inside a JavaScript action step (composite `run:` steps lack these). */
function canUpload(): boolean {
  return Boolean(process.env.ACTIONS_RUNTIME_TOKEN && process.env.ACTIONS_RESULTS_URL);
}

export class GitHubPlatform implements Platform {
  readonly name = 'github';

  input(name: string): string | undefined {
    // The runner sets INPUT_<NAME> with spaces as '_' and hyphens kept, for every declared input.
    const v = process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`];
    return v === undefined ? undefined : v;
  }

  log(level: Level, message: string): void {
    if (level === 'debug') core.debug(message);
    else if (level === 'warning') core.warning(message);
    else if (level === 'error') core.error(message);
    else core.info(message);
  }

  annotate(level: Exclude<Level, 'debug'>, message: string, props?: AnnotationProps): void {
    const p: core.AnnotationProperties = { title: props?.title, file: props?.file, startLine: props?.startLine };
    if (level === 'error') core.error(message, p);
    else if (level === 'warning') core.warning(message, p);
    else core.notice(message, p);
  }

  mask(value: string): void {
    core.setSecret(value);
  }

  async setOutputs(outputs: Readonly<Record<string, string>>, declared: readonly string[]): Promise<void> {
    for (const name of declared) if (name in outputs) core.setOutput(name, outputs[name]);
  }

  async summary(markdown: string): Promise<void> {
    if (!process.env.GITHUB_STEP_SUMMARY) return;
    await core.summary.addRaw(markdown, true).write();
  }

  async uploadArtifact(upload: ArtifactUpload): Promise<UploadedArtifact | undefined> {
    if (!canUpload()) return undefined;
    const { DefaultArtifactClient } = await import('@actions/artifact');
    const client = new DefaultArtifactClient();
    const res = await client.uploadArtifact(
      upload.name,
      upload.files.map((f) => path.join(upload.root, f)),
      upload.root,
      upload.retentionDays > 0 ? { retentionDays: upload.retentionDays } : {},
    );
    return { name: upload.name, id: String(res.id ?? '') };
  }

  async downloadArtifact(name: string, destDir: string, source?: ArtifactSource): Promise<string> {
    if (!canUpload()) {
      throw new StageError(
        `cannot download artifact '${name}': no Actions runtime token in this step (only JavaScript action steps get one); download it with actions/download-artifact and pass the path instead`,
      );
    }
    const { DefaultArtifactClient } = await import('@actions/artifact');
    const client = new DefaultArtifactClient();
    let findBy;
    if (source?.runId) {
      const repo = source.repository ?? process.env.GITHUB_REPOSITORY ?? '';
      const [owner, repoName] = repo.split('/');
      if (!owner || !repoName || !source.token) {
        throw new StageError(`downloading artifact '${name}' from run ${source.runId} needs a repository (owner/name) and a token with actions:read`);
      }
      findBy = { token: source.token, workflowRunId: Number(source.runId), repositoryOwner: owner, repositoryName: repoName };
    }
    let artifact;
    try {
      ({ artifact } = await client.getArtifact(name, findBy ? { findBy } : {}));
    } catch (err) {
      const msg = (err as Error).message;
      const where = source?.runId ? ` in run ${source.runId}` : ' in this workflow run';
      // A refused token is not a missing artifact: say which it is.
      if (/Bad credentials|\b401\b|\b403\b|Forbidden|Resource not accessible/i.test(msg)) {
        throw new StageError(`cannot look up artifact '${name}'${where}: the token was refused (${msg}); give a token with actions:read on ${source?.repository ?? process.env.GITHUB_REPOSITORY ?? 'the repository'}`, { cause: err });
      }
      throw new StageError(`artifact '${name}' not found${where}: ${msg}`, { cause: err });
    }
    const res = await client.downloadArtifact(artifact.id, { path: destDir, ...(findBy ? { findBy } : {}) });
    if (res.digestMismatch) throw new StageError(`artifact '${name}' failed its digest check after download`);
    return res.downloadPath ?? destDir;
  }

  addPath(dir: string): void {
    core.addPath(dir);
  }

  tempDir(): string {
    return process.env.RUNNER_TEMP || os.tmpdir();
  }

  fail(message: string): void {
    core.setFailed(message);
  }
}

/** Entry point used by `dist/<stage>/index.js`. */
export async function runOnGitHub(stage: Stage): Promise<void> {
  const code = await runStage(stage, new GitHubPlatform());
  if (code !== 0) process.exitCode = 1;
}
