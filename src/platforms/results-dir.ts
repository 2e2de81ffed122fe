/**
 * In-cluster engine adapters: Tekton and Argo Workflows.
 *
 * Both engines run the shell CLI (`aicr-ci <stage>`) as a container step, pass
 * params/parameters through the environment (`AICR_CI_<INPUT>`, never spliced
 * into a script) and collect small values from files. This adapter is the
 * shell adapter (same inputs, JSON object on stdout, logs on stderr, summary
 * file, artifact directory) plus:
 *
 * - **Result files.** Every output the engine collects is written to its own
 *   file, after success *and* after failure (then empty, or the stage's
 *   `failureOutputs` value such as `outcome=error`), so nothing downstream finds
 *   a result missing.
 *   - `AICR_CI_RESULT_PATHS`: whitespace-separated `name=path` pairs, one per
 *     output to write. Tekton Tasks set it from `$(results.<name>.path)`, so a
 *     Task decides which outputs are results (small ones only).
 *   - `AICR_CI_OUTPUTS_DIR`: a directory; every declared output, plus `error`,
 *     is written as `<dir>/<name>`. Argo templates read them with
 *     `outputs.parameters[].valueFrom.path` (and a `default`).
 *   - The name `error` is accepted in both: the failure message (empty on success).
 * - **Tekton's result budget.** Tekton carries results in the container's
 *   termination message, at most 4096 bytes of JSON per container, shared with
 *   its own entries. On `tekton` the adapter sums the JSON Tekton will write and
 *   leaves a result empty, with a warning naming it and its size, when it would
 *   not fit (`AICR_CI_RESULTS_MAX_BYTES`, default {@link TEKTON_RESULTS_BUDGET}).
 *   The full value is still in the JSON line on stdout and big data stays in the
 *   workspace.
 * - **Kubeconfig from a mounted Secret.** `AICR_CI_KUBECONFIG_DIR` is where a
 *   kubeconfig Secret is mounted (Tekton: `$(workspaces.kubeconfig.path)`,
 *   empty when the optional workspace is unbound). When the `kubeconfig` input is
 *   not given, `<dir>/<AICR_CI_KUBECONFIG_KEY or "kubeconfig">` is used. If the
 *   file is missing the stage fails naming it, unless
 *   `AICR_CI_KUBECONFIG_OPTIONAL=true` (Argo's `optional: true` Secret volume),
 *   which falls back to the pod's ServiceAccount.
 * - **Writable workspace check.** `AICR_CI_WRITABLE_DIRS` (whitespace-separated
 *   directories) must be writable by the step's user; otherwise the stage fails
 *   before any work with a message that names the directory, the uid/gid and the
 *   fix (`fsGroup`).
 */
import * as fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StageError } from '../core/errors.ts';
import { ShellPlatform } from './shell.ts';

/** Which engine: decides the hint texts and whether Tekton's result budget applies. */
export type Engine = 'tekton' | 'argo';

/**
 * Bytes of result JSON this adapter lets one Tekton step write: the 4096-byte
 * termination-message cap (`pkg/termination/write.go`) less room for the
 * entries Tekton's entrypoint adds itself (`StartedAt`, `ExitCode`, `Reason`).
 */
export const TEKTON_RESULTS_BUDGET = 3840;

/** The output name every engine adapter accepts in addition to the declared ones: the failure message. */
export const ERROR_RESULT = 'error';

/** Size of one result entry in Tekton's termination message (`{"key":…,"value":…,"type":1}`, Go JSON escaping). */
export function tektonEntryBytes(name: string, value: string): number {
  // Go's encoding/json escapes <, > and & as \u003c etc.: 5 extra bytes each.
  const goJson = (s: string): number => Buffer.byteLength(JSON.stringify(s)) + (s.match(/[<>&]/g)?.length ?? 0) * 5;
  return goJson(name) + goJson(value) + '{"key":,"value":,"type":1}'.length;
}

/**
 * Parse `AICR_CI_RESULT_PATHS`: `name=path` pairs separated by whitespace.
 * @throws StageError for a pair without `=` or with an empty name or path.
 */
