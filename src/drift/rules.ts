/**
 * Noise rules: readings that change between two captures of an unchanged
 * cluster, and how users add, remove or switch them off.
 *
 * A rule matches a change's path (`Type.subtype.key`) with a glob or a
 * regular expression. A plain rule hides every change on the paths it
 * matches (and drops those readings from the normalized form); a rule with
 * `strip` hides a modification only when both values are equal once the
 * `strip` matches are removed (the normalized form holds the stripped value).
 *
 * Globs are picomatch globs over the whole path with no separator: `*` and
 * `**` match any run of characters, `/` and `.` included; `{a,b}`, `?` and
 * `[...]` work as usual.
 */
import picomatch from 'picomatch';
import { FileError, InputError } from '../core/errors.ts';
import { isRecord, parseYamlDoc } from '../core/yaml.ts';
import { readFileCapped } from '../core/fsutil.ts';
import { sameReading } from './compare.ts';
import type { Change, DriftReading } from './types.ts';

/** A rule as written (defaults, rules file or `ignore` input). */
export interface RuleSpec {
  /** Unique id; reports count hidden changes per id. */
  id: string;
  /** Glob on the path (exactly one of `glob` and `regex`). */
  glob?: string;
  /** Regular expression (JavaScript syntax) on the path. */
  regex?: string;
  /** Regex flags for `regex` (e.g. `i`). */
  flags?: string;
  /** Why these readings are noise. */
  reason: string;
  /** Compare values with the matches of this regex removed (global), instead of hiding every change. */
  strip?: string;
  /** Where the rule was seen first (for defaults: the captures that showed it). */
  evidence?: string;
}

/** A compiled rule. */
export interface NoiseRule extends RuleSpec {
  origin: 'default' | 'rules-file' | 'ignore';
  /** True when `path` is covered by this rule. */
  matches(path: string): boolean;
  /** Stripped form of a value (only for rules with `strip`). */
  normalize(value: DriftReading): DriftReading;
}

/** Stands in for `/` so picomatch sees one path segment (`*` then crosses `/`). */
const SLASH = '\u2215';

/** The systemd properties whose values embed a run's start/exit times and PID. */
const EXEC_RUNTIME = String.raw` -?\d+ -?\d+ -?\d+ -?\d+ -?\d+ -?\d+ -?\d+\]`;

/**
 * The default rule set. Evidence: two `AICR_AGENT_MODE=true aicr snapshot`
 * captures of one unchanged host 2 s apart (local), the GB200 EKS captures of
 * 2026-01-02 and 2026-02-05 (`eks-gb200-*` fixtures), the other fixtures, and
 * the volatile-field list of the AICR reference notes (§3.3).
 */
