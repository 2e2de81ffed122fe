/**
 * `--set` and scheduling values for `aicr bundle`: checked before aicr runs,
 * because aicr silently ignores some mistakes and urfave splits values on ','.
 */
import { InputError } from '../../core/errors.ts';
import { isRecord } from '../../core/yaml.ts';

/**
 * `--set` component keys besides the component's own name: the registry's
 * `valueOverrideKeys` in NVIDIA/aicr v0.11.1 `recipes/registry.yaml`.
 */
export const SET_KEY_ALIASES: Readonly<Record<string, readonly string[]>> = {
  'gpu-operator': ['gpuoperator'],
  'network-operator': ['networkoperator'],
  'gke-nccl-tcpxo': ['gkenccltcpxo'],
  'aws-efa': ['awsefa', 'efa'],
  'cert-manager': ['certmanager'],
  'skyhook-operator': ['skyhook'],
  'skyhook-customizations': ['skyhookcustomizations'],
  nvsentinel: ['nv-sentinel'],
  'nvidia-dra-driver-gpu': ['dradriver'],
  'kube-prometheus-stack': ['prometheus', 'kubeprometheusstack'],
  'prometheus-adapter': ['prometheusadapter'],
  'aws-ebs-csi-driver': ['ebscsidriver', 'awsebscsidriver'],
  'k8s-ephemeral-storage-metrics': ['k8sephemeralstoragemetrics'],
  'kai-scheduler': ['kaischeduler'],
  'dynamo-crds': ['dynamocrds'],
  'dynamo-platform': ['dynamoplatform', 'dynamo'],
  'kgateway-crds': ['kgatewaycrds'],
  kgateway: ['kgateway'],
  'kubeflow-trainer': ['kubeflowtrainer', 'trainer'],
};

/** A parsed `component:path=value`. */
export interface SetEntry {
  raw: string;
  component: string;
  path: string;
  value: string;
}

/**
 * Parse one `--set` value as aicr does (`pkg/bundler/config/config.go`):
 * split on the first `:`, then the first `=`; path and value non-empty.
 * @throws InputError naming input `set`.
 */
export function parseSet(raw: string): SetEntry {
  const colon = raw.indexOf(':');
  const eq = raw.indexOf('=', colon + 1);
  if (colon <= 0 || eq < 0) throw new InputError('set', `'${raw}' is not component:path=value`);
  const entry = { raw, component: raw.slice(0, colon), path: raw.slice(colon + 1, eq), value: raw.slice(eq + 1) };
  if (!entry.path) throw new InputError('set', `'${raw}' has an empty path`);
  if (entry.value === '') throw new InputError('set', `'${raw}' has an empty value`);
  return entry;
}

/** `--set` entries whose component key matches no component of the recipe (aicr ignores them silently). */
export function unmatchedSets(sets: readonly SetEntry[], components: readonly string[]): SetEntry[] {
  const keys = new Set<string>();
  for (const c of components) {
    keys.add(c);
    for (const a of SET_KEY_ALIASES[c] ?? []) keys.add(a);
  }
  return sets.filter((s) => !keys.has(s.component));
}

/**
 * `--set` entries that replace every storage class a recipe's component
 * overrides already choose (keys `storageClassName`/`storageClass` with a
 * string value), e.g. the `gp2` of kube-prometheus-stack's PVC in the EKS
 * overlay. Components without a persistent volume are left alone, so this
 * never turns an emptyDir into a half-specified claim.
 *
 * @param componentRefs - the recipe's `componentRefs`.
 * @param storageClass - the class to use.
 * @returns `component:path=class` strings, sorted.
 */
export function storageClassSets(componentRefs: readonly unknown[], storageClass: string): string[] {
  const out: string[] = [];
  const walk = (component: string, node: unknown, prefix: string): void => {
    if (!isRecord(node)) return;
    for (const [k, v] of Object.entries(node)) {
      const p = prefix ? `${prefix}.${k}` : k;
      if ((k === 'storageClassName' || k === 'storageClass') && typeof v === 'string') out.push(`${component}:${p}=${storageClass}`);
      else walk(component, v, p);
    }
  };
  for (const c of componentRefs) if (isRecord(c) && typeof c.name === 'string') walk(c.name, c.overrides, '');
  return out.sort();
}
