/**
 * bundle stage: recipe → deployment bundle in a fresh directory, via `aicr bundle`.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { InputError, StageError } from '../../core/errors.ts';
import { exists, listFiles, produceDirAtomic, sha256File } from '../../core/fsutil.ts';
import { code, sections, table } from '../../core/markdown.ts';
import { componentsJson, recipeFacts, type ComponentSummary } from '../../core/recipe-doc.ts';
import type { Annotation, Stage, StageContext, StageResult } from '../../core/stage.ts';
import { readYamlFile } from '../../core/yaml.ts';
import { fileOrArtifact, isRemote, requireKube } from '../common.ts';
import { checkSelectors, checkTolerations, rejectCommas } from '../flags.ts';
import { parseSet, storageClassSets, unmatchedSets } from './overrides.ts';
import { spec } from './spec.ts';

/** The checked inputs that become `aicr bundle` flags. */
export interface BundleOptions {
  recipe: string;
  deployer: string;
  repo?: string;
  sets: string[];
  systemNodeSelectors: string[];
  systemNodeTolerations: string[];
  acceleratedNodeSelectors: string[];
  acceleratedNodeTolerations: string[];
  workloadGate?: string;
  workloadSelectors: string[];
  nodes?: number;
  data?: string;
  attest: boolean;
}

/** argv for `aicr bundle` (without `--output`). Flag names as in v0.11.1 `pkg/cli/bundle.go`. */
export function bundleArgs(o: BundleOptions, kube: string[]): string[] {
  const args = ['--recipe', o.recipe, '--deployer', o.deployer];
  if (o.repo) args.push('--repo', o.repo);
  for (const s of o.sets) args.push('--set', s);
  for (const v of o.systemNodeSelectors) args.push('--system-node-selector', v);
  for (const v of o.systemNodeTolerations) args.push('--system-node-toleration', v);
  for (const v of o.acceleratedNodeSelectors) args.push('--accelerated-node-selector', v);
  for (const v of o.acceleratedNodeTolerations) args.push('--accelerated-node-toleration', v);
  if (o.workloadGate) args.push('--workload-gate', o.workloadGate);
  for (const v of o.workloadSelectors) args.push('--workload-selector', v);
  if (o.nodes) args.push('--nodes', String(o.nodes));
  if (o.data) args.push('--data', o.data);
  if (o.attest) args.push('--attest');
  args.push(...kube);
  return args;
}

