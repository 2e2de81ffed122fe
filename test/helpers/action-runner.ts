/**
 * Run a JavaScript action entry the way the GitHub Actions runner's Node
 * handler does: a child `node <entry>` with `INPUT_*` variables and fresh
 * file-command files. Then read back what the step published.
 *
 * This follows actions/runner (NodeScriptActionHandler, Handler.AddInputsToEnvironment,
 * FileCommandManager, ActionCommand). The key of an input is `INPUT_` + the
 * name uppercased with spaces turned into `_`. Hyphens are kept
 * (`recipe-file` -> `INPUT_RECIPE-FILE`).
 *
 * Stdout and stderr lines are both parsed as workflow commands, as on the
 * runner. Masking is only reported, not applied: `masks` lists the values;
 * `stdout` is raw.
 *
 * The parent's `INPUT_*`, `GITHUB_*`, `ACTIONS_*` and `RUNNER_*` variables are
 * not inherited. A test suite that itself runs in GitHub Actions must not
 * leak its own step files or tokens into the step under test.
 * The entry may be a `.ts` file (Node 24 strips types) or a bundled `index.js`.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** An annotation the step emitted (`::error|warning|notice props::message`). */
export interface ActionAnnotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
  title?: string;
  file?: string;
  line?: number;
  endLine?: number;
  col?: number;
  endColumn?: number;
  /** All properties as given (unescaped). */
  properties: Record<string, string>;
}

export interface ActionRunResult {
  /** Exit code, or null when the process died of a signal (see `signal`). */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Parsed from GITHUB_OUTPUT (`name=value` and `name<<delim` heredoc forms). */
  outputs: Record<string, string>;
  /** Contents of GITHUB_STEP_SUMMARY. */
  summary: string;
  /** Lines appended to GITHUB_PATH (in file order; the runner prepends each to PATH). */
  path: string[];
  /** Variables exported through GITHUB_ENV. */
  exportedEnv: Record<string, string>;
  /** Values saved through GITHUB_STATE (for a post step). */
  state: Record<string, string>;
  annotations: ActionAnnotation[];
  /** Values registered with `::add-mask::`. */
  masks: string[];
  /** The environment the child saw (for debugging a test). */
  childEnv: Record<string, string>;
}

export interface RunActionOptions {
  /** Extra environment, e.g. `startActionsRuntime().env`. Applied over the defaults, under step files and inputs. */
  env?: Record<string, string>;
  /** Working directory; default `GITHUB_WORKSPACE` from `env`, else a fresh temp dir. */
  cwd?: string;
  /** Kill the step after this many ms (default 120 000). */
  timeoutMs?: number;
}

/** The runner's name -> variable mapping for an action input. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/**
 * Parse a `GITHUB_OUTPUT`/`GITHUB_ENV`/`GITHUB_STATE` file like the runner does.
 * Accepts `NAME=VALUE` and `NAME<<DELIM` … `DELIM`. The earlier of `=` and `<<` wins.
 * Blank lines between entries are skipped.
 * Throws the runner's errors for an empty name or a missing delimiter.
 */
export function parseKeyValueFile(text: string, fileLabel = 'file'): Record<string, string> {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const out: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const eq = line.indexOf('=');
    const hd = line.indexOf('<<');
    if (eq >= 0 && (hd < 0 || eq < hd)) {
      const key = line.slice(0, eq);
      if (!key) throw new Error(`Invalid format '${line}' in ${fileLabel}: name must not be empty`);
      out[key] = line.slice(eq + 1);
    } else if (hd >= 0 && (eq < 0 || hd < eq)) {
      const key = line.slice(0, hd);
      const delim = line.slice(hd + 2);
      if (!key || !delim) throw new Error(`Invalid format '${line}' in ${fileLabel}: name and delimiter must not be empty`);
      const value: string[] = [];
      let closed = false;
      for (i++; i < lines.length; i++) {
        if (lines[i] === delim) {
          closed = true;
          break;
        }
        value.push(lines[i]!);
      }
      if (!closed) throw new Error(`Invalid value in ${fileLabel}: matching delimiter not found '${delim}'`);
      out[key] = value.join('\n');
    } else {
      throw new Error(`Invalid format '${line}' in ${fileLabel}`);
    }
  }
  return out;
}

function unescapeData(s: string): string {
  return s.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');
}

function unescapeProperty(s: string): string {
  return s
    .replace(/%0D/gi, '\r')
    .replace(/%0A/gi, '\n')
    .replace(/%3A/gi, ':')
    .replace(/%2C/gi, ',')
    .replace(/%25/g, '%');
}

