/**
 * recipe stage: query/criteria/snapshot → RecipeResult file(s), from the
 * local aicr CLI or an aicrd server.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import pLimit from 'p-limit';
import { InputError } from '../../core/errors.ts';
import { produceFileAtomic, sha256File, writeFileAtomic } from '../../core/fsutil.ts';
import { DEFAULT_RETRY, HttpOnce } from '../../core/http.ts';
import { code, sections, table } from '../../core/markdown.ts';
import { componentsJson, loadRecipeFacts, type RecipeFacts } from '../../core/recipe-doc.ts';
import type { Stage, StageContext, StageResult } from '../../core/stage.ts';
import { isRecord, parseYamlDoc, readYamlFile, toYaml } from '../../core/yaml.ts';
import { fileOrArtifact, requireKube } from '../common.ts';
import { CRITERIA_FIELDS, checkQuery, mergeQuery, queryFlags, queryFromCriteriaDoc, queryFromMapping, queryParams, type Query } from './criteria.ts';
import { spec } from './spec.ts';

/** One recipe to produce. */
interface RecipeJob {
  /** Environment name; undefined in single mode. */
  env?: string;
  query: Query;
  output: string;
}

/** A produced recipe. */
interface RecipeMade extends RecipeJob {
  sha256: string;
  facts: RecipeFacts;
}

const ENV_NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

/** Query from the top-level inputs (these are defaults for every environment). */
function inputQuery(ctx: StageContext): Query {
  const q: Query = {};
  for (const f of CRITERIA_FIELDS) {
    const v = ctx.inputs.optional(f);
    if (v) q[f] = v;
  }
  const nodes = ctx.inputs.int('nodes');
  if (nodes) q.nodes = nodes;
  return q;
}

/** Parse the `environments` input into jobs; names must be unique and file-safe. */
function environmentJobs(ctx: StageContext, base: Query, output: string): RecipeJob[] {
  const envs = ctx.inputs.yaml('environments');
  if (!Array.isArray(envs) || envs.length === 0) {
    throw new InputError('environments', 'expected a non-empty YAML list of mappings, each with a name and criteria fields');
  }
  const ext = path.extname(output);
  const stem = output.slice(0, output.length - ext.length);
  const seen = new Set<string>();
  return envs.map((e, i) => {
    if (!isRecord(e)) throw new InputError('environments', `entry ${i + 1} is not a mapping`);
    const name = String(e.name ?? '');
    if (!ENV_NAME.test(name)) {
      throw new InputError('environments', `entry ${i + 1}: name '${name}' must be lower-case letters, digits, '.', '_' or '-' (it becomes part of a file name)`);
    }
    if (seen.has(name)) throw new InputError('environments', `entry ${i + 1}: name '${name}' appears twice`);
    seen.add(name);
    const q = queryFromMapping(e, 'environments', `entry '${name}': `, ['name']);
    return { env: name, query: mergeQuery(base, q), output: `${stem}-${name}${ext}` };
  });
}

/** The aicr argv (without `-o`) for one job: criteria flags, inputs, kubeconfig. */
export function recipeArgs(
  q: Query,
  refs: { criteria?: string; snapshot?: string; data?: string; config?: string },
  kube: string[],
  format: string,
): string[] {
  const args = [...queryFlags(q)];
  if (refs.criteria) args.push('--criteria', refs.criteria);
  if (refs.snapshot) args.push('--snapshot', refs.snapshot);
  if (refs.data) args.push('--data', refs.data);
  if (refs.config) args.push('--config', refs.config);
  args.push(...kube, '--format', format);
  return args;
}

