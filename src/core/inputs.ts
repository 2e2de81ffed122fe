import { InputError, InputErrors } from './errors.ts';
import { parseYamlDoc } from './yaml.ts';
import type { InputSpec, StageSpec } from './spec.ts';

const TRUE = new Set(['true', 'True', 'TRUE']);
const FALSE = new Set(['false', 'False', 'FALSE']);
/** Go `time.ParseDuration` syntax, as `aicr --timeout` takes it. */
const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;

/**
 * Validated, typed view of a stage's inputs.
 *
 * Construct with {@link readInputs}; every accessor then returns a value that
 * already passed validation, with the spec's default applied.
 */
export class Inputs {
  readonly spec: StageSpec;
  readonly #raw: ReadonlyMap<string, string>;

  constructor(spec: StageSpec, raw: ReadonlyMap<string, string>) {
    this.spec = spec;
    this.#raw = raw;
  }

  #specOf(name: string): InputSpec {
    const s = this.spec.inputs.find((i) => i.name === name);
    if (!s) throw new Error(`stage ${this.spec.name} has no input '${name}'`);
    return s;
  }

  /** True when the user gave a non-empty value (defaults do not count). */
  given(name: string): boolean {
    this.#specOf(name);
    return (this.#raw.get(name) ?? '') !== '';
  }

  /** The value, or the default, or `''`. Trimmed. An empty value means the default unless the spec says `emptyIsValue`. */
  string(name: string): string {
    const s = this.#specOf(name);
    const v = this.#raw.get(name);
    return v !== undefined && (v !== '' || s.emptyIsValue) ? v : (s.default ?? '');
  }

  /** The value or default when non-empty, else `undefined`. */
  optional(name: string): string | undefined {
    const v = this.string(name);
    return v === '' ? undefined : v;
  }

  bool(name: string): boolean {
    return TRUE.has(this.string(name));
  }

  /** Integer value or `undefined` when unset. */
  int(name: string): number | undefined {
    const v = this.string(name);
    return v === '' ? undefined : Number.parseInt(v, 10);
  }

  /** List items: one per line, blank lines and `#` comments dropped. */
  list(name: string): string[] {
    return splitList(this.string(name));
  }

  /** Parsed inline YAML/JSON, or `undefined` when unset. */
  yaml(name: string): unknown {
    const v = this.string(name);
    return v === '' ? undefined : parseYamlDoc(v, `input '${name}'`);
  }

  /** Every input with a non-empty effective value, for logs and events (secrets masked). */
  effective(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const s of this.spec.inputs) {
      const v = this.string(s.name);
      if (v !== '') out[s.name] = s.secret ? '***' : v;
    }
    return out;
  }
}

/** Split a multi-line input into items (trimmed; blank lines and `#` comments dropped). */
export function splitList(value: string): string[] {
  return value
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Check one raw value against its spec; returns an error message or undefined. */
export function checkInput(spec: InputSpec, value: string): string | undefined {
  switch (spec.kind) {
    case 'boolean':
      if (!TRUE.has(value) && !FALSE.has(value)) return `expected true or false; got '${value}'`;
      return undefined;
    case 'integer': {
      if (!/^-?\d+$/.test(value)) return `expected an integer; got '${value}'`;
      const n = Number.parseInt(value, 10);
      if (spec.min !== undefined && n < spec.min) return `expected an integer >= ${spec.min}; got ${n}`;
      if (spec.max !== undefined && n > spec.max) return `expected an integer <= ${spec.max}; got ${n}`;
      return undefined;
    }
    case 'enum':
      if (!spec.values?.includes(value)) return `expected one of ${spec.values?.join(', ')}; got '${value}'`;
      return undefined;
    case 'duration':
      if (!GO_DURATION.test(value)) return `expected a duration such as 90s, 5m or 1h30m; got '${value}'`;
      return undefined;
    case 'yaml':
      try {
        parseYamlDoc(value, 'value');
      } catch (err) {
        return `expected YAML or JSON: ${(err as Error).message.split('\n')[0].replace(/^value: /, '')}`;
      }
      return undefined;
    case 'list':
      for (const item of splitList(value)) if (item.includes('\0')) return 'list items must not contain NUL bytes';
      return undefined;
    case 'string':
      if (value.includes('\0')) return 'must not contain NUL bytes';
      return undefined;
  }
}

/**
 * Read and validate every input of `spec` through `get`.
 *
 * @param spec - the stage spec.
 * @param get - returns the raw value of an input, `undefined` when absent.
 * @returns the typed inputs.
 * @throws InputErrors listing every invalid or missing required input at once.
 */
export function readInputs(spec: StageSpec, get: (name: string) => string | undefined): Inputs {
  const raw = new Map<string, string>();
  const errors: InputError[] = [];
  for (const s of spec.inputs) {
    const given = get(s.name);
    // Lists keep inner newlines; every other kind is trimmed like @actions/core does.
    const v = given === undefined ? undefined : s.kind === 'list' || s.kind === 'yaml' ? given : given.trim();
    if (v !== undefined) raw.set(s.name, v);
    const effective = v !== undefined && (v !== '' || s.emptyIsValue) ? v : s.default;
    if (effective === undefined || effective === '') {
      if (s.required) errors.push(new InputError(s.name, 'is required but was not given'));
      continue;
    }
    const problem = checkInput(s, effective);
    if (problem) errors.push(new InputError(s.name, problem));
  }
  if (errors.length > 0) throw new InputErrors(errors);
  return new Inputs(spec, raw);
}