async function run(ctx: StageContext): Promise<StageResult> {
  const { inputs, log } = ctx;
  const recipe = await fileOrArtifact(ctx, 'recipe', 'recipe-artifact');
  if (!recipe) throw new InputError('recipe', 'is required: give a recipe file, cm:// URI or URL, or recipe-artifact');
  const deployer = inputs.string('deployer');
  const output = ctx.resolve(inputs.string('output'));

  const lists = {
    set: inputs.list('set'),
    'system-node-selector': inputs.list('system-node-selector'),
    'system-node-toleration': inputs.list('system-node-toleration'),
    'accelerated-node-selector': inputs.list('accelerated-node-selector'),
    'accelerated-node-toleration': inputs.list('accelerated-node-toleration'),
    'workload-selector': inputs.list('workload-selector'),
  };
  for (const [name, values] of Object.entries(lists)) rejectCommas(name, values);
  checkSelectors('system-node-selector', lists['system-node-selector']);
  checkSelectors('accelerated-node-selector', lists['accelerated-node-selector']);
  checkSelectors('workload-selector', lists['workload-selector']);
  checkTolerations('system-node-toleration', lists['system-node-toleration']);
  checkTolerations('accelerated-node-toleration', lists['accelerated-node-toleration']);
  const gate = inputs.optional('workload-gate');
  if (gate) checkTolerations('workload-gate', [gate]);
  const sets = lists.set.map(parseSet);
  if (inputs.optional('repo') && deployer !== 'argocd') {
    throw new InputError('repo', 'is only used with deployer argocd');
  }

  // A local recipe is read up front: for storage-class and to warn about --set keys aicr would ignore.
  const annotations: Annotation[] = [];
  const localDoc = isRemote(recipe) ? undefined : await readYamlFile(recipe);
  const facts = localDoc === undefined ? undefined : recipeFacts(localDoc, recipe);
  const storageClass = inputs.optional('storage-class');
  const extraSets: string[] = [];
  if (storageClass) {
    if (!localDoc || !facts) throw new InputError('storage-class', 'needs a local recipe file (it reads the recipe\'s storage classes)');
    extraSets.push(...storageClassSets((localDoc as { componentRefs: unknown[] }).componentRefs, storageClass));
    if (extraSets.length === 0) {
      annotations.push({ level: 'warning', message: `storage-class '${storageClass}': the recipe's components choose no storage class, so nothing was changed` });
    }
  }
  if (facts) {
    for (const s of unmatchedSets(sets, facts.components.map((c) => c.name))) {
      annotations.push({
        level: 'warning',
        message: `set '${s.raw}': component '${s.component}' is not in the recipe, and aicr ignores it silently`,
        props: { title: 'Unused --set' },
      });
    }
  }

  const options: BundleOptions = {
    recipe,
    deployer,
    repo: inputs.optional('repo'),
    sets: [...lists.set, ...extraSets],
    systemNodeSelectors: lists['system-node-selector'],
    systemNodeTolerations: lists['system-node-toleration'],
    acceleratedNodeSelectors: lists['accelerated-node-selector'],
    acceleratedNodeTolerations: lists['accelerated-node-toleration'],
    workloadGate: gate,
    workloadSelectors: lists['workload-selector'],
    nodes: inputs.int('nodes'),
    data: inputs.optional('data') ? ctx.resolve(inputs.string('data')) : undefined,
    attest: inputs.bool('attest'),
  };
  const kube = recipe.startsWith('cm://') ? await requireKube(ctx, `reading ${recipe}`) : { args: [], env: {} };
  const args = bundleArgs(options, kube.args);

  await produceDirAtomic(output, (tmp) =>
    log.step('aicr.bundle', { deployer, args }, () => ctx.aicr.run('bundle', [...args, '--output', tmp], { env: kube.env })),
  );

  const files = await listFiles(output);
  const checksumsFile = path.join(output, 'checksums.txt');
  if (!(await exists(checksumsFile))) {
    await fs.rm(output, { recursive: true, force: true });
    throw new StageError(`aicr produced a bundle without checksums.txt in ${output}; refusing to publish it`);
  }
  const checksumsSha = await sha256File(checksumsFile);
  // Components actually in the bundle: `enabled=false` sets remove some at bundle time.
  const bundleRecipe = path.join(output, 'recipe.yaml');
  const known = facts ?? ((await exists(bundleRecipe)) ? recipeFacts(await readYamlFile(bundleRecipe), bundleRecipe) : undefined);
  const components: ComponentSummary[] = [];
  for (const c of known?.components ?? []) if (await exists(path.join(output, c.name))) components.push(c);
  if (deployer === 'argocd') {
    annotations.push({
      level: 'info',
      message: `argocd bundle: each <component>/application.yaml keeps the literal repoURL '{{ .RepoURL }}' (aicr v0.11.1); replace it in your GitOps repository${options.repo ? '' : ', and set input repo for app-of-apps.yaml'}`,
    });
  }

  return {
    outputs: {
      'bundle-dir': output,
      'checksums-sha256': checksumsSha,
      components: componentsJson(components),
      'file-count': String(files.length),
      deployer,
    },
    product: { root: output, files },
    annotations,
    summary: sections(
      '## AICR bundle',
      `${code(deployer)} bundle in ${code(output)}: ${files.length} files; checksums.txt sha256 ${code(checksumsSha)}`,
      table(['component', 'version', 'chart', 'namespace'], components.map((c) => [c.name, c.version, c.chart, c.namespace])),
      options.sets.length > 0 && `Overrides: ${options.sets.map(code).join(', ')}`,
      annotations.length > 0 && annotations.map((a) => `> ${a.level === 'warning' ? '⚠️' : 'ℹ️'} ${a.message}`).join('\n>\n'),
    ),
  };
}

export const stage: Stage = { spec, run };
