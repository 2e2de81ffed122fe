/**
 * Synthetic snapshot pairs for the drift benchmark.
 *
 * Generates a `kind: Snapshot` document shaped like aicr v0.11.1 output
 * (`pkg/collector/topology/topology.go` for NodeTopology: labels as
 * `<key>` → `"<value>|n1,n2"` or `<key>.<value>` when a key has several
 * values; taints as `<key>` → `"<effect>|<value>|nodes"`), at cluster scale:
 * thousands of nodes with GPU-operator and node-feature-discovery labels,
 * thousands of sysctl and systemd readings.
 *
 * The "current" document is the baseline re-captured: measurement order
 * shuffled, volatile readings (timestamps, uuid, counters, PIDs, the agent's
 * own image, the scheduler-picked node) changed, some nodes replaced, and a
 * handful of real changes ({@link REAL_CHANGES}) applied.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** A reading value as aicr writes it. */
type Val = string | number | boolean;
type Data = Record<string, Val>;
interface Meas {
  type: string;
  subtypes: { subtype: string; data: Data }[];
}
interface Doc {
  metadata: Record<string, string>;
  measurements: Meas[];
}

/** Options of {@link generatePair}. */
export interface GenerateOptions {
  /** Cluster nodes (default 5000). */
  nodes?: number;
  /** Labels on every node (default 150, as NFD plus the GPU operator put on GPU nodes). */
  labelsPerNode?: number;
  /** sysctl readings (default 2500). */
  sysctls?: number;
  /** systemd units (default 8; ~450 properties each). */
  units?: number;
  /** Nodes replaced between the captures (default 10). */
  replacedNodes?: number;
  /** Output format. */
  format?: 'yaml' | 'json';
  /** Seed of the deterministic PRNG. */
  seed?: number;
}

/** Real changes applied to the current snapshot: path → [before, after]. */
export const REAL_CHANGES: Readonly<Record<string, readonly [Val, Val]>> = {
  'OS.sysctl./proc/sys/kernel/osrelease': ['6.8.0-1024-aws', '6.8.0-1031-aws'],
  'GPU.smi.driver': ['570.133.20', '570.172.08'],
  'OS.sysctl./proc/sys/vm/swappiness': ['60', '10'],
  'K8s.server.version': ['v1.32.9-eks-113cf36', 'v1.33.5-eks-3025e55'],
};

/** Small deterministic PRNG (mulberry32), so pairs are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function nodeName(i: number, salt = 0): string {
  const n = i + salt * 100_000;
  return `ip-10-${(n >> 16) & 255}-${(n >> 8) & 255}-${n & 255}.ec2.internal`;
}

const NFD_PREFIXES = ['cpu-cpuid', 'cpu-model', 'kernel-config', 'pci-10de', 'system-os_release', 'storage-nonrotationaldisk', 'memory-numa', 'network-sriov', 'iommu-enabled', 'cpu-hardware_multithreading'];

/** Label key → value for node `i` (deterministic; some keys per node, some shared by groups). */
function labelsOf(i: number, name: string, count: number): [string, string][] {
  const out: [string, string][] = [
    ['kubernetes.io/hostname', name],
    ['alpha.eksctl.io/instance-id', `i-0${(0x1000000 + i * 7919).toString(16)}abc`],
    ['kubernetes.io/arch', 'amd64'],
    ['kubernetes.io/os', 'linux'],
    ['node.kubernetes.io/instance-type', ['p5.48xlarge', 'p4d.24xlarge', 'g6e.48xlarge', 'm7i.8xlarge'][i % 4]],
    ['topology.kubernetes.io/zone', `us-east-1${'abcdef'[i % 6]}`],
    ['topology.kubernetes.io/region', 'us-east-1'],
    ['eks.amazonaws.com/nodegroup', `gpu-pool-${i % 20}`],
    ['nvidia.com/gpu.product', ['NVIDIA-H100-80GB-HBM3', 'NVIDIA-A100-SXM4-40GB', 'NVIDIA-L40S', 'none'][i % 4]],
    ['nvidia.com/gpu.count', String([8, 8, 8, 0][i % 4])],
    ['nvidia.com/cuda.driver.major', '570'],
    ['nvidia.com/gpu-driver-upgrade-state', 'upgrade-done'],
    ['topology.k8s.aws/network-node-layer-3', `nn-${(i >> 4).toString(16).padStart(8, '0')}`],
  ];
  for (let k = 0; out.length < count; k++) {
    const prefix = NFD_PREFIXES[k % NFD_PREFIXES.length];
    out.push([`feature.node.kubernetes.io/${prefix}.F${k}`, k % 7 === 0 ? String(i % 3) : 'true']);
  }
  return out;
}

