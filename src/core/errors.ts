/**
 * Error types a stage can raise. Each carries a message written for the person
 * reading the CI log: what failed, with which input or file, and what was expected.
 */

/** A bad input value, detected before anything runs. */
export class InputError extends Error {
  /** Input name as the user wrote it (`deployer`, `snapshot`, ...). */
  readonly input: string;
  constructor(input: string, message: string) {
    super(`input '${input}': ${message}`);
    this.name = 'InputError';
    this.input = input;
  }
}

/** Several input errors reported together so the user fixes them in one go. */
export class InputErrors extends Error {
  readonly errors: readonly InputError[];
  constructor(errors: readonly InputError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'InputErrors';
    this.errors = errors;
  }
}

/**
 * Meaning of `aicr`'s exit codes.
 *
 * Mirrors `pkg/errors/exitcode.go` in NVIDIA/aicr (v0.11.1): the outermost
 * StructuredError decides the code; urfave usage errors exit 1.
 */
export const AICR_EXIT_MEANINGS: Readonly<Record<number, string>> = {
  1: 'aicr rejected the command line (usage error or unknown/missing flag)',
  2: 'aicr rejected the input as invalid',
  3: 'aicr could not find something it needed (file, ConfigMap, RuntimeClass, GPU)',
  4: 'aicr was not authorized (missing RBAC permission or failed verification)',
  5: 'aicr timed out',
  6: 'aicr could not reach a service it needed (API server, URL)',
  7: 'aicr was rate limited',
  8: 'aicr failed internally (for example recipe criteria that match nothing, or a failed Job or constraint)',
};

/** `aicr` exited non-zero. */
export class AicrError extends Error {
  readonly exitCode: number;
  readonly command: string;
  /** The last `command failed` / error line aicr printed, ANSI stripped. */
  readonly detail: string;
  constructor(command: string, exitCode: number, detail: string) {
    const meaning = AICR_EXIT_MEANINGS[exitCode] ?? 'aicr failed';
    super(`${command} exited ${exitCode}: ${meaning}${detail ? `: ${detail}` : ''}`);
    this.name = 'AicrError';
    this.exitCode = exitCode;
    this.command = command;
    this.detail = detail;
  }
}

/** A product or input file that is not what the stage expects. */
export class FileError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'FileError';
    this.path = path;
  }
}

/** Any other failure with a clear message (network, checksum, git). */
export class StageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StageError';
  }
}

/** Message of any thrown value, never `[object Object]`. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}
