/**
 * Declarative description of a stage's inputs and outputs.
 *
 * One spec per stage is the single source of truth for: input validation in
 * every adapter, the generated `actions/<stage>/action.yml`, the shell CLI's
 * flags and `--help`, and the Tekton/Argo parameter lists.
 */

/** How an input's raw string is interpreted. */
export type InputKind =
  /** Free text (paths, URLs, names). */
  | 'string'
  /** `true`/`false` in the YAML 1.2 core forms (`true|True|TRUE|false|False|FALSE`). */
  | 'boolean'
  /** A base-10 integer, optionally bounded by `min`/`max`. */
  | 'integer'
  /** One of `values`; the error lists them. */
  | 'enum'
  /** Newline-separated list; blank lines and `#` comments are dropped. */
  | 'list'
  /** A Go duration as `aicr --timeout` takes it (`90s`, `5m`, `1h30m`). */
  | 'duration'
  /** A YAML or JSON document given inline (for example a list of environments). */
  | 'yaml';

/** One input of a stage. */
export interface InputSpec {
  readonly name: string;
  readonly description: string;
  readonly kind: InputKind;
  /** Default as the raw string a user would type; absent means "not set". */
  readonly default?: string;
  readonly required?: boolean;
  /** Allowed values for `enum` inputs. */
  readonly values?: readonly string[];
  /** Bounds for `integer` inputs (inclusive). */
  readonly min?: number;
  readonly max?: number;
  /** Masked in logs (tokens). */
  readonly secret?: boolean;
  /**
   * An explicitly empty value means "none" instead of "use the default"
   * (e.g. `artifact-name: ''` turns the upload off).
   */
  readonly emptyIsValue?: boolean;
  /**
   * Default written into action.yml only, when it is a GitHub expression
   * (e.g. `${{ github.token }}`) that means nothing to the shell CLI.
   */
  readonly actionDefault?: string;
}

/** One output of a stage. */
export interface OutputSpec {
  readonly name: string;
  readonly description: string;
}

/** The full description of a stage. */
export interface StageSpec {
  /** Stage name: the CLI subcommand, the `actions/<name>` folder and the `dist/<name>` entry. */
  readonly name: string;
  /** Human title for summaries and docs. */
  readonly title: string;
  /** One-paragraph description. */
  readonly description: string;
  /** One line, at most 125 characters (GitHub Marketplace's limit for action.yml descriptions). */
  readonly summary?: string;
  /** A copy-paste workflow snippet (the steps) shown in the README section of the action. */
  readonly example?: string;
  readonly inputs: readonly InputSpec[];
  readonly outputs: readonly OutputSpec[];
}

/** Inputs every stage accepts (artifact transport and logging). */
export function commonInputs(stage: string, opts: { product: boolean }): InputSpec[] {
  const inputs: InputSpec[] = [
    {
      name: 'aicr-path',
      description: 'Path of the `aicr` binary to run. Default: `aicr` from PATH (installed by the root setup action).',
      kind: 'string',
      default: 'aicr',
    },
    {
      name: 'working-directory',
      description: 'Directory relative paths are resolved against. Default: the current directory (the workspace on GitHub).',
      kind: 'string',
      default: '.',
    },
    {
      name: 'log-format',
      description: 'Log format: `text` for people, `json` for one JSON event per step (and `--log-json` passed to aicr).',
      kind: 'enum',
      values: ['text', 'json'],
      default: 'text',
    },
  ];
  if (opts.product) {
    inputs.push(
      {
        name: 'artifact-name',
        description: `Name of the artifact this stage uploads its product to; make it unique per matrix leg. Empty: no upload. Default: \`aicr-${stage}\`.`,
        kind: 'string',
        default: `aicr-${stage}`,
        emptyIsValue: true,
      },
      {
        name: 'artifact-retention-days',
        description: 'Retention of the uploaded artifact in days (1-90); 0 uses the repository default.',
        kind: 'integer',
        default: '0',
        min: 0,
        max: 90,
      },
    );
  }
  return inputs;
}

/** Outputs every stage that uploads a product sets. */
export const artifactOutputs: readonly OutputSpec[] = [
  { name: 'artifact-name', description: 'Name of the uploaded artifact (empty when nothing was uploaded).' },
  { name: 'artifact-id', description: 'ID of the uploaded artifact where the platform assigns one.' },
];