export const DEFAULT_RULES: readonly RuleSpec[] = [
  {
    id: 'sysctl-random',
    glob: 'OS.sysctl./proc/sys/kernel/random/{uuid,boot_id,entropy_avail}',
    reason: 'kernel/random/uuid is new on every read, boot_id on every boot, entropy_avail moves all the time',
    evidence: 'uuid differs between two local captures 2 s apart; uuid and boot_id differ in the GB200 pair',
  },
  {
    id: 'sysctl-counters',
    glob: 'OS.sysctl./proc/sys/{fs/dentry-state,fs/file-nr,fs/inode-nr,fs/inode-state,fs/aio-nr,fs/quota/*,kernel/ns_last_pid,kernel/pty/nr,kernel/hung_task_detect_count}',
    reason: 'live kernel counters (cached dentries and inodes, open files, AIO requests, last PID, ptys, hung tasks), not settings',
    evidence: 'dentry-state, file-nr, inode-nr, inode-state and ns_last_pid differ between two local captures 2 s apart and in the GB200 pair',
  },
  {
    id: 'sysctl-hostname',
    glob: 'OS.sysctl./proc/sys/kernel/hostname',
    reason: 'the host name of whichever node (or agent pod) the scheduler ran the snapshot agent on',
    evidence: 'ip-10-0-160-248 → ip-10-0-209-64 in the GB200 pair',
  },
  {
    id: 'agent-node',
    glob: 'K8s.node.{source-node,provider-id}',
    reason: 'the node the snapshot agent ran on, picked by the scheduler unless the Job is pinned with --node-selector',
    evidence: 'both change with the agent node in the GB200 pair; reference notes §3.3',
  },
  {
    id: 'agent-image',
    glob: 'K8s.image.{aicr,eidos}',
    reason: "the snapshot agent's own image (eidos is its pre-rename name): it follows the CLI version, not the cluster",
    evidence: 'eidos removed and aicr added in the GB200 pair; aicr: latest in the OpenStack B200 capture',
  },
  {
    id: 'systemd-timestamps',
    regex: String.raw`^SystemD\..+\.[A-Za-z]*Timestamp(?:Monotonic)?$`,
    reason: 'unit state-change times (ActiveEnter, InactiveExit, ExecMainStart, Condition, Assert, StateChange ...) move on every restart or reboot',
    evidence: '14 Timestamp/TimestampMonotonic keys of containerd.service differ in the GB200 pair',
  },
  {
    id: 'systemd-pids',
    regex: String.raw`^SystemD\..+\.(?:Main|ExecMain|Control)PID$`,
    reason: 'process ids of the running unit',
    evidence: 'MainPID and ExecMainPID 28986 → 23366 in the GB200 pair',
  },
  {
    id: 'systemd-invocation',
    regex: String.raw`^SystemD\..+\.(?:InvocationID|ControlGroupId)$`,
    reason: "ids systemd assigns to every start of a unit: the random invocation id and the id of the unit's new cgroup",
    evidence: 'InvocationID differs for containerd.service in the GB200 pair; ControlGroupId is the cgroup inode number (5194, 5776, 7000 in the newer-systemd captures)',
  },
  {
    id: 'systemd-usage',
    regex: String.raw`^SystemD\..+\.(?:CPUUsageNSec|Memory(?:Current|Available|Peak|SwapCurrent|SwapPeak|ZSwapCurrent)|TasksCurrent|NRestarts|IP(?:Ingress|Egress)(?:Bytes|Packets)|IO(?:Read|Write)(?:Bytes|Operations))$`,
    reason: "a unit's live resource usage (CPU time, memory, tasks, restarts, IP and IO accounting)",
    evidence: 'CPUUsageNSec, MemoryCurrent, MemoryAvailable and TasksCurrent differ in the GB200 pair',
  },
  {
    id: 'systemd-exec-runtime',
    regex: String.raw`^SystemD\..+\.Exec(?:Start|StartPre|StartPost|Stop|StopPost|Reload|Condition)(?:Ex)?$`,
    strip: EXEC_RUNTIME,
    reason: "Exec* values end with the last run's start/exit times, PID and status; compared without them, so a changed command line still shows",
    evidence: 'ExecStart, ExecStartEx, ExecStartPre and ExecStartPreEx of containerd.service differ only in those fields in the GB200 pair',
  },
  {
    id: 'node-lists',
    glob: 'NodeTopology.{label,taint}.*',
    strip: String.raw`\|[^|]*$`,
    reason: 'label and taint readings end with the list of nodes carrying them, which changes with autoscaling and node replacement; compared by value (and effect) only',
    evidence: 'aicr pkg/collector/topology: "<value>|n1,n2" and "<effect>|<value>|n1,n2"; reference notes §3.3',
  },
  {
    id: 'node-counts',
    glob: 'NodeTopology.summary.{node-count,label-count,taint-count}',
    reason: 'node, label and taint counts follow autoscaling (label-count grows with per-node labels such as the hostname)',
    evidence: 'reference notes §3.3 (NodeTopology)',
  },
  {
    id: 'per-node-labels',
    glob: 'NodeTopology.label.kubernetes.io/hostname{,.*}',
    reason: 'kubernetes.io/hostname has one value per node, so aicr writes one key per node; keys come and go with nodes',
    evidence: 'aicr pkg/collector/topology (a key with several values becomes <key>.<value>); reference notes §3.3',
  },
  {
    id: 'transient-taints',
    glob: 'NodeTopology.taint.{node.kubernetes.io/*,node.cloudprovider.kubernetes.io/uninitialized,ToBeDeletedByClusterAutoscaler,DeletionCandidateOfClusterAutoscaler,karpenter.sh/disrupted,karpenter.sh/disruption}{,.*}',
    reason: 'taints the node lifecycle controller, cluster-autoscaler and Karpenter set and clear on their own (not-ready, unreachable, unschedulable, pressure, scale-down)',
    evidence: 'Kubernetes well-known taints; cluster-autoscaler and Karpenter documentation',
  },
];

/** Ids of {@link DEFAULT_RULES}. */
export const DEFAULT_RULE_IDS: readonly string[] = DEFAULT_RULES.map((r) => r.id);

/**
 * Compile a rule.
 * @throws Error with a message naming the rule when the glob or regex is invalid.
 */