async function run(ctx: StageContext): Promise<StageResult> {
  const { inputs, log } = ctx;
  const format = inputs.string('format');
  const output = ctx.resolve(inputs.string('output'));
  const base = inputQuery(ctx);
  checkQuery(base, 'service');
  const jobs: RecipeJob[] = inputs.given('environments') ? environmentJobs(ctx, base, output) : [{ query: base, output }];

  const snapshot = await fileOrArtifact(ctx, 'snapshot', 'snapshot-artifact');
  const criteria = await fileOrArtifact(ctx, 'criteria');
  const data = inputs.optional('data') ? ctx.resolve(inputs.string('data')) : undefined;
  const config = inputs.optional('config') ? ctx.resolve(inputs.string('config')) : undefined;
  const apiUrl = inputs.optional('api-url');
  if (!snapshot && !criteria && jobs.every((j) => Object.keys(j.query).length === 0)) {
    throw new InputError('service', 'no criteria given: set query inputs (service, accelerator, intent, os, platform, nodes), criteria, snapshot or environments');
  }

  let make: (job: RecipeJob) => Promise<void>;
  if (apiUrl) {
    for (const [name, v] of [['snapshot', snapshot], ['data', data], ['config', config]] as const) {
      if (v) throw new InputError(name, `cannot be used with api-url: aicrd's GET /v1/recipe takes criteria only; drop api-url to use the local CLI`);
    }
    let url: URL;
    try {
      url = new URL(apiUrl);
      if (!/^https?:$/.test(url.protocol)) throw new Error('not http(s)');
    } catch {
      throw new InputError('api-url', `'${apiUrl}' is not an http(s) URL`);
    }
    const fileQuery = criteria ? queryFromCriteriaDoc(await readYamlFile(criteria), criteria) : {};
    const http = new HttpOnce({ ...DEFAULT_RETRY, retries: inputs.int('api-retries') ?? DEFAULT_RETRY.retries });
    make = async (job) => {
      const endpoint = new URL('v1/recipe', url.href.endsWith('/') ? url.href : `${url.href}/`);
      endpoint.search = queryParams(mergeQuery(fileQuery, job.query)).toString();
      const res = await log.step('aicrd.recipe', { url: endpoint.href }, () => http.get(endpoint.href, { Accept: 'application/json' }), (r) => ({ bytes: r.body.length }));
      const doc = parseYamlDoc(res.body.toString('utf8'), endpoint.href);
      await writeFileAtomic(job.output, format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : await toYaml(doc));
    };
  } else {
    if (config && !(await ctx.aicr.flags('recipe')).has('--config')) {
      throw new InputError('config', `the installed aicr (${ctx.aicr.bin}) has no 'recipe --config' flag; AICRConfig needs a newer aicr than the pinned v0.11.1`);
    }
    const kube = snapshot?.startsWith('cm://') ? await requireKube(ctx, `reading ${snapshot}`) : { args: [], env: {} };
    // Identical argv → one aicr run; later jobs copy its file.
    const runs = new Map<string, Promise<string>>();
    make = async (job) => {
      const args = recipeArgs(job.query, { criteria, snapshot, data, config }, kube.args, format);
      const key = JSON.stringify(args);
      let first = runs.get(key);
      if (first) {
        const from = await first;
        if (from !== job.output) await writeFileAtomic(job.output, await fs.readFile(from));
        return;
      }
      first = produceFileAtomic(job.output, async (tmp) => {
        await log.step('aicr.recipe', { env: job.env ?? '', args }, () => ctx.aicr.run('recipe', [...args, '--output', tmp], { env: kube.env }));
      }).then(() => job.output);
      runs.set(key, first);
      await first;
    };
  }

  const limit = pLimit(inputs.int('concurrency') ?? 4);
  const written: string[] = [];
  let made: RecipeMade[];
  try {
    made = await Promise.all(
      jobs.map((job) =>
        limit(async () => {
          await make(job);
          written.push(job.output);
          return { ...job, sha256: await sha256File(job.output), facts: await loadRecipeFacts(job.output) };
        }),
      ),
    );
  } catch (err) {
    // All or nothing: a partly generated set of environments must not look valid.
    if (jobs.length > 1) await Promise.all(written.map((f) => fs.rm(f, { force: true })));
    throw err;
  }
  return publish(made, inputs.given('environments'), apiUrl);
}

function publish(made: RecipeMade[], multi: boolean, apiUrl: string | undefined): StageResult {
  const backend = apiUrl ? `aicrd at ${code(apiUrl)}` : 'local aicr CLI';
  const root = path.dirname(made[0].output);
  const product = { root, files: made.map((m) => path.relative(root, m.output).split(path.sep).join('/')) };
  const summaryOf = (m: RecipeMade): string =>
    sections(
      `### Recipe${m.env ? ` for ${code(m.env)}` : ''}`,
      `${code(m.output)} · sha256 ${code(m.sha256.slice(0, 16))}… · aicr ${code(m.facts.version || '?')} · ${backend}`,
      table(['criterion', 'value'], Object.entries(m.facts.criteria)),
      m.facts.appliedOverlays.length > 0 && `Applied overlays: ${m.facts.appliedOverlays.map(code).join(' → ')}`,
      m.facts.excludedOverlays.length > 0 && `Excluded overlays (constraints not met by the snapshot): ${m.facts.excludedOverlays.map(code).join(', ')}`,
      table(['component', 'version', 'chart', 'namespace'], m.facts.components.map((c) => [c.name, c.version, c.chart, c.namespace])),
    );
  const summary = `## AICR recipe\n\n${made.map(summaryOf).join('\n')}`;
  if (!multi) {
    const m = made[0];
    return {
      outputs: {
        'recipe-path': m.output,
        sha256: m.sha256,
        components: componentsJson(m.facts.components),
        'applied-overlays': m.facts.appliedOverlays.join(','),
        criteria: JSON.stringify(m.facts.criteria),
      },
      product,
      summary,
    };
  }
  const map = <T>(f: (m: RecipeMade) => T): string => JSON.stringify(Object.fromEntries(made.map((m) => [m.env, f(m)])));
  return {
    outputs: {
      'recipe-path': map((m) => m.output),
      sha256: map((m) => m.sha256),
      components: map((m) => m.facts.components.map(({ name, version, chart }) => ({ name, version, chart }))),
      'applied-overlays': map((m) => m.facts.appliedOverlays),
      criteria: map((m) => m.facts.criteria),
    },
    product,
    summary,
  };
}

export const stage: Stage = { spec, run };