export function parseResultPaths(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of text.split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw new StageError(`AICR_CI_RESULT_PATHS: '${pair}' is not name=path`);
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

/** Options of {@link ResultsDirPlatform}. */
export interface ResultsDirOptions {
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
}

/**
 * The Tekton / Argo Workflows adapter. See the module comment for the
 * environment it reads.
 */
export class ResultsDirPlatform extends ShellPlatform {
  override readonly name: Engine;
  readonly #env: NodeJS.ProcessEnv;
  readonly #warn: (s: string) => void;

  /**
   * @param engine - `tekton` or `argo`.
   * @param flags - parsed CLI flags (input name → value).
   * @param env - process environment (params arrive as `AICR_CI_<INPUT>`).
   * @param io - where the outputs JSON and logs go (default: the real stdout/stderr).
   */
  constructor(engine: Engine, flags: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv = process.env, io: ResultsDirOptions = {}) {
    super(flags, env, io);
    this.name = engine;
    this.#env = env;
    const stderr = io.stderr ?? ((s: string) => void process.stderr.write(s));
    this.#warn = (s) => stderr(`warning: ${s}\n`);
  }

  /** Input lookup: flags, then `AICR_CI_<INPUT>`, then (for `kubeconfig`) the mounted Secret. */
  override input(name: string): string | undefined {
    const given = super.input(name);
    if (name !== 'kubeconfig' || (given !== undefined && given !== '')) return given;
    const dir = this.#env.AICR_CI_KUBECONFIG_DIR?.trim();
    if (!dir) return given;
    const file = path.join(dir, this.#env.AICR_CI_KUBECONFIG_KEY?.trim() || 'kubeconfig');
    if (existsSync(file)) return file;
    if (this.#env.AICR_CI_KUBECONFIG_OPTIONAL === 'true') return given;
    // Bound but without the key: let the stage fail on the missing file, naming it.
    return file;
  }

  /** Fail early when a workspace the step writes to is not writable by this (non-root) user. */
  async prepare(): Promise<void> {
    if (!this.#env.AICR_CI_RESULT_PATHS?.trim() && !this.#env.AICR_CI_OUTPUTS_DIR?.trim()) {
      throw new StageError(
        `AICR_CI_PLATFORM=${this.name} needs AICR_CI_RESULT_PATHS (name=path pairs, e.g. from $(results.<name>.path)) or AICR_CI_OUTPUTS_DIR (a directory for one file per output)`,
      );
    }
    for (const dir of (this.#env.AICR_CI_WRITABLE_DIRS ?? '').split(/\s+/).filter(Boolean)) {
      const probe = path.join(dir, `.aicr-ci-write-probe-${process.pid}`);
      try {
        await fs.writeFile(probe, '');
        await fs.rm(probe, { force: true });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        const who = typeof process.getuid === 'function' ? `uid ${process.getuid()} gid ${process.getgid?.()}` : 'this user';
        const fix =
          this.name === 'tekton'
            ? 'set the TaskRun/PipelineRun podTemplate securityContext.fsGroup (e.g. 65532) so the volume is group-writable, or bind a volume this user owns'
            : "set the Workflow's securityContext.fsGroup (e.g. 65532) so the volume is group-writable, or use an emptyDir";
        throw new StageError(`workspace ${dir} is not writable by ${who} (${code}); the step runs as non-root: ${fix}`);
      }
    }
  }

  /** Print the JSON line, then write one file per result, even after a failure. */
  override async setOutputs(outputs: Readonly<Record<string, string>>, declared: readonly string[]): Promise<void> {
    await super.setOutputs(outputs, declared);
    const values: Record<string, string> = { ...outputs, [ERROR_RESULT]: this.failed ?? '' };
    const targets = this.#targets(declared);
    let budget = this.name === 'tekton' ? Number(this.#env.AICR_CI_RESULTS_MAX_BYTES || TEKTON_RESULTS_BUDGET) : Number.POSITIVE_INFINITY;
    for (const [name, file] of targets) {
      let value = name === ERROR_RESULT || declared.includes(name) ? (values[name] ?? '') : '';
      if (name !== ERROR_RESULT && !declared.includes(name)) {
        this.#warn(`result '${name}' is not an output of this stage; written empty`);
      }
      if (this.name === 'tekton') {
        let size = tektonEntryBytes(name, value);
        if (size > budget && name === ERROR_RESULT) {
          // Keep the head of the message: a truncated error still says what failed.
          while (value.length > 0 && tektonEntryBytes(name, `${value}…`) > budget) value = value.slice(0, Math.max(0, value.length - 64));
          value = value ? `${value}…` : '';
          size = tektonEntryBytes(name, value);
        }
        if (size > budget) {
          this.#warn(
            `result '${name}' (${Buffer.byteLength(value)} bytes) left empty: it does not fit in the ${budget} bytes left of Tekton's 4096-byte result budget; the full value is in the JSON line on stdout`,
          );
          value = '';
          size = tektonEntryBytes(name, value);
        }
        budget -= size + 1;
      }
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, value);
    }
  }

  /** Output name → file to write, from `AICR_CI_RESULT_PATHS` or `AICR_CI_OUTPUTS_DIR` (none when neither is set). */
  #targets(declared: readonly string[]): Map<string, string> {
    const pairs = this.#env.AICR_CI_RESULT_PATHS?.trim();
    if (pairs) return parseResultPaths(pairs);
    const dir = this.#env.AICR_CI_OUTPUTS_DIR?.trim();
    if (!dir) return new Map();
    return new Map([...declared, ERROR_RESULT].map((n) => [n, path.join(dir, n)]));
  }

  /** Scratch space: `AICR_CI_TEMP`, else the OS temp dir (an emptyDir in the Task/template). */
  override tempDir(): string {
    return this.#env.AICR_CI_TEMP || os.tmpdir();
  }
}