/** Workflow commands (`::name props::data`) in output, honouring `::stop-commands::`. */
export function parseWorkflowCommands(output: string): { annotations: ActionAnnotation[]; masks: string[] } {
  const annotations: ActionAnnotation[] = [];
  const masks: string[] = [];
  let stopToken: string | undefined;
  for (const rawLine of output.split(/\r?\n/)) {
    const line = rawLine.trimStart();
    if (!line.startsWith('::')) continue;
    const end = line.indexOf('::', 2);
    if (end < 0) continue;
    const head = line.slice(2, end);
    const data = line.slice(end + 2);
    const sp = head.indexOf(' ');
    const command = sp < 0 ? head : head.slice(0, sp);
    if (stopToken !== undefined) {
      if (command === stopToken) stopToken = undefined;
      continue;
    }
    const props: Record<string, string> = {};
    if (sp >= 0) {
      for (const kv of head.slice(sp + 1).split(',')) {
        const eq = kv.indexOf('=');
        if (eq > 0) props[kv.slice(0, eq).trim()] = unescapeProperty(kv.slice(eq + 1));
      }
    }
    if (command === 'stop-commands') {
      stopToken = data;
    } else if (command === 'add-mask') {
      masks.push(unescapeData(data));
    } else if (command === 'error' || command === 'warning' || command === 'notice') {
      const num = (k: string): number | undefined => (props[k] !== undefined && /^\d+$/.test(props[k]!) ? Number(props[k]) : undefined);
      const a: ActionAnnotation = { level: command, message: unescapeData(data), properties: props };
      if (props.title !== undefined) a.title = props.title;
      if (props.file !== undefined) a.file = props.file;
      const fields = { line: num('line'), endLine: num('endLine'), col: num('col'), endColumn: num('endColumn') };
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) (a as unknown as Record<string, number>)[k] = v;
      annotations.push(a);
    }
  }
  return { annotations, masks };
}

const NOT_INHERITED = /^(INPUT_|GITHUB_|ACTIONS_|RUNNER_|STATE_)|^NODE_TEST_CONTEXT$/;

/**
 * Run `entry` as a JavaScript action step with `inputs`.
 * Files under a fresh step directory are removed when the test process exits.
 */
let stepRoot: string | undefined;

export async function runAction(entry: string, inputs: Record<string, string>, opts: RunActionOptions = {}): Promise<ActionRunResult> {
  if (!stepRoot) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'action-steps-'));
    process.once('exit', () => fs.rmSync(root, { recursive: true, force: true }));
    stepRoot = root;
  }
  const stepDir = fs.mkdtempSync(path.join(stepRoot, 'step-'));
  const files = {
    GITHUB_OUTPUT: path.join(stepDir, 'set_output'),
    GITHUB_STEP_SUMMARY: path.join(stepDir, 'step_summary'),
    GITHUB_ENV: path.join(stepDir, 'set_env'),
    GITHUB_PATH: path.join(stepDir, 'add_path'),
    GITHUB_STATE: path.join(stepDir, 'save_state'),
  };
  for (const f of Object.values(files)) fs.writeFileSync(f, '');
  const runnerTemp = path.join(stepDir, '_temp');
  const toolCache = path.join(stepDir, '_tool');
  fs.mkdirSync(runnerTemp);
  fs.mkdirSync(toolCache);

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !NOT_INHERITED.test(k)) env[k] = v;
  Object.assign(env, { CI: 'true', GITHUB_ACTIONS: 'true', RUNNER_TEMP: runnerTemp, RUNNER_TOOL_CACHE: toolCache }, opts.env ?? {}, files);
  for (const [name, value] of Object.entries(inputs)) env[inputEnvName(name)] = value;

  let cwd = opts.cwd ?? env.GITHUB_WORKSPACE;
  if (!cwd) {
    cwd = path.join(stepDir, 'workspace');
    fs.mkdirSync(cwd);
  }

  const child = spawn(process.execPath, [path.resolve(entry)], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timeoutMs = opts.timeoutMs ?? 120_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, sig) => resolve([code, sig]));
  }).finally(() => clearTimeout(timer));
  if (timedOut) throw new Error(`action ${entry} timed out after ${timeoutMs} ms\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);

  const read = (f: string): string => fs.readFileSync(f, 'utf8');
  const { annotations, masks } = parseWorkflowCommands(`${stdout}\n${stderr}`);
  return {
    exitCode,
    signal,
    stdout,
    stderr,
    outputs: parseKeyValueFile(read(files.GITHUB_OUTPUT), 'GITHUB_OUTPUT'),
    summary: read(files.GITHUB_STEP_SUMMARY),
    path: read(files.GITHUB_PATH)
      .split(/\r?\n/)
      .filter((l) => l !== ''),
    exportedEnv: parseKeyValueFile(read(files.GITHUB_ENV), 'GITHUB_ENV'),
    state: parseKeyValueFile(read(files.GITHUB_STATE), 'GITHUB_STATE'),
    annotations,
    masks,
    childEnv: env,
  };
}
