/**
 * Where the current snapshot no longer meets a recipe's constraints, as
 * evaluated by the pinned `aicr validate --no-cluster`.
 *
 * Behaviour of aicr v0.11.1 (verified by running it; `pkg/cli/validate.go`,
 * `pkg/validator`): the readiness pre-flight evaluates the recipe's top-level
 * `constraints` against `--snapshot` even with `--no-cluster`, and logs
 * `readiness constraint passed` (name, expected, actual) or `readiness
 * constraint skipped` (name, error: a path not in the snapshot, an unknown
 * measurement type, an unparsable version). The first failing constraint
 * stops it: exit 8, no report written, and the error line reads
 * `readiness check failed: <name> expected <value>, got <actual>`. So each
 * constraint is evaluated in its own run (a copy of the recipe holding just
 * that constraint), which reports every failure, not only the first.
 */
import * as path from 'node:path';
import pLimit from 'p-limit';
import type { Aicr } from '../core/aicr.ts';
import { stripAnsi } from '../core/aicr.ts';
import { AicrError, FileError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/fsutil.ts';
import { recipeFacts } from '../core/recipe-doc.ts';
import { isRecord, parseYamlDoc, toYaml } from '../core/yaml.ts';
import { readingText } from './compare.ts';
import { readingOf, type DriftSnapshot } from './snapshot.ts';

/** Result of one constraint. */
export interface ConstraintResult {
  /** Constraint path, `{Type}.{Subtype}.{Key}`. */
  name: string;
  /** The constraint's value (`>= 1.32.4`, `ubuntu`). */
  expected: string;
  /** The snapshot's value as aicr read it (or as the snapshot holds it). */
  actual?: string;
  status: 'passed' | 'failed' | 'skipped';
  /** Why it failed or was skipped (aicr's words). */
  message?: string;
  severity?: string;
  remediation?: string;
}

/** The recipe section of a report. */
export interface ConstraintReport {
  recipe: string;
  /** The aicr command shape used (one run per constraint). */
  evaluatedBy: string;
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  results: ConstraintResult[];
}

/** One top-level constraint of a recipe. */
interface RecipeConstraint {
  name: string;
  value: unknown;
  severity?: string;
  remediation?: string;
}

/**
 * The top-level constraints of a recipe document.
 * @throws FileError when the document is not a RecipeResult or a constraint has no name.
 */
export function recipeConstraints(doc: unknown, source: string): RecipeConstraint[] {
  recipeFacts(doc, source);
  const list = (doc as Record<string, unknown>).constraints;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new FileError(source, 'constraints is not a list');
  return list.map((c, i) => {
    if (!isRecord(c) || typeof c.name !== 'string' || c.name === '') throw new FileError(source, `constraints[${i}] has no name`);
    return {
      name: c.name,
      value: c.value,
      ...(typeof c.severity === 'string' ? { severity: c.severity } : {}),
      ...(typeof c.remediation === 'string' ? { remediation: c.remediation } : {}),
    };
  });
}

interface LogLine {
  msg?: string;
  name?: string;
  expected?: string;
  actual?: string;
  error?: string;
}

/** aicr's JSON log lines on stderr (other lines ignored). */
function logLines(stderr: string): LogLine[] {
  const out: LogLine[] = [];
  for (const raw of stripAnsi(stderr).split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      /* not a log object */
    }
  }
  return out;
}

const FAILED = /readiness check failed: (.+?) expected (.*), got (.*)$/;

/**
 * Read one `aicr validate --no-cluster` run over a single-constraint recipe.
 * @throws AicrError when aicr failed for another reason than the constraint.
 */
export function parseValidateRun(c: { name: string; expected: string }, run: { exitCode: number; stderr: string; command: string }): Omit<ConstraintResult, 'severity' | 'remediation'> {
  const lines = logLines(run.stderr);
  if (run.exitCode === 0) {
    const passed = lines.find((l) => l.msg === 'readiness constraint passed');
    if (passed) return { name: c.name, expected: c.expected, actual: passed.actual, status: 'passed' };
    const skipped = lines.find((l) => l.msg === 'readiness constraint skipped');
    return { name: c.name, expected: c.expected, status: 'skipped', message: skipped?.error ?? 'aicr did not evaluate this constraint' };
  }
  const failure = lines.find((l) => l.msg === 'command failed')?.error ?? '';
  const m = FAILED.exec(failure);
  if (!m) throw new AicrError(run.command, run.exitCode, failure || stripAnsi(run.stderr).trim().split('\n').at(-1) || '');
  return { name: c.name, expected: c.expected, actual: m[3], status: 'failed', message: `expected ${m[2]}, got ${m[3]}` };
}

/**
 * Evaluate every top-level constraint of a recipe against a snapshot file.
 *
 * @param opts.recipeText - the recipe document (YAML or JSON).
 * @param opts.recipeSource - its name for messages.
 * @param opts.snapshotFile - a local file holding the current snapshot.
 * @param opts.snapshot - the loaded snapshot (fills `actual` for skipped constraints).
 * @param opts.tempDir - where the single-constraint recipes are written.
 * @returns one result per constraint, in recipe order.
 * @throws FileError when the recipe is not a RecipeResult.
 * @throws AicrError when aicr fails for another reason than a constraint.
 */
export async function evaluateConstraints(opts: {
  aicr: Aicr;
  recipeText: string;
  recipeSource: string;
  snapshotFile: string;
  snapshot?: DriftSnapshot;
  tempDir: string;
  concurrency?: number;
}): Promise<ConstraintReport> {
  const doc = parseYamlDoc(opts.recipeText, opts.recipeSource);
  const constraints = recipeConstraints(doc, opts.recipeSource);
  const limit = pLimit(opts.concurrency ?? 4);
  const results = await Promise.all(
    constraints.map((c, i) =>
      limit(async (): Promise<ConstraintResult> => {
        const file = path.join(opts.tempDir, `constraint-${i + 1}.yaml`);
        await writeFileAtomic(file, await toYaml({ ...(doc as Record<string, unknown>), constraints: [{ name: c.name, value: c.value }] }));
        const run = await opts.aicr.run(
          'validate',
          ['--recipe', file, '--snapshot', opts.snapshotFile, '--no-cluster', '--output', path.join(opts.tempDir, `constraint-${i + 1}.ctrf.json`)],
          { env: { AICR_LOG_JSON: 'true' }, okCodes: [0, 8], quiet: true },
        );
        const expected = c.value === undefined || c.value === null ? '' : String(c.value);
        const r: ConstraintResult = parseValidateRun({ name: c.name, expected }, run);
        if (r.actual === undefined && opts.snapshot) {
          const [type, subtype, ...key] = c.name.split('.');
          const v = key.length > 0 ? readingOf(opts.snapshot, type, subtype, key.join('.')) : undefined;
          if (v !== undefined) r.actual = readingText(v);
        }
        if (c.severity) r.severity = c.severity;
        if (c.remediation) r.remediation = c.remediation;
        return r;
      }),
    ),
  );
  return {
    recipe: opts.recipeSource,
    evaluatedBy: `${opts.aicr.bin} validate --recipe <one constraint> --snapshot ${opts.snapshotFile} --no-cluster`,
    total: results.length,
    passed: results.filter((r) => r.status === 'passed').length,
    failed: results.filter((r) => r.status === 'failed').length,
    skipped: results.filter((r) => r.status === 'skipped').length,
    results,
  };
}
