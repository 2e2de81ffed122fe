/**
 * How much a change matters to the people running GPU workloads, so reports
 * can list the most important first.
 *
 * The scale (0-100) follows what breaks workloads: the GPU driver and CUDA
 * first, then the Kubernetes version, kernel and boot parameters, the GPU
 * operator's configuration and the images it runs, then kernel tunables,
 * modules and systemd, then topology.
 */
import type { Change, ChangeKind, RankedChange } from './types.ts';

/** `[pattern on the path, score]`; the first match wins. */
const SCORES: readonly (readonly [RegExp, number])[] = [
  [/^GPU\.smi\.(?:driver|cuda-version|gpu-count|gpu\.model)$/, 100],
  [/^GPU\./, 90],
  [/^K8s\.server\.version$/, 95],
  [/^K8s\.node\.(?:kernel-version|container-runtime-version|kubelet-version|os-image)$/, 88],
  [/^OS\.sysctl\.\/proc\/sys\/kernel\/osrelease$/, 88],
  [/^OS\.grub\./, 85],
  [/^K8s\.policy\./, 80],
  [/^OS\.release\./, 75],
  [/^SystemD\..+\.(?:ActiveState|SubState|LoadState|UnitFileState|Result)$/, 75],
  [/^K8s\.image\./, 70],
  [/^K8s\./, 65],
  [/^NodeTopology\.taint\./, 60],
  [/^OS\.kmod\./, 55],
  [/^OS\.sysctl\./, 50],
  [/^NodeTopology\.label\./, 45],
  [/^SystemD\./, 30],
  [/^NodeTopology\./, 25],
];

/** A removed reading outranks a modified one, which outranks an added one. */
const KIND_BONUS: Readonly<Record<ChangeKind, number>> = { removed: 0.2, modified: 0.1, added: 0 };

/** Score of a path (0-100); unknown measurement types score 40. */
export function importanceOf(path: string): number {
  for (const [re, score] of SCORES) if (re.test(path)) return score;
  return 40;
}

/**
 * Rank changes, most important first; ties keep path order.
 * @returns new objects with `importance` set.
 */
export function rankChanges(changes: readonly Change[]): RankedChange[] {
  const ranked = changes.map((c) => ({ ...c, importance: importanceOf(c.path) }));
  return ranked.sort((a, b) => b.importance + KIND_BONUS[b.kind] - (a.importance + KIND_BONUS[a.kind]) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