/** NodeTopology label/taint data as aicr encodes it. */
function topology(names: string[], labelsPerNode: number): { summary: Data; label: Data; taint: Data } {
  const labels = new Map<string, Map<string, string[]>>();
  names.forEach((name, i) => {
    for (const [k, v] of labelsOf(i, name, labelsPerNode)) {
      let byValue = labels.get(k);
      if (!byValue) labels.set(k, (byValue = new Map()));
      const list = byValue.get(v);
      if (list) list.push(name);
      else byValue.set(v, [name]);
    }
  });
  const label: Data = {};
  let labelCount = 0;
  for (const [k, byValue] of labels) {
    for (const [v, nodes] of byValue) {
      nodes.sort();
      label[byValue.size > 1 ? `${k}.${v}` : k] = `${v}|${nodes.join(',')}`;
      labelCount++;
    }
  }
  const gpu = names.filter((_, i) => i % 4 !== 3).sort();
  const taint: Data = {
    'nvidia.com/gpu': `NoSchedule|present|${gpu.join(',')}`,
    'dedicated.NoSchedule': `gpu|${gpu.slice(0, 200).join(',')}`,
    'dedicated.NoExecute': `gpu|${gpu.slice(200, 400).join(',')}`,
  };
  return { summary: { 'label-count': labelCount, 'node-count': names.length, 'taint-count': 3 }, label, taint };
}

function systemdUnit(unit: string, r: () => number): Data {
  const d: Data = {};
  const t0 = 1754471112332254;
  d.ActiveState = 'active';
  d.SubState = 'running';
  d.LoadState = 'loaded';
  d.UnitFileState = 'enabled';
  d.FragmentPath = `/usr/lib/systemd/system/${unit}`;
  d.ActiveEnterTimestamp = t0;
  d.ActiveEnterTimestampMonotonic = 241206164;
  d.ExecMainStartTimestamp = t0 - 1000;
  d.ExecMainPID = 1234;
  d.MainPID = 1234;
  d.InvocationID = 'a'.repeat(32);
  d.CPUUsageNSec = 2031112691933000;
  d.MemoryCurrent = 812345344;
  d.TasksCurrent = 97;
  d.NRestarts = 0;
  d.IPIngressBytes = 18446744073709551615n as unknown as number; // uint64 max as aicr prints it
  d.ExecStart = `[{/usr/bin/${unit.split('.')[0]} [/usr/bin/${unit.split('.')[0]}] false 1754471112 1234 0 0}]`;
  d.BlockIOWeight = 18446744073709551615n as unknown as number;
  for (let p = 0; p < 430; p++) {
    const kind = p % 5;
    d[`Property${p.toString().padStart(3, '0')}${['Limit', 'Accounting', 'Directory', 'Policy', 'Mode'][kind]}`] =
      kind === 0 ? 18446744073709551615n as unknown as number : kind === 1 ? r() < 0.5 : kind === 2 ? '[]' : kind === 3 ? String(Math.floor(r() * 1000)) : Math.floor(r() * 65536);
  }
  return d;
}

function sysctls(n: number, r: () => number): Data {
  const d: Data = {
    '/proc/sys/kernel/osrelease': REAL_CHANGES['OS.sysctl./proc/sys/kernel/osrelease'][0],
    '/proc/sys/vm/swappiness': REAL_CHANGES['OS.sysctl./proc/sys/vm/swappiness'][0],
    '/proc/sys/kernel/random/uuid': '33fb429b-8d36-409b-9bf5-897e9ee27ac1',
    '/proc/sys/kernel/random/boot_id': '0b3a8a55-5c4e-4f0e-9d3c-1f7f3c7b2a10',
    '/proc/sys/kernel/random/entropy_avail': '256',
    '/proc/sys/fs/dentry-state': '244870\t243299\t45\t0\t39227\t0',
    '/proc/sys/fs/file-nr': '1159\t0\t2466177',
    '/proc/sys/fs/inode-nr': '205471\t0',
    '/proc/sys/kernel/ns_last_pid': '23751',
    '/proc/sys/kernel/hostname': 'ip-10-0-0-1',
  };
  const dirs = ['kernel', 'vm', 'fs', 'net/core', 'net/ipv4', 'dev', 'user', 'abi'];
  for (let i = 0; Object.keys(d).length < n; i++) {
    d[`/proc/sys/${dirs[i % dirs.length]}/param_${i}`] = r() < 0.3 ? `${Math.floor(r() * 1e6)}\t${Math.floor(r() * 10)}` : String(Math.floor(r() * 100000));
  }
  return d;
}