export function compileRule(spec: RuleSpec, origin: NoiseRule['origin']): NoiseRule {
  if ((spec.glob === undefined) === (spec.regex === undefined)) throw new Error(`rule '${spec.id}' needs exactly one of glob and regex`);
  let test: (p: string) => boolean;
  if (spec.glob !== undefined) {
    if (spec.glob.trim() === '') throw new Error(`rule '${spec.id}' has an empty glob`);
    const re = picomatch.makeRe(spec.glob.replaceAll('/', SLASH), { dot: true });
    test = (p) => re.test(p.replaceAll('/', SLASH));
  } else {
    let re: RegExp;
    try {
      re = new RegExp(spec.regex as string, (spec.flags ?? '').replace(/[gy]/g, ''));
    } catch (err) {
      throw new Error(`rule '${spec.id}' has an invalid regex: ${(err as Error).message}`);
    }
    test = (p) => re.test(p);
  }
  let strip: RegExp | undefined;
  if (spec.strip !== undefined) {
    try {
      strip = new RegExp(spec.strip, 'g');
    } catch (err) {
      throw new Error(`rule '${spec.id}' has an invalid strip regex: ${(err as Error).message}`);
    }
  }
  const stripRe = strip;
  return {
    ...spec,
    origin,
    matches: test,
    normalize: (v) => (stripRe && typeof v === 'string' ? v.replace(stripRe, '') : v),
  };
}

/** The compiled default rules. */
export function defaultRules(): NoiseRule[] {
  return DEFAULT_RULES.map((r) => compileRule(r, 'default'));
}

/** Marks a reading that the rules drop from the normalized form. */
export const DROPPED: unique symbol = Symbol('dropped');

/**
 * A reading as it appears in the normalized form under `rules`: dropped when
 * a plain rule matches its path, else with the `strip` of every matching
 * strip rule applied in order.
 */
export function normalizeReading(rules: readonly NoiseRule[], path: string, value: DriftReading): DriftReading | typeof DROPPED {
  let v = value;
  for (const r of rules) {
    if (!r.matches(path)) continue;
    if (r.strip === undefined) return DROPPED;
    v = r.normalize(v);
  }
  return v;
}

/**
 * Classify a change: the rule that hides it, or `undefined` when it stays
 * visible. A plain rule matching the path hides any change (the first such
 * rule is credited); otherwise a modification is hidden when its normalized
 * values are equal (credited to the first matching strip rule). So a change
 * is hidden exactly when the normalized forms agree on its path.
 */
export function hidingRule(rules: readonly NoiseRule[], change: Change): NoiseRule | undefined {
  let firstStrip: NoiseRule | undefined;
  for (const r of rules) {
    if (!r.matches(change.path)) continue;
    if (r.strip === undefined) return r;
    firstStrip ??= r;
  }
  if (!firstStrip || change.kind !== 'modified') return undefined;
  const b = normalizeReading(rules, change.path, change.baseline ?? null) as DriftReading;
  const c = normalizeReading(rules, change.path, change.current ?? null) as DriftReading;
  return sameReading(b, c) ? firstStrip : undefined;
}

/** The parsed `ignore` input. */
export interface IgnoreInput {
  /** `none` was given: every rule is off. */
  none: boolean;
  /** Default rule ids to switch off (`!id`). */
  disable: string[];
  /** Rules to add. */
  add: RuleSpec[];
}

/**
 * Parse the `ignore` input lines: `none`; `!<default-rule-id>` to switch a
 * default rule off; `/<regex>/<flags>` for a regex on the path; anything else
 * is a glob on the path.
 *
 * @throws InputError naming the line for an unknown rule id, a bad regex or
 *   glob, or `none` mixed with other lines.
 */
export function parseIgnore(lines: readonly string[]): IgnoreInput {
  const out: IgnoreInput = { none: false, disable: [], add: [] };
  for (const [i, line] of lines.entries()) {
    if (line === 'none') {
      out.none = true;
    } else if (line.startsWith('!')) {
      const id = line.slice(1).trim();
      if (!DEFAULT_RULE_IDS.includes(id)) {
        throw new InputError('ignore', `line ${i + 1}: '${line}' names no default rule; expected one of ${DEFAULT_RULE_IDS.join(', ')}`);
      }
      out.disable.push(id);
    } else {
      const m = /^\/(.+)\/([a-z]*)$/.exec(line);
      const spec: RuleSpec = m ? { id: line, regex: m[1], flags: m[2], reason: 'ignore input' } : { id: line, glob: line, reason: 'ignore input' };
      try {
        compileRule(spec, 'ignore');
      } catch (err) {
        throw new InputError('ignore', `line ${i + 1}: ${(err as Error).message}`);
      }
      out.add.push(spec);
    }
  }
  if (out.none && (out.disable.length > 0 || out.add.length > 0)) {
    throw new InputError('ignore', "'none' switches every rule off and cannot be combined with other lines; use !<id> to drop single default rules");
  }
  return out;
}

/** A parsed rules file. */
export interface RulesFile {
  /** Keep the default rules (`defaults: false` drops them all). */
  defaults: boolean;
  disable: string[];
  rules: RuleSpec[];
}

const FILE_KEYS = ['kind', 'apiVersion', 'defaults', 'disable', 'rules'];
const RULE_KEYS = ['id', 'glob', 'regex', 'flags', 'reason', 'strip'];

