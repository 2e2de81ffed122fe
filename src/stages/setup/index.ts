/**
 * setup stage (the root action): install a pinned aicr release.
 *
 * Archive names follow NVIDIA/aicr `.goreleaser.yaml`:
 * `aicr_<version without v>_<os>_<arch>.tar.gz` plus `aicr_checksums.txt`
 * (`<sha256>  <file>` lines), under `<base>/v<version>/`.
 */
import { getExecOutput } from '@actions/exec';
import { which } from '@actions/io';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError, StageError } from '../../core/errors.ts';
import { sha256File } from '../../core/fsutil.ts';
import { code, sections } from '../../core/markdown.ts';
import type { Stage, StageContext, StageResult } from '../../core/stage.ts';
import { bareVersion } from '../../core/version.ts';
import { spec } from './spec.ts';

/** GoReleaser's names for this machine. */
export function releasePlatform(platform = process.platform, arch = process.arch): { os: string; arch: string } {
  const goos = platform === 'win32' ? 'windows' : platform;
  const goarch = arch === 'x64' ? 'amd64' : arch;
  if (!['linux', 'darwin'].includes(goos) || !['amd64', 'arm64'].includes(goarch)) {
    throw new StageError(`aicr releases exist for linux and darwin on amd64 and arm64; this runner is ${goos}/${goarch}`);
  }
  return { os: goos, arch: goarch };
}

/** The archive's expected SHA-256 from a goreleaser checksums file. */
export function checksumFor(checksums: string, file: string): string | undefined {
  for (const line of checksums.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(.+?)\s*$/.exec(line.trim());
    if (m && m[2] === file) return m[1];
  }
  return undefined;
}

/** The version `aicr --version` reports (`aicr version 0.11.1 (commit: …)`), bare; '' if it cannot run. */
export async function aicrVersionOf(bin: string): Promise<string> {
  try {
    const r = await getExecOutput(bin, ['--version'], { silent: true, ignoreReturnCode: true });
    return r.exitCode === 0 ? bareVersion(/version\s+(\S+)/.exec(r.stdout)?.[1] ?? '') : '';
  } catch {
    return '';
  }
}

async function run(ctx: StageContext): Promise<StageResult> {
  const { inputs, log } = ctx;
  const version = bareVersion(inputs.string('version'));
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) throw new InputError('version', `'${inputs.string('version')}' is not a release version like v0.11.1`);
  const expectedInput = inputs.optional('sha256')?.toLowerCase();
  if (expectedInput && !/^[0-9a-f]{64}$/.test(expectedInput)) throw new InputError('sha256', 'expected 64 hex digits');
  let base: URL;
  try {
    base = new URL(inputs.string('download-base-url').replace(/\/?$/, '/'));
  } catch {
    throw new InputError('download-base-url', `'${inputs.string('download-base-url')}' is not a URL`);
  }
  const platform = releasePlatform();
  const done = (binPath: string, hit: string, how: string): StageResult => ({
    outputs: { 'aicr-path': binPath, version, 'cache-hit': hit },
    addPath: [path.dirname(binPath)],
    summary: sections('## aicr set up', `aicr ${code(version)} (${platform.os}/${platform.arch}) at ${code(binPath)}: ${how}.`),
  });

  const onPath = await which('aicr'); // '' when absent
  if (onPath && (await aicrVersionOf(onPath)) === version) {
    log.info(`aicr ${version} already on PATH at ${onPath}`);
    return done(onPath, 'path', 'reused from PATH');
  }

  // Loaded here: only a real install needs tool-cache, and it reads RUNNER_* at call time.
  process.env.RUNNER_TOOL_CACHE ||= path.join(os.homedir(), '.cache', 'aicr-ci', 'tool-cache');
  process.env.RUNNER_TEMP ||= ctx.tempDir;
  const tc = await import('@actions/tool-cache');
  const cached = tc.find('aicr', version); // tool-cache keys by os.arch() (x64), like every setup-* action
  if (cached) {
    log.info(`aicr ${version} found in the tool cache at ${cached}`);
    return done(path.join(cached, 'aicr'), 'cache', 'from the tool cache');
  }

  const archive = `aicr_${version}_${platform.os}_${platform.arch}.tar.gz`;
  const dir = new URL(`v${version}/`, base);
  const token = inputs.optional('github-token');
  const auth = token && dir.hostname === 'github.com' ? `token ${token}` : undefined;
  const download = async (name: string): Promise<string> => {
    const url = new URL(name, dir).href;
    try {
      return await log.step('download', { url }, () => tc.downloadTool(url, path.join(ctx.tempDir, name), auth));
    } catch (err) {
      throw new StageError(`cannot download ${url}: ${(err as Error).message}`, { cause: err });
    }
  };
  const checksumsFile = await download('aicr_checksums.txt');
  const listed = checksumFor(await fs.readFile(checksumsFile, 'utf8'), archive);
  if (!listed) throw new StageError(`aicr_checksums.txt of v${version} has no entry for ${archive}; refusing to install`);
  if (expectedInput && expectedInput !== listed) {
    throw new StageError(`input sha256 ${expectedInput} differs from the release checksums entry ${listed} for ${archive}; refusing to install`);
  }
  const archivePath = await download(archive);
  const actual = await sha256File(archivePath);
  if (actual !== listed) {
    await fs.rm(archivePath, { force: true });
    throw new StageError(`${archive} failed its checksum: sha256 ${actual}, aicr_checksums.txt says ${listed}; nothing was extracted or cached`);
  }
  log.info(`${archive}: sha256 ${actual} matches aicr_checksums.txt`);
  const extracted = await tc.extractTar(archivePath, path.join(ctx.tempDir, 'aicr-extract'));
  const binary = path.join(extracted, 'aicr');
  const reported = await aicrVersionOf(binary);
  if (!reported) throw new StageError(`${archive} holds no runnable aicr binary`);
  if (reported !== version) log.warning(`the archive's aicr reports version ${reported}, expected ${version}`);
  const toolDir = await tc.cacheDir(extracted, 'aicr', version);
  return done(path.join(toolDir, 'aicr'), 'false', `downloaded, verified (sha256 ${code(actual)}) and cached`);
}

export const stage: Stage = { spec, run };