function buildBaseline(o: Required<GenerateOptions>): { doc: Doc; names: string[] } {
  const r = rng(o.seed);
  const names = Array.from({ length: o.nodes }, (_, i) => nodeName(i));
  const topo = topology(names, o.labelsPerNode);
  const images: Data = { aicr: 'v0.11.1' };
  for (let i = 0; i < 250; i++) images[`component-${i}`] = `v${i % 5}.${i % 13}.${i % 7}`;
  const policy: Data = {};
  for (let i = 0; i < 160; i++) policy[`section${i % 20}.setting${i}`] = i % 3 === 0 ? 'true' : `value-${i}`;
  const kmod: Data = {};
  for (let i = 0; i < 300; i++) kmod[`module_${i}`] = true;
  const units = ['containerd.service', 'kubelet.service', 'docker.service', 'nvidia-persistenced.service', 'nvidia-fabricmanager.service', 'systemd-journald.service', 'sshd.service', 'chronyd.service'].slice(0, o.units);
  const doc: Doc = {
    metadata: { 'source-node': names[0], timestamp: '2026-01-02T18:01:13Z', version: '0.11.1' },
    measurements: [
      { type: 'SystemD', subtypes: units.map((u) => ({ subtype: u, data: systemdUnit(u, r) })) },
      {
        type: 'OS',
        subtypes: [
          { subtype: 'grub', data: { BOOT_IMAGE: '/boot/vmlinuz-6.8.0-1024-aws', ro: '', hugepages: '5128', hugepagesz: '2M', security: 'apparmor' } },
          { subtype: 'sysctl', data: sysctls(o.sysctls, r) },
          { subtype: 'kmod', data: kmod },
          { subtype: 'release', data: { ID: 'ubuntu', VERSION_ID: '22.04', PRETTY_NAME: 'Ubuntu 22.04.5 LTS', NAME: 'Ubuntu' } },
        ],
      },
      {
        type: 'K8s',
        subtypes: [
          { subtype: 'server', data: { goVersion: 'go1.24.9', platform: 'linux/amd64', version: REAL_CHANGES['K8s.server.version'][0] } },
          { subtype: 'image', data: images },
          { subtype: 'policy', data: policy },
          {
            subtype: 'node',
            data: {
              'kernel-version': '6.8.0-1024-aws',
              'os-image': 'Ubuntu 22.04.5 LTS',
              provider: 'eks',
              'provider-id': 'aws:///us-east-1e/i-0861d1808b85e90ca',
              'source-node': names[0],
            },
          },
        ],
      },
      {
        type: 'GPU',
        subtypes: [
          {
            subtype: 'smi',
            data: {
              'cuda-version': '12.8',
              driver: REAL_CHANGES['GPU.smi.driver'][0],
              'gpu-count': 8,
              'gpu.model': 'NVIDIA H100 80GB HBM3',
              'gpu.product-architecture': 'Hopper',
            },
          },
        ],
      },
      {
        type: 'NodeTopology',
        subtypes: [
          { subtype: 'summary', data: topo.summary },
          { subtype: 'taint', data: topo.taint },
          { subtype: 'label', data: topo.label },
        ],
      },
    ],
  };
  return { doc, names };
}

/** The baseline re-captured: noise everywhere, some nodes replaced, {@link REAL_CHANGES} applied. */
function recapture(base: Doc, names: string[], o: Required<GenerateOptions>): Doc {
  const r = rng(o.seed + 1);
  const cur: Doc = structuredClone(base);
  cur.metadata.timestamp = '2026-01-02T00:00:00Z'.replace('00:00:00', '06:00:07');
  cur.metadata['source-node'] = names[1];
  const find = (t: string, s: string): Data => cur.measurements.find((m) => m.type === t)!.subtypes.find((x) => x.subtype === s)!.data;
  // Volatile readings.
  const sys = find('OS', 'sysctl');
  sys['/proc/sys/kernel/random/uuid'] = '81f1bd9d-8ca6-4d56-b713-5e1460e0e5d0';
  sys['/proc/sys/kernel/random/entropy_avail'] = '253';
  sys['/proc/sys/fs/dentry-state'] = '244996\t243421\t45\t0\t39227\t0';
  sys['/proc/sys/fs/file-nr'] = '1095\t0\t2466177';
  sys['/proc/sys/kernel/ns_last_pid'] = '23825';
  for (const st of cur.measurements.find((m) => m.type === 'SystemD')!.subtypes) {
    st.data.CPUUsageNSec = Number(st.data.CPUUsageNSec) + 123456789;
    st.data.MemoryCurrent = 812345344 + Math.floor(r() * 1e6);
    st.data.TasksCurrent = 98;
  }
  find('K8s', 'image').aicr = 'v0.11.1-1-g1234567';
  find('K8s', 'node')['source-node'] = names[1];
  find('K8s', 'node')['provider-id'] = 'aws:///us-east-1e/i-0aaaaaaaaaaaaaaaa';
  // Node replacement: the last N nodes get new names (autoscaling), lists are re-sorted.
  const renamed = names.map((n, i) => (i >= names.length - o.replacedNodes ? nodeName(i, 1) : n));
  const topo = topology(renamed, o.labelsPerNode);
  Object.assign(find('NodeTopology', 'summary'), topo.summary);
  for (const [s, data] of [['label', topo.label], ['taint', topo.taint]] as const) {
    const st = cur.measurements.find((m) => m.type === 'NodeTopology')!.subtypes.find((x) => x.subtype === s)!;
    st.data = data;
  }
  // Real changes.
  for (const [p, [, after]] of Object.entries(REAL_CHANGES)) {
    const [t, s, ...rest] = p.split('.');
    find(t, s)[rest.join('.')] = after;
  }
  // Collectors finish in a different order.
  cur.measurements = [cur.measurements[3], cur.measurements[1], cur.measurements[4], cur.measurements[0], cur.measurements[2]];
  return cur;
}

