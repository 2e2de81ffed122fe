/**
 * Runs the real `aicr` CLI: exact command logged, inputs passed as argv (never
 * through a shell), stderr forwarded to the stage log, exit codes turned into
 * messages.
 */
import { getExecOutput } from '@actions/exec';
import { AicrError, StageError } from './errors.ts';
import type { StageLog } from './log.ts';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** Strip ANSI colour codes (aicr colours its logs even when not on a TTY). */
export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/** Quote one argument for display in a POSIX shell (display only; nothing is run through a shell). */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Result of one aicr invocation. */
export interface AicrRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The command as logged (`aicr recipe --service eks ...`). */
  command: string;
  durationMs: number;
}

/** Options of {@link Aicr}. */
export interface AicrOptions {
  /** Binary to run (`aicr` resolves through PATH). */
  bin: string;
  log: StageLog;
  /** Pass `--log-json` so aicr logs JSON too. */
  logJson: boolean;
  /** Extra environment (e.g. KUBECONFIG, AICR_AGENT_MODE). */
  env?: Record<string, string>;
  cwd?: string;
}

/**
 * The aicr runner used by every stage.
 *
 * Behaviour follows NVIDIA/aicr v0.11.1 `pkg/cli/root.go`: global flags
 * (`--log-json`) may precede the subcommand; logs go to stderr and results to
 * stdout; on failure the last stderr line is `command failed: error=... exitCode=N`.
 */
export class Aicr {
  readonly bin: string;
  readonly #opts: AicrOptions;
  readonly #helpCache = new Map<string, Promise<Set<string>>>();

  constructor(opts: AicrOptions) {
    this.bin = opts.bin;
    this.#opts = opts;
  }

  /** argv for `aicr <subcommand> <args>`, with `--log-json` when asked. */
  argv(subcommand: string, args: readonly string[]): string[] {
    return [...(this.#opts.logJson ? ['--log-json'] : []), subcommand, ...args];
  }

  /**
   * Run `aicr <subcommand> <args>`.
   *
   * @param opts.env - extra environment for this call only.
   * @param opts.okCodes - exit codes that are not failures (default `[0]`).
   * @returns the run; stdout is the command's result (recipe YAML, bundle summary...).
   * @throws AicrError on an exit code outside `okCodes`, with aicr's own error line.
   * @throws StageError when the binary cannot be started.
   */
  async run(
    subcommand: string,
    args: readonly string[],
    opts: { env?: Record<string, string>; cwd?: string; okCodes?: number[]; quiet?: boolean } = {},
  ): Promise<AicrRun> {
    const argv = this.argv(subcommand, args);
    const envExtra = { ...this.#opts.env, ...opts.env };
    const envPrefix = Object.entries(envExtra)
      .filter(([k]) => k.startsWith('AICR_') || k === 'KUBECONFIG')
      .map(([k, v]) => `${k}=${shellQuote(v)} `)
      .join('');
    const command = `${envPrefix}${[this.bin, ...argv].map(shellQuote).join(' ')}`;
    const log = this.#opts.log;
    if (!opts.quiet) log.info(`$ ${command}`);
    const started = performance.now();
    let result;
    try {
      result = await getExecOutput(this.bin, argv, {
        cwd: opts.cwd ?? this.#opts.cwd,
        env: { ...(process.env as Record<string, string>), ...envExtra },
        silent: true,
        ignoreReturnCode: true,
        listeners: opts.quiet
          ? {}
          : { errline: (line: string) => log.info(log.format === 'json' ? line : `  ${stripAnsi(line)}`) },
      });
    } catch (err) {
      throw new StageError(
        `cannot run aicr at '${this.bin}': ${(err as Error).message.replace(/\.+$/, '')}. Install aicr (GitHub: the root action nvidia/aicr@v1; shell: aicr-ci setup, or go install github.com/NVIDIA/aicr/cmd/aicr) and put it on PATH, or point input aicr-path (--aicr-path, AICR_CI_AICR_PATH) at it`,
        { cause: err },
      );
    }
    const run: AicrRun = {
      exitCode: result.exitCode,
      stdout: result.stdout,
      stderr: result.stderr,
      command,
      durationMs: Math.round(performance.now() - started),
    };
    if (!(opts.okCodes ?? [0]).includes(result.exitCode)) {
      throw new AicrError(command, result.exitCode, failureDetail(result.stderr, result.stdout));
    }
    return run;
  }

  /**
   * The long flag names (`--service`, ...) that `aicr <subcommand> --help`
   * lists, cached per run. Used to refuse inputs the installed aicr lacks.
   */
  flags(subcommand: string): Promise<Set<string>> {
    let p = this.#helpCache.get(subcommand);
    if (!p) {
      p = this.run(subcommand, ['--help'], { quiet: true }).then((r) => parseHelpFlags(r.stdout));
      this.#helpCache.set(subcommand, p);
    }
    return p;
  }
}

/**
 * Flag names (`--name` and aliases) listed in urfave/cli help text.
 * Mirrors the OPTIONS layout of urfave/cli v3 as printed by aicr v0.11.1.
 */
export function parseHelpFlags(help: string): Set<string> {
  const flags = new Set<string>();
  for (const line of help.split('\n')) {
    const m = /^\s{2,}(--?[A-Za-z][\w-]*.*?)(?:\s{2,}|$)/.exec(line);
    if (!m) continue;
    for (const f of m[1].matchAll(/--([A-Za-z][\w-]*)/g)) flags.add(`--${f[1]}`);
  }
  return flags;
}

/** The most useful error line aicr printed (text or JSON logs). */
export function failureDetail(stderr: string, stdout: string): string {
  const lines = stripAnsi(stderr).split('\n').map((l) => l.trim()).filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (line.startsWith('{')) {
      try {
        const j = JSON.parse(line) as Record<string, unknown>;
        if (typeof j.error === 'string') return j.error;
      } catch {
        /* not JSON */
      }
      continue;
    }
    const m = /command failed: error=(.*?)(?: exitCode=\d+)?$/.exec(line);
    if (m) return m[1];
  }
  const usage = lines.find((l) => /Incorrect Usage|flag provided but not defined|Required flag/.test(l));
  if (usage) return usage;
  const last = lines.at(-1) ?? stripAnsi(stdout).trim().split('\n').at(-1) ?? '';
  return last.replace(/^\[\w+\]\s*/, '');
}
