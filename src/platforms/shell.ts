/**
 * Shell adapter: the same stages as a plain CLI, `aicr-ci <stage> --<input> <value>`.
 *
 * - Inputs: flags named exactly like the action inputs; an input not given as
 *   a flag falls back to the environment variable `AICR_CI_<NAME>` (upper
 *   case, `-` as `_`), which is how Tekton and Argo steps pass params without
 *   splicing them into a script.
 * - Outputs: one JSON object on stdout when the stage ends.
 * - Logs and annotations: stderr.
 * - Summary: appended to the file named by `AICR_CI_SUMMARY`, if set.
 * - Artifacts: directories under `AICR_CI_ARTIFACT_DIR/<name>/`, if set.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { StageError } from '../core/errors.ts';
import type { AnnotationProps, ArtifactUpload, Level, Platform, UploadedArtifact } from '../core/platform.ts';

/** Environment variable that carries input `name` for the shell CLI. */
export function inputEnvName(name: string): string {
  return `AICR_CI_${name.replace(/[- ]/g, '_').toUpperCase()}`;
}

export class ShellPlatform implements Platform {
  readonly name: string = 'shell';
  readonly #flags: ReadonlyMap<string, string>;
  readonly #env: NodeJS.ProcessEnv;
  readonly #stdout: (s: string) => void;
  readonly #stderr: (s: string) => void;
  readonly #secrets: string[] = [];
  failed: string | undefined;

  constructor(
    flags: ReadonlyMap<string, string>,
    env: NodeJS.ProcessEnv = process.env,
    io: { stdout?: (s: string) => void; stderr?: (s: string) => void } = {},
  ) {
    this.#flags = flags;
    this.#env = env;
    this.#stdout = io.stdout ?? ((s) => process.stdout.write(s));
    this.#stderr = io.stderr ?? ((s) => process.stderr.write(s));
  }

  input(name: string): string | undefined {
    return this.#flags.get(name) ?? this.#env[inputEnvName(name)];
  }

  #redact(s: string): string {
    let out = s;
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    return out;
  }

  log(level: Level, message: string): void {
    if (level === 'debug' && !this.#env.AICR_CI_DEBUG) return;
    const prefix = level === 'info' ? '' : `${level}: `;
    this.#stderr(`${prefix}${this.#redact(message)}\n`);
  }

  annotate(level: Exclude<Level, 'debug'>, message: string, props?: AnnotationProps): void {
    const where = props?.file ? ` (${props.file}${props.startLine ? `:${props.startLine}` : ''})` : '';
    const title = props?.title ? `${props.title}: ` : '';
    this.#stderr(`${level === 'info' ? 'notice' : level}: ${title}${this.#redact(message)}${where}\n`);
  }

  mask(value: string): void {
    if (value.length >= 4) this.#secrets.push(value);
  }

  async setOutputs(outputs: Readonly<Record<string, string>>, declared: readonly string[]): Promise<void> {
    const obj: Record<string, string> = {};
    for (const name of declared) if (name in outputs) obj[name] = outputs[name];
    if (this.failed !== undefined) obj.error = this.failed;
    this.#stdout(`${JSON.stringify(obj)}\n`);
  }

  async summary(markdown: string): Promise<void> {
    const file = this.#env.AICR_CI_SUMMARY;
    if (file) await fs.appendFile(file, `${markdown}\n`);
  }

  async uploadArtifact(upload: ArtifactUpload): Promise<UploadedArtifact | undefined> {
    const base = this.#env.AICR_CI_ARTIFACT_DIR;
    if (!base) return undefined;
    const dest = path.resolve(base, upload.name);
    // Write into a temp sibling and rename, so a reader never sees half an artifact.
    const tmp = `${dest}.tmp-${process.pid}`;
    await fs.rm(tmp, { recursive: true, force: true });
    for (const f of upload.files) {
      await fs.mkdir(path.dirname(path.join(tmp, f)), { recursive: true });
      await fs.copyFile(path.join(upload.root, f), path.join(tmp, f));
    }
    await fs.rm(dest, { recursive: true, force: true });
    await fs.rename(tmp, dest);
    return { name: upload.name, id: dest };
  }

  async downloadArtifact(name: string, destDir: string): Promise<string> {
    const base = this.#env.AICR_CI_ARTIFACT_DIR;
    if (!base) {
      throw new StageError(`cannot fetch artifact '${name}': set AICR_CI_ARTIFACT_DIR to the directory holding artifacts, or pass a path instead`);
    }
    const src = path.resolve(base, name);
    try {
      await fs.cp(src, destDir, { recursive: true, errorOnExist: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new StageError(`artifact '${name}' not found: no directory ${src}`);
      }
      throw err;
    }
    return destDir;
  }

  addPath(dir: string): void {
    // A child process cannot change its parent's PATH: say what to run.
    this.#stderr(`add to PATH: export PATH=${dir}:$PATH\n`);
    process.env.PATH = `${dir}${path.delimiter}${process.env.PATH ?? ''}`;
  }

  tempDir(): string {
    return this.#env.AICR_CI_TEMP || os.tmpdir();
  }

  fail(message: string): void {
    this.failed = message;
    this.#stderr(`error: ${this.#redact(message)}\n`);
  }
}
