/**
 * The `kind: Snapshot` document as aicr writes it, and the facts CI needs from it.
 *
 * Schema mirrors NVIDIA/aicr v0.11.1 `pkg/snapshotter` and `pkg/measurement/types.go`:
 * `measurements[]` of `{type, subtypes[]: {subtype, data: {key: reading}}}`.
 */
import { FileError } from './errors.ts';
import { isRecord, parseYamlDoc } from './yaml.ts';

/** A reading: aicr's `Reading` is string, int, float or bool. */
export type Reading = string | number | boolean | null;

export interface Subtype {
  subtype: string;
  data: Record<string, Reading>;
  context?: Record<string, string>;
}

export interface Measurement {
  type: string;
  subtypes: Subtype[];
}

export interface SnapshotDoc {
  kind: string;
  apiVersion: string;
  metadata: Record<string, string>;
  measurements: Measurement[];
}

/** API groups a snapshot may carry: current, and the pre-rename legacy one. */
export const SNAPSHOT_API_VERSIONS = ['aicr.nvidia.com/v1alpha1', 'eidos.nvidia.com/v1alpha1'] as const;

/**
 * Check that a parsed document is a snapshot and normalise its shape.
 *
 * Accepts `kind: Snapshot` with apiVersion `aicr.nvidia.com/v1alpha1` or the
 * legacy `eidos.nvidia.com/v1alpha1`. Upstream's loader checks neither; we do,
 * so a recipe or a random mapping is never mistaken for a snapshot.
 *
 * @throws FileError naming `source` and what is wrong.
 */
export function asSnapshot(doc: unknown, source: string): SnapshotDoc {
  if (!isRecord(doc)) throw new FileError(source, 'is not a snapshot: expected a YAML mapping with kind: Snapshot');
  if (doc.kind !== 'Snapshot') {
    throw new FileError(source, `is not a snapshot: kind is ${doc.kind === undefined ? 'missing' : `'${String(doc.kind)}'`}, expected 'Snapshot'`);
  }
  const apiVersion = String(doc.apiVersion ?? '');
  if (!(SNAPSHOT_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    throw new FileError(source, `is not a snapshot: apiVersion '${apiVersion}', expected one of ${SNAPSHOT_API_VERSIONS.join(', ')}`);
  }
  if (!Array.isArray(doc.measurements) || doc.measurements.length === 0) {
    throw new FileError(source, 'is a snapshot with no measurements');
  }
  const measurements: Measurement[] = doc.measurements.map((m, i) => {
    if (!isRecord(m) || typeof m.type !== 'string') throw new FileError(source, `measurements[${i}] has no type`);
    const subtypes = m.subtypes === undefined || m.subtypes === null ? [] : m.subtypes;
    if (!Array.isArray(subtypes)) throw new FileError(source, `measurements[${i}] (${m.type}).subtypes is not a list`);
    return {
      type: m.type,
      subtypes: subtypes.map((st, j) => {
        if (!isRecord(st) || typeof st.subtype !== 'string') {
          throw new FileError(source, `measurements[${i}] (${m.type}).subtypes[${j}] has no subtype name`);
        }
        const data = st.data === undefined || st.data === null ? {} : st.data;
        if (!isRecord(data)) throw new FileError(source, `${m.type}.${st.subtype}.data is not a mapping`);
        const out: Subtype = { subtype: st.subtype, data: data as Record<string, Reading> };
        if (isRecord(st.context)) out.context = st.context as Record<string, string>;
        return out;
      }),
    };
  });
  const metadata: Record<string, string> = {};
  if (isRecord(doc.metadata)) for (const [k, v] of Object.entries(doc.metadata)) metadata[k] = String(v);
  return { kind: 'Snapshot', apiVersion, metadata, measurements };
}

/** Parse snapshot text (YAML or JSON). */
export function parseSnapshot(text: string, source: string): SnapshotDoc {
  return asSnapshot(parseYamlDoc(text, source), source);
}

/** One reading by `{type}.{subtype}.{key}` identity, or undefined. */
export function reading(s: SnapshotDoc, type: string, subtype: string, key: string): Reading | undefined {
  const m = s.measurements.find((x) => x.type === type);
  const st = m?.subtypes.find((x) => x.subtype === subtype);
  return st?.data[key];
}

/** The facts a pipeline reports about a captured cluster. */
export interface SnapshotFacts {
  k8sVersion: string;
  gpuModel: string;
  gpuCount: number;
  driverVersion: string;
  cudaVersion: string;
  osRelease: string;
  kernel: string;
  sourceNode: string;
  measurementTypes: string[];
}

/** Extract {@link SnapshotFacts}; absent readings are `''` (or 0 GPUs). */
export function snapshotFacts(s: SnapshotDoc): SnapshotFacts {
  const str = (v: Reading | undefined): string => (v === undefined || v === null ? '' : String(v));
  const count = Number(reading(s, 'GPU', 'smi', 'gpu-count') ?? 0);
  const id = str(reading(s, 'OS', 'release', 'ID'));
  const ver = str(reading(s, 'OS', 'release', 'VERSION_ID'));
  return {
    k8sVersion: str(reading(s, 'K8s', 'server', 'version')),
    gpuModel: str(reading(s, 'GPU', 'smi', 'gpu.model')),
    gpuCount: Number.isFinite(count) ? count : 0,
    driverVersion: str(reading(s, 'GPU', 'smi', 'driver')),
    cudaVersion: str(reading(s, 'GPU', 'smi', 'cuda-version')),
    osRelease: [id, ver].filter(Boolean).join(' '),
    kernel: str(reading(s, 'OS', 'sysctl', '/proc/sys/kernel/osrelease')),
    sourceNode: s.metadata['source-node'] ?? s.metadata.source ?? '',
    measurementTypes: [...new Set(s.measurements.map((m) => m.type))].sort(),
  };
}
