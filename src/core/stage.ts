/**
 * The contract between the platform-neutral runner and each stage module.
 */
import type { Aicr } from './aicr.ts';
import type { Inputs } from './inputs.ts';
import type { StageLog } from './log.ts';
import type { AnnotationProps, ArtifactSource, Level } from './platform.ts';
import type { StageSpec } from './spec.ts';

/** What a stage gets to do its work. No platform types leak in here. */
export interface StageContext {
  readonly inputs: Inputs;
  readonly log: StageLog;
  readonly aicr: Aicr;
  /** Absolute working directory (input `working-directory`). */
  readonly workDir: string;
  /** Scratch directory owned by this run. */
  readonly tempDir: string;
  /** Process environment (read-only view). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Resolve a user path against the working directory. */
  resolve(p: string): string;
  /** Download an earlier stage's artifact; returns the directory holding its files. */
  downloadArtifact(name: string, source?: ArtifactSource): Promise<string>;
}

/** An annotation to show on the run (GitHub) or log (elsewhere). */
export interface Annotation {
  level: Exclude<Level, 'debug'>;
  message: string;
  props?: AnnotationProps;
}

/** What a stage produced. The runner publishes it; the stage never touches the platform. */
export interface StageResult {
  /** Values for the declared outputs (missing ones are published empty). */
  outputs: Record<string, string>;
  /** Files to upload as the stage's artifact (relative to `root`, hidden files included). */
  product?: { root: string; files: string[] };
  /**
   * Further named artifacts (a promoted baseline, say); uploaded after the
   * main product under their own names.
   */
  extraProducts?: { name: string; root: string; files: string[] }[];
  /** Directories to put on PATH for later steps (setup). */
  addPath?: string[];
  /** Markdown for the job summary. */
  summary: string;
  annotations?: Annotation[];
  /**
   * Non-zero when the stage completed and published but the step must fail
   * (drift found with `fail-on-drift`). `failMessage` says why.
   */
  exitCode?: number;
  failMessage?: string;
}

/** A stage module: its spec and its work. */
export interface Stage {
  readonly spec: StageSpec;
  run(ctx: StageContext): Promise<StageResult>;
  /** Outputs published when the stage fails (e.g. `outcome: error`); others are published empty. */
  readonly failureOutputs?: Readonly<Record<string, string>>;
}

/** Exit codes of the shell CLI (and the meaning of a failed step elsewhere). */
export const EXIT = {
  ok: 0,
  /** The stage's gate tripped after publishing (drift-check: drift found). */
  gate: 1,
  /** Bad input, aicr failure, I/O or network error: nothing valid was published. */
  error: 2,
} as const;