/**
 * Check a parsed rules-file document.
 *
 * ```yaml
 * defaults: true            # keep the default rules (default)
 * disable: [sysctl-hostname]
 * rules:
 *   - id: sidecars
 *     glob: K8s.image.istio-*
 *     reason: mesh sidecars roll on their own schedule
 *   - id: limits
 *     regex: '^SystemD\..+\.Limit[A-Z]'
 *   - id: exec
 *     glob: SystemD.*.ExecStart
 *     strip: ' \d+ \d+ \d+ \d+ \d+ -?\d+ -?\d+\]'
 * ```
 *
 * @throws FileError naming `source` and the offending entry.
 */
export function rulesFromDoc(doc: unknown, source: string): RulesFile {
  if (!isRecord(doc)) throw new FileError(source, 'is not a drift rules file: expected a mapping with rules, disable and defaults');
  for (const k of Object.keys(doc)) if (!FILE_KEYS.includes(k)) throw new FileError(source, `unknown key '${k}'; expected ${FILE_KEYS.slice(2).join(', ')}`);
  if (doc.kind !== undefined && doc.kind !== 'DriftRules') throw new FileError(source, `kind is '${String(doc.kind)}', expected DriftRules`);
  const defaults = doc.defaults === undefined ? true : doc.defaults;
  if (typeof defaults !== 'boolean') throw new FileError(source, 'defaults must be true or false');
  const disable = doc.disable === undefined || doc.disable === null ? [] : doc.disable;
  if (!Array.isArray(disable) || !disable.every((d) => typeof d === 'string')) throw new FileError(source, 'disable must be a list of default rule ids');
  for (const id of disable) {
    if (!DEFAULT_RULE_IDS.includes(id)) throw new FileError(source, `disable: '${id}' names no default rule; expected one of ${DEFAULT_RULE_IDS.join(', ')}`);
  }
  const list = doc.rules === undefined || doc.rules === null ? [] : doc.rules;
  if (!Array.isArray(list)) throw new FileError(source, 'rules must be a list');
  const seen = new Set<string>();
  const rules = list.map((r, i): RuleSpec => {
    if (!isRecord(r)) throw new FileError(source, `rules[${i}] is not a mapping`);
    for (const k of Object.keys(r)) if (!RULE_KEYS.includes(k)) throw new FileError(source, `rules[${i}]: unknown key '${k}'; expected ${RULE_KEYS.join(', ')}`);
    for (const k of RULE_KEYS) {
      if (r[k] !== undefined && typeof r[k] !== 'string') throw new FileError(source, `rules[${i}].${k} must be a string`);
    }
    const id = (r.id as string | undefined) ?? `${source}#${i + 1}`;
    if (seen.has(id) || DEFAULT_RULE_IDS.includes(id)) throw new FileError(source, `rules[${i}]: id '${id}' is used twice (default rule ids are taken)`);
    seen.add(id);
    const spec: RuleSpec = {
      id,
      reason: (r.reason as string | undefined) ?? `rules file ${source}`,
      ...(r.glob !== undefined ? { glob: r.glob as string } : {}),
      ...(r.regex !== undefined ? { regex: r.regex as string } : {}),
      ...(r.flags !== undefined ? { flags: r.flags as string } : {}),
      ...(r.strip !== undefined ? { strip: r.strip as string } : {}),
    };
    try {
      compileRule(spec, 'rules-file');
    } catch (err) {
      throw new FileError(source, `rules[${i}]: ${(err as Error).message}`);
    }
    return spec;
  });
  return { defaults, disable, rules };
}

/** Largest rules file read (1 MiB). */
export const MAX_RULES_BYTES = 1024 * 1024;

/** Read and check a rules file (YAML or JSON). */
export async function readRulesFile(file: string): Promise<RulesFile> {
  const buf = await readFileCapped(file, MAX_RULES_BYTES);
  return rulesFromDoc(parseYamlDoc(buf.toString('utf8'), file), file);
}

/**
 * The effective rule list: defaults (unless switched off), then rules-file
 * rules, then `ignore` rules. `ignore: none` yields no rules.
 */
export function buildRules(ignore: IgnoreInput, file?: RulesFile): NoiseRule[] {
  if (ignore.none) return [];
  const off = new Set([...ignore.disable, ...(file?.disable ?? [])]);
  const defaults = file?.defaults === false ? [] : DEFAULT_RULES.filter((r) => !off.has(r.id));
  return [
    ...defaults.map((r) => compileRule(r, 'default')),
    ...(file?.rules ?? []).map((r) => compileRule(r, 'rules-file')),
    ...ignore.add.map((r) => compileRule(r, 'ignore')),
  ];
}
