/**
 * The platform port: everything a stage needs from the CI engine it runs on.
 *
 * Stage logic talks only to this interface. Adapters in `src/platforms/`
 * implement it for GitHub Actions, the shell CLI, Tekton and Argo Workflows.
 */

/** Severity of a log line or annotation. */
export type Level = 'debug' | 'info' | 'warning' | 'error';

/** Where an annotation points (GitHub shows it on the file; others log it). */
export interface AnnotationProps {
  title?: string;
  file?: string;
  startLine?: number;
}

/** A product to publish as an artifact: files relative to `root`. */
export interface ArtifactUpload {
  name: string;
  root: string;
  /** Relative paths under `root`; hidden files are included by the stage. */
  files: string[];
  /** 0 means the platform default. */
  retentionDays: number;
}

/** Result of an upload: where it went. */
export interface UploadedArtifact {
  name: string;
  /** Platform id (GitHub artifact id) or a location (a directory path). */
  id: string;
}

/** Where to find an earlier run's artifact (GitHub cross-run downloads). */
export interface ArtifactSource {
  /** Workflow run id; absent means the current run. */
  runId?: string;
  /** `owner/name`; absent means the current repository. */
  repository?: string;
  /** Token with `actions:read` for cross-run downloads. */
  token?: string;
}

/** The port. All methods are safe to call in any order; none throws for logging. */
export interface Platform {
  /** `github`, `shell`, `tekton` or `argo`. */
  readonly name: string;
  /** Raw input value as the user gave it, or `undefined` when not given at all. */
  input(name: string): string | undefined;
  log(level: Level, message: string): void;
  annotate(level: Exclude<Level, 'debug'>, message: string, props?: AnnotationProps): void;
  /** Hide a value in all later logs (GitHub masking); no-op elsewhere. */
  mask(value: string): void;
  /** Publish the stage's outputs. Called once, after success or failure. */
  setOutputs(outputs: Readonly<Record<string, string>>, declared: readonly string[]): Promise<void>;
  /** Append Markdown to the run's summary. */
  summary(markdown: string): Promise<void>;
  /** Upload a product. Returns `undefined` when this platform cannot upload right now (no runtime token). */
  uploadArtifact(upload: ArtifactUpload): Promise<UploadedArtifact | undefined>;
  /** Download an artifact by name into `destDir` (created); returns the directory holding its files. */
  downloadArtifact(name: string, destDir: string, source?: ArtifactSource): Promise<string>;
  /** Prepend a directory to PATH for this and later steps (GITHUB_PATH on GitHub). */
  addPath(dir: string): void;
  /** A scratch directory owned by this run (RUNNER_TEMP on GitHub). */
  tempDir(): string;
  /** Mark the run failed with this message (exit status set by the adapter). */
  fail(message: string): void;
  /**
   * Optional check of the environment the stage runs in, called once after the
   * inputs are read and before any work (Tekton/Argo: the workspace is writable
   * by the step's non-root user). Throwing fails the stage like any error:
   * the message is shown and only the stage's `failureOutputs` are published.
   */
  prepare?(): Promise<void>;
}
