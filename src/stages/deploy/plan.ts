/**
 * The deployment plan of a bundle: what `deploy.sh` (Helm) or Argo CD would
 * install, in order, read from the bundle's own files.
 */
import * as path from 'node:path';
import { exists } from '../../core/fsutil.ts';
import { recipeFacts } from '../../core/recipe-doc.ts';
import { isRecord, readYamlFile } from '../../core/yaml.ts';

/** One step of the plan. */
export interface PlanStep {
  order: number;
  component: string;
  namespace: string;
  chart: string;
  version: string;
}

/** The bundle's type and plan. */
export interface Plan {
  deployer: 'helm' | 'argocd';
  steps: PlanStep[];
}

/**
 * Read the plan.
 *
 * Helm bundles (`deploy.sh` present) install in the recipe's
 * `deploymentOrder` (NVIDIA/aicr v0.11.1 `pkg/bundler/deployer/helm`), read
 * from the bundle's `recipe.yaml`. Argo CD bundles order by each
 * `<component>/application.yaml` sync-wave annotation.
 *
 * @throws FileError when the bundle's recipe.yaml or an application.yaml is malformed.
 */
export async function readPlan(bundleDir: string, files: readonly string[]): Promise<Plan> {
  if (await exists(path.join(bundleDir, 'deploy.sh'))) {
    const recipeFile = path.join(bundleDir, 'recipe.yaml');
    if (!(await exists(recipeFile))) return { deployer: 'helm', steps: [] };
    const doc = await readYamlFile(recipeFile);
    const facts = recipeFacts(doc, recipeFile);
    const byName = new Map(facts.components.map((c) => [c.name, c]));
    const order = facts.deploymentOrder.length > 0 ? facts.deploymentOrder : facts.components.map((c) => c.name);
    const steps = order
      .filter((n) => byName.has(n))
      .map((n, i) => {
        const c = byName.get(n)!;
        return { order: i + 1, component: n, namespace: c.namespace, chart: c.chart, version: c.version };
      });
    return { deployer: 'helm', steps };
  }
  const apps = files.filter((f) => /^[^/]+\/application\.yaml$/.test(f));
  const steps: (PlanStep & { wave: number })[] = [];
  for (const f of apps) {
    const doc = await readYamlFile(path.join(bundleDir, f));
    if (!isRecord(doc)) continue;
    const meta = isRecord(doc.metadata) ? doc.metadata : {};
    const ann = isRecord(meta.annotations) ? meta.annotations : {};
    const spec = isRecord(doc.spec) ? doc.spec : {};
    const sources = Array.isArray(spec.sources) ? spec.sources.filter(isRecord) : isRecord(spec.source) ? [spec.source] : [];
    const chart = sources.find((s) => s.chart !== undefined);
    const dest = isRecord(spec.destination) ? spec.destination : {};
    steps.push({
      order: 0,
      wave: Number(ann['argocd.argoproj.io/sync-wave'] ?? 0),
      component: String(meta.name ?? f.split('/')[0]),
      namespace: String(dest.namespace ?? ''),
      chart: String(chart?.chart ?? ''),
      version: String(chart?.targetRevision ?? ''),
    });
  }
  steps.sort((a, b) => a.wave - b.wave || a.component.localeCompare(b.component));
  return { deployer: 'argocd', steps: steps.map(({ wave: _w, ...s }, i) => ({ ...s, order: i + 1 })) };
}
