/**
 * Helpers several stages share: input files that may come from an artifact,
 * the kubeconfig, and the common input/output declarations.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { FileError, InputError } from '../core/errors.ts';
import { documentInArtifact } from '../core/fsutil.ts';
import { describeTarget, kubeArgs, resolveKube, type KubeArgs, type KubeTarget } from '../core/kubeconfig.ts';
import type { InputSpec } from '../core/spec.ts';
import type { StageContext } from '../core/stage.ts';

/** The `kubeconfig` input, identical on every stage that talks to a cluster. */
export const kubeconfigInput: InputSpec = {
  name: 'kubeconfig',
  description:
    'Kubeconfig path or content. Default: `KUBECONFIG`, then in-cluster credentials, then `~/.kube/config`. Exported as `KUBECONFIG` to aicr.',
  kind: 'string',
  secret: false,
};

/** The URL of the GitHub Actions run this stage is part of, or `''` elsewhere. */
export function runUrl(env: Readonly<Record<string, string | undefined>>): string {
  return env.GITHUB_RUN_ID ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : '';
}

/** True for inputs aicr reads itself: `cm://`, `http://`, `https://`. */
export function isRemote(ref: string): boolean {
  return /^(cm|https?):\/\//.test(ref);
}

/**
 * Resolve the cluster for this stage and log which one was chosen.
 * @returns the target (undefined when nothing is configured) and aicr argv/env for it.
 */
export async function kubeFor(ctx: StageContext): Promise<{ target?: KubeTarget } & KubeArgs> {
  const target = await resolveKube(ctx.inputs.optional('kubeconfig'), ctx.env, ctx.tempDir);
  if (target) ctx.log.info(`Kubernetes: ${describeTarget(target)}`);
  return { target, ...kubeArgs(target) };
}

/**
 * Like {@link kubeFor}, for work that cannot run without a cluster.
 * @param why - what needs it, for the message (`job mode`, `reading cm://ns/x`).
 * @throws InputError naming input `kubeconfig` when no cluster is configured.
 */
export async function requireKube(ctx: StageContext, why: string): Promise<{ target: KubeTarget } & KubeArgs> {
  const k = await kubeFor(ctx);
  if (!k.target) {
    throw new InputError('kubeconfig', `${why} needs a cluster, and none is configured: set input kubeconfig or KUBECONFIG, or run in a pod with a ServiceAccount (nothing was run)`);
  }
  return { ...k, target: k.target };
}


/**
 * Locate an input document that is either a path/URI (`pathInput`) or inside
 * an earlier stage's artifact (`artifactInput`).
 *
 * With an artifact, `pathInput` (if given) is the path inside the artifact;
 * otherwise the artifact must hold exactly one file with one of `extensions`.
 *
 * @returns an absolute local path, a `cm://`/`http(s)://` URI passed through,
 *   or `undefined` when neither input is set.
 * @throws InputError when the file does not exist or the artifact is ambiguous.
 */
export async function fileOrArtifact(
  ctx: StageContext,
  pathInput: string,
  artifactInput?: string,
  extensions: readonly string[] = ['.yaml', '.yml', '.json'],
): Promise<string | undefined> {
  const ref = ctx.inputs.optional(pathInput);
  const artifact = artifactInput ? ctx.inputs.optional(artifactInput) : undefined;
  if (artifact && artifactInput) {
    const dir = await ctx.downloadArtifact(artifact);
    const file = await documentInArtifact(
      dir,
      artifact,
      ref,
      (m) => new InputError(ref ? pathInput : artifactInput, m),
      `set input '${pathInput}' to the one to use`,
      extensions,
    );
    if (ref) await mustExist(file, pathInput, `in artifact '${artifact}'`);
    return file;
  }
  if (!ref) return undefined;
  if (isRemote(ref)) return ref;
  const abs = ctx.resolve(ref);
  await mustExist(abs, pathInput);
  return abs;
}

async function mustExist(p: string, input: string, where = ''): Promise<void> {
  try {
    await fs.access(p);
  } catch {
    throw new InputError(input, `'${p}' does not exist${where ? ` ${where}` : ''}`);
  }
}

/** Same as {@link fileOrArtifact} but for a directory product (a bundle). */
export async function dirOrArtifact(ctx: StageContext, pathInput: string, artifactInput: string): Promise<string | undefined> {
  const ref = ctx.inputs.optional(pathInput);
  const artifact = ctx.inputs.optional(artifactInput);
  let dir: string | undefined;
  if (artifact) {
    const root = await ctx.downloadArtifact(artifact);
    dir = ref ? path.resolve(root, ref) : root;
  } else if (ref) {
    dir = ctx.resolve(ref);
  } else {
    return undefined;
  }
  const st = await fs.stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new FileError(dir, `is not a directory (input '${artifact ? artifactInput : pathInput}')`);
  return dir;
}

/** Split `output` into the directory and file name a product is uploaded from. */
export function productOf(file: string): { root: string; files: string[] } {
  return { root: path.dirname(file), files: [path.basename(file)] };
}
