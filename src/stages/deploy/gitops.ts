/**
 * GitOps delivery: commit a verified bundle into a checked-out GitOps
 * repository and push it (pattern 3 of AICR's automation guide: CI renders,
 * Argo CD or Flux applies from git).
 */
import { getExecOutput } from '@actions/exec';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { InputError, StageError } from '../../core/errors.ts';
import type { StageLog } from '../../core/log.ts';

/** What to commit where. */
export interface GitOpsRequest {
  /** Checked-out repository (work tree). */
  repo: string;
  /** Directory inside the repository that becomes exactly the bundle. */
  subdir: string;
  bundleDir: string;
  files: readonly string[];
  message: string;
  authorName: string;
  authorEmail: string;
  push: boolean;
  remote: string;
  /** Branch to push to; empty = the checked-out branch. */
  branch: string;
}

/** What happened. */
export interface GitOpsResult {
  changed: boolean;
  commit: string;
  branch: string;
  pushed: boolean;
}

async function git(repo: string, args: string[], log: StageLog, okCodes = [0]): Promise<{ code: number; out: string }> {
  log.info(`$ git -C ${repo} ${args.join(' ')}`);
  const r = await getExecOutput('git', ['-C', repo, ...args], { silent: true, ignoreReturnCode: true });
  if (!okCodes.includes(r.exitCode)) {
    throw new StageError(`git ${args[0]} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`);
  }
  return { code: r.exitCode, out: r.stdout.trim() };
}

/**
 * Replace `<repo>/<subdir>` with the bundle, commit if anything changed, push.
 *
 * On any failure before the commit, the subdirectory is restored to HEAD so
 * the work tree is left as it was.
 *
 * @throws InputError when `repo` is not a git work tree or `subdir` escapes it.
 * @throws StageError when git fails (the message carries git's last lines).
 */
export async function commitBundle(req: GitOpsRequest, log: StageLog): Promise<GitOpsResult> {
  const top = await git(req.repo, ['rev-parse', '--show-toplevel'], log).catch(() => {
    throw new InputError('gitops-repo', `'${req.repo}' is not a git work tree (check out the GitOps repository first)`);
  });
  const repo = top.out;
  const target = path.resolve(repo, req.subdir);
  if (target === repo || !target.startsWith(repo + path.sep)) {
    throw new InputError('gitops-path', `'${req.subdir}' must be a subdirectory inside the repository`);
  }
  const rel = path.relative(repo, target);
  const branch = req.branch || (await git(repo, ['rev-parse', '--abbrev-ref', 'HEAD'], log)).out;
  try {
    await fs.rm(target, { recursive: true, force: true });
    for (const f of req.files) {
      await fs.mkdir(path.dirname(path.join(target, f)), { recursive: true });
      await fs.copyFile(path.join(req.bundleDir, f), path.join(target, f));
      const mode = (await fs.stat(path.join(req.bundleDir, f))).mode;
      await fs.chmod(path.join(target, f), mode);
    }
    await git(repo, ['add', '-A', '--', rel], log);
    const diff = await git(repo, ['diff', '--cached', '--quiet', '--', rel], log, [0, 1]);
    if (diff.code === 0) {
      log.info(`GitOps: ${rel} already matches the bundle; nothing to commit`);
      return { changed: false, commit: (await git(repo, ['rev-parse', 'HEAD'], log)).out, branch, pushed: false };
    }
    await git(repo, ['-c', `user.name=${req.authorName}`, '-c', `user.email=${req.authorEmail}`, 'commit', '-q', '-m', req.message, '--', rel], log);
  } catch (err) {
    await git(repo, ['reset', '-q', '--', rel], log, [0, 1, 128]).catch(() => undefined);
    await git(repo, ['checkout', '-q', 'HEAD', '--', rel], log, [0, 1, 128]).catch(() => undefined);
    await git(repo, ['clean', '-fdq', '--', rel], log, [0, 1, 128]).catch(() => undefined);
    throw err;
  }
  const commit = (await git(repo, ['rev-parse', 'HEAD'], log)).out;
  if (req.push) await git(repo, ['push', req.remote, `HEAD:refs/heads/${branch}`], log);
  return { changed: true, commit, branch, pushed: req.push };
}
