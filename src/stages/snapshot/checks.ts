/**
 * Checks on a captured snapshot that aicr itself does not make.
 */
import type { SnapshotDoc, SnapshotFacts } from '../../core/snapshot-doc.ts';

/**
 * Problems with a snapshot against the stage's expectations; empty when fine.
 *
 * A measurement counts as missing when it is absent or none of its subtypes
 * carries any reading (aicr emits empty measurements when a collector has no
 * access, e.g. `SystemD` without root or `K8s` without a cluster).
 *
 * @param expectGpuCount - minimum GPUs; `GPU.smi.gpu-count` (aicr's job mode
 *   does not enforce `--require-gpu` after capture: `pkg/snapshotter/snapshot.go`).
 * @param required - `Type` or `Type.subtype` entries.
 */
export function snapshotProblems(s: SnapshotDoc, facts: SnapshotFacts, expectGpuCount: number | undefined, required: readonly string[]): string[] {
  const problems: string[] = [];
  if (expectGpuCount !== undefined && facts.gpuCount < expectGpuCount) {
    problems.push(
      `expected at least ${expectGpuCount} GPU(s) but the snapshot saw ${facts.gpuCount}${facts.sourceNode ? ` on node '${facts.sourceNode}'` : ''} (did the agent land on a GPU node? set node-selector, e.g. nvidia.com/gpu.present=true)`,
    );
  }
  for (const req of required) {
    const dot = req.indexOf('.');
    const type = dot < 0 ? req : req.slice(0, dot);
    const subtype = dot < 0 ? undefined : req.slice(dot + 1);
    const m = s.measurements.find((x) => x.type === type);
    const subtypes = (m?.subtypes ?? []).filter((st) => subtype === undefined || st.subtype === subtype);
    if (!subtypes.some((st) => Object.keys(st.data).length > 0)) {
      problems.push(`required measurement ${req} is missing or empty (present: ${facts.measurementTypes.join(', ') || 'none'})`);
    }
  }
  return problems;
}