/** Printable characters without tabs or line breaks, not starting with a YAML indicator. */
const PLAIN = /^[^\s\-?:,[\]{}#&*!|>'"%@`][^\t\n\r]*$/;
const RESERVED = /^(?:true|false|null|yes|no|on|off|y|n|~)$/i;

/** A YAML scalar as yaml.v3 would print it: plain when unambiguous, else double-quoted. */
function scalar(v: Val | bigint): string {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v !== '' && PLAIN.test(v) && !RESERVED.test(v) && !v.endsWith(' ') && !v.includes(': ') && !v.includes(' #') && !/^[-+.]?\d/.test(v)) return v;
  return JSON.stringify(v);
}

/** Serialize a snapshot as aicr's YAML writer lays it out (2-space indent, sorted data keys). */
export function toSnapshotYaml(doc: Doc): string {
  const out: string[] = ['kind: Snapshot', 'apiVersion: aicr.nvidia.com/v1alpha1', 'metadata:'];
  for (const k of Object.keys(doc.metadata).sort()) out.push(`  ${scalar(k)}: ${scalar(doc.metadata[k])}`);
  out.push('measurements:');
  for (const m of doc.measurements) {
    out.push(`  - type: ${m.type}`, '    subtypes:');
    for (const st of m.subtypes) {
      out.push(`      - subtype: ${scalar(st.subtype)}`);
      const keys = Object.keys(st.data).sort();
      if (keys.length === 0) {
        out.push('        data: {}');
        continue;
      }
      out.push('        data:');
      for (const k of keys) out.push(`          ${scalar(k)}: ${scalar(st.data[k])}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** JSON as `aicr snapshot -t json` writes it (BigInt readings printed as numbers). */
export function toSnapshotJson(doc: Doc): string {
  const full = { kind: 'Snapshot', apiVersion: 'aicr.nvidia.com/v1alpha1', ...doc };
  return `${JSON.stringify(full, (_k, v) => (typeof v === 'bigint' ? (JSON as unknown as { rawJSON(s: string): unknown }).rawJSON(v.toString()) : v), 2)}\n`;
}

/**
 * Write a synthetic pair into `dir`.
 *
 * @returns the two file paths, their sizes in bytes, and the paths of the real changes.
 */
export async function generatePair(dir: string, opts: GenerateOptions = {}): Promise<{ baseline: string; current: string; bytes: [number, number]; realChanges: string[] }> {
  const o: Required<GenerateOptions> = { nodes: 5000, labelsPerNode: 150, sysctls: 2500, units: 8, replacedNodes: 10, format: 'yaml', seed: 42, ...opts };
  const { doc, names } = buildBaseline(o);
  const cur = recapture(doc, names, o);
  const write = o.format === 'json' ? toSnapshotJson : toSnapshotYaml;
  await fs.mkdir(dir, { recursive: true });
  const ext = o.format === 'json' ? 'json' : 'yaml';
  const baseline = path.join(dir, `synthetic-baseline.${ext}`);
  const current = path.join(dir, `synthetic-current.${ext}`);
  const a = write(doc);
  const b = write(cur);
  await fs.writeFile(baseline, a);
  await fs.writeFile(current, b);
  return { baseline, current, bytes: [Buffer.byteLength(a), Buffer.byteLength(b)], realChanges: Object.keys(REAL_CHANGES) };
}

// `node bench/drift/generate.ts <dir> [nodes] [yaml|json]`
if (import.meta.main) {
  const [dir = 'bench-out', nodes = '5000', format = 'yaml'] = process.argv.slice(2);
  const res = await generatePair(dir, { nodes: Number(nodes), format: format as 'yaml' | 'json' });
  process.stdout.write(`${JSON.stringify(res)}\n`);
}
