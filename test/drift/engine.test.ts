/**
 * The drift engine on small hand-made snapshots: identity comparison, noise
 * rules, normalized forms and JSON Patch, ranking, and every report format.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fastJsonPatch from 'fast-json-patch';
import {
  annotationsFor,
  buildReport,
  buildRules,
  compareSnapshots,
  defaultRules,
  detectDrift,
  jsonPatch,
  markdownReport,
  normalizedForm,
  openMetrics,
  parseIgnore,
  parseSnapshotText,
  pointer,
  rulesFromDoc,
  toJsonText,
  type DriftSnapshot,
} from '../../src/drift/index.ts';
import { FileError, InputError } from '../../src/core/errors.ts';

const { applyPatch, deepClone } = fastJsonPatch;

type Data = Record<string, string | number | boolean | null>;

/** A snapshot document from `{type: {subtype: data}}` in the given order. */
function snap(measurements: Record<string, Record<string, Data>>, extra = ''): DriftSnapshot {
  const lines = ['kind: Snapshot', 'apiVersion: aicr.nvidia.com/v1alpha1', 'metadata:', '  timestamp: "2026-01-01T00:00:00Z"', 'measurements:'];
  for (const [type, subtypes] of Object.entries(measurements)) {
    lines.push(`  - type: ${type}`);
    if (Object.keys(subtypes).length === 0) continue;
    lines.push('    subtypes:');
    for (const [name, data] of Object.entries(subtypes)) {
      lines.push(`      - subtype: ${JSON.stringify(name)}`, `        data: ${JSON.stringify(data)}`);
    }
  }
  return parseSnapshotText(lines.join('\n') + '\n' + extra, 'test.yaml');
}

const base = {
  GPU: { smi: { driver: '570.133.20', 'gpu-count': 8 } },
  OS: { sysctl: { '/proc/sys/kernel/osrelease': '6.8.0', '/proc/sys/kernel/random/uuid': 'aaa', '/proc/sys/vm/swappiness': '60' }, kmod: { nvidia: true } },
  SystemD: { 'containerd.service': { ActiveState: 'active', MainPID: 12, ExecStart: '[[/usr/bin/containerd [/usr/bin/containerd] false 1764981218966320 272121044 0 0 28986 0 0]]' } },
};

describe('compare by identity', () => {
  it('ignores the order of measurements, subtypes and keys', () => {
    const a = snap(base);
    const b = snap({
      SystemD: { 'containerd.service': { ExecStart: base.SystemD['containerd.service'].ExecStart, MainPID: 12, ActiveState: 'active' } },
      OS: { kmod: { nvidia: true }, sysctl: { '/proc/sys/vm/swappiness': '60', '/proc/sys/kernel/random/uuid': 'aaa', '/proc/sys/kernel/osrelease': '6.8.0' } },
      GPU: { smi: { 'gpu-count': 8, driver: '570.133.20' } },
    });
    assert.deepEqual(compareSnapshots(a, b), []);
  });

  it('reports added, removed and modified readings with path and both values', () => {
    const b = snap({ ...base, GPU: { smi: { driver: '570.172.08', 'gpu-count': 8, 'cuda-version': '12.8' } }, OS: { sysctl: base.OS.sysctl, kmod: {} } });
    assert.deepEqual(compareSnapshots(snap(base), b), [
      { kind: 'added', path: 'GPU.smi.cuda-version', type: 'GPU', subtype: 'smi', key: 'cuda-version', current: '12.8' },
      { kind: 'modified', path: 'GPU.smi.driver', type: 'GPU', subtype: 'smi', key: 'driver', baseline: '570.133.20', current: '570.172.08' },
      { kind: 'removed', path: 'OS.kmod.nvidia', type: 'OS', subtype: 'kmod', key: 'nvidia', baseline: true },
    ]);
  });

  it('turns a type or subtype present on one side into one change per reading, as aicr diff does', () => {
    const b = snap({ GPU: base.GPU, OS: { sysctl: base.OS.sysctl }, NodeTopology: { summary: { 'node-count': 3 } } });
    const paths = compareSnapshots(snap(base), b).map((c) => `${c.kind} ${c.path}`);
    assert.deepEqual(paths, [
      'added NodeTopology.summary.node-count',
      'removed OS.kmod.nvidia',
      'removed SystemD.containerd.service.ActiveState',
      'removed SystemD.containerd.service.ExecStart',
      'removed SystemD.containerd.service.MainPID',
    ]);
  });

  it('compares values by their string form like aicr diff (1 equals "1", null is <nil>)', () => {
    const a = snap({ X: { s: { n: 1, b: true, z: null } } });
    const b = snap({ X: { s: { n: '1', b: 'true', z: '<nil>' } } });
    assert.deepEqual(compareSnapshots(a, b), []);
  });

  it('keeps uint64 readings exact (no rounding to a double)', () => {
    const a = parseSnapshotText('kind: Snapshot\napiVersion: aicr.nvidia.com/v1alpha1\nmeasurements:\n- type: SystemD\n  subtypes:\n  - subtype: u\n    data:\n      LimitNOFILE: 18446744073709551615\n', 'a');
    const b = parseSnapshotText('kind: Snapshot\napiVersion: aicr.nvidia.com/v1alpha1\nmeasurements:\n- type: SystemD\n  subtypes:\n  - subtype: u\n    data:\n      LimitNOFILE: 18446744073709551614\n', 'b');
    const [c] = compareSnapshots(a, b);
    assert.equal(c.baseline, 18446744073709551615n);
    assert.equal(c.current, 18446744073709551614n);
    assert.match(toJsonText(c), /"baseline": 18446744073709551615,/);
  });

  it('reads the legacy eidos.nvidia.com group with a notice', () => {
    const s = parseSnapshotText('kind: Snapshot\napiVersion: eidos.nvidia.com/v1alpha1\nmeasurements:\n- type: GPU\n', 'old.yaml');
    assert.equal(s.legacyGroup, true);
    assert.match(s.notices[0], /old\.yaml uses the legacy API group eidos\.nvidia\.com\/v1alpha1/);
  });

  it('refuses a type or subtype listed twice and non-scalar readings, naming the source', () => {
    const head = 'kind: Snapshot\napiVersion: aicr.nvidia.com/v1alpha1\nmeasurements:\n';
    assert.throws(() => parseSnapshotText(`${head}- type: GPU\n- type: GPU\n`, 'dup.yaml'), /dup\.yaml: measurement type 'GPU' appears twice/);
    assert.throws(() => parseSnapshotText(`${head}- type: OS\n  subtypes:\n  - subtype: a\n  - subtype: a\n`, 'dup2.yaml'), /dup2\.yaml: subtype 'OS\.a' appears twice/);
    assert.throws(() => parseSnapshotText(`${head}- type: OS\n  subtypes:\n  - subtype: a\n    data: {k: [1, 2]}\n`, 'nest.yaml'), /nest\.yaml: reading OS\.a\.k is a list/);
  });
});

describe('noise rules', () => {
  it('default rules hide volatile readings and keep real ones', () => {
    const cur = structuredClone(base) as typeof base;
    cur.OS.sysctl['/proc/sys/kernel/random/uuid'] = 'bbb';
    cur.SystemD['containerd.service'].MainPID = 99;
    cur.SystemD['containerd.service'].ExecStart = '[[/usr/bin/containerd [/usr/bin/containerd] false 1769010342171929 124439557 0 0 23366 0 0]]';
    cur.GPU.smi.driver = '570.172.08';
    const r = detectDrift(snap(base), snap(cur), defaultRules());
    assert.deepEqual(r.changes.map((c) => c.path), ['GPU.smi.driver']);
    assert.deepEqual(
      r.hidden.map((h) => [h.rule, h.count]),
      [
        ['sysctl-random', 1],
        ['systemd-pids', 1],
        ['systemd-exec-runtime', 1],
      ],
    );
    assert.equal(r.rawTotal, 4);
    assert.deepEqual(r.byMeasurement.find((m) => m.type === 'SystemD'), { type: 'SystemD', added: 0, removed: 0, modified: 0, hidden: 2 });
  });

  it('a strip rule still shows a changed command line', () => {
    const cur = structuredClone(base) as typeof base;
    cur.SystemD['containerd.service'].ExecStart = '[[/usr/bin/containerd [/usr/bin/containerd --debug] false 1769010342171929 124439557 0 0 23366 0 0]]';
    const r = detectDrift(snap(base), snap(cur), defaultRules());
    assert.deepEqual(r.changes.map((c) => c.path), ['SystemD.containerd.service.ExecStart']);
  });

  it('compares NodeTopology labels by value, not by node list', () => {
    const a = snap({ NodeTopology: { label: { 'kubernetes.io/arch': 'amd64|n1,n2', 'kubernetes.io/hostname.n1': 'n1|n1' }, taint: { 'nvidia.com/gpu': 'NoSchedule|present|n1,n2' } } });
    const b = snap({ NodeTopology: { label: { 'kubernetes.io/arch': 'amd64|n1,n3', 'kubernetes.io/hostname.n3': 'n3|n3' }, taint: { 'nvidia.com/gpu': 'NoExecute|present|n1,n3' } } });
    const r = detectDrift(a, b, defaultRules());
    assert.deepEqual(r.changes.map((c) => c.path), ['NodeTopology.taint.nvidia.com/gpu']);
    assert.deepEqual(r.hidden.map((h) => [h.rule, h.count]), [['node-lists', 1], ['per-node-labels', 2]]);
  });

  it('ignore input: globs cross dots and slashes, /regex/ works, !id drops a default, none drops all', () => {
    const cur = structuredClone(base) as typeof base;
    cur.OS.sysctl['/proc/sys/vm/swappiness'] = '10';
    cur.OS.sysctl['/proc/sys/kernel/random/uuid'] = 'bbb';
    cur.GPU.smi['gpu-count'] = 4;
    const a = snap(base);
    const b = snap(cur);
    const glob = detectDrift(a, b, buildRules(parseIgnore(['OS.*swappiness'])));
    assert.deepEqual(glob.changes.map((c) => c.path), ['GPU.smi.gpu-count']);
    assert.equal(glob.hidden.find((h) => h.rule === 'OS.*swappiness')?.count, 1);
    const re = detectDrift(a, b, buildRules(parseIgnore(['/^GPU\\.smi\\./'])));
    assert.deepEqual(re.changes.map((c) => c.path), ['OS.sysctl./proc/sys/vm/swappiness']);
    const off = detectDrift(a, b, buildRules(parseIgnore(['!sysctl-random'])));
    assert.ok(off.changes.some((c) => c.path === 'OS.sysctl./proc/sys/kernel/random/uuid'));
    const none = detectDrift(a, b, buildRules(parseIgnore(['none'])));
    assert.equal(none.changes.length, 3);
    assert.equal(none.hiddenTotal, 0);
  });

  it('refuses bad ignore lines with the line number', () => {
    assert.throws(() => parseIgnore(['!no-such-rule']), (e: unknown) => e instanceof InputError && /line 1: '!no-such-rule' names no default rule/.test(e.message));
    assert.throws(() => parseIgnore(['/(/']), (e: unknown) => e instanceof InputError && /line 1: .*invalid regex/.test(e.message));
    assert.throws(() => parseIgnore(['none', 'K8s.*']), /cannot be combined/);
  });

  it('rules files: add, disable, drop defaults; every mistake names the file', () => {
    const f = rulesFromDoc({ defaults: true, disable: ['sysctl-random'], rules: [{ id: 'swap', glob: 'OS.sysctl.*/swappiness', reason: 'tuned by hand' }] }, 'rules.yaml');
    const rules = buildRules(parseIgnore([]), f);
    assert.ok(rules.some((r) => r.id === 'swap' && r.origin === 'rules-file'));
    assert.ok(!rules.some((r) => r.id === 'sysctl-random'));
    assert.equal(buildRules(parseIgnore([]), rulesFromDoc({ defaults: false }, 'r.yaml')).length, 0);
    for (const [doc, msg] of [
      [[], /r\.yaml: is not a drift rules file/],
      [{ rule: [] }, /r\.yaml: unknown key 'rule'/],
      [{ rules: [{ id: 'x', glob: 'a', regex: 'b' }] }, /r\.yaml: rules\[0\]: rule 'x' needs exactly one of glob and regex/],
      [{ rules: [{ id: 'x', regex: '(' }] }, /r\.yaml: rules\[0\]: rule 'x' has an invalid regex/],
      [{ disable: ['nope'] }, /r\.yaml: disable: 'nope' names no default rule/],
      [{ rules: [{ id: 'sysctl-random', glob: 'x' }] }, /id 'sysctl-random' is used twice/],
    ] as const) {
      assert.throws(() => rulesFromDoc(doc, 'r.yaml'), (e: unknown) => e instanceof FileError && msg.test(e.message), String(msg));
    }
  });
});

describe('normalized forms and JSON Patch', () => {
  it('applying the patch to the baseline normalized form yields the current one, containers included', () => {
    const cur = {
      GPU: { smi: { driver: '570.172.08', 'gpu-count': 8 } },
      OS: { sysctl: { ...base.OS.sysctl, '/proc/sys/kernel/random/uuid': 'bbb', '/proc/sys/new': '1' } },
      K8s: { server: { version: 'v1.33.5' } },
      SystemD: {},
    };
    const a = snap(base);
    const b = snap(cur);
    for (const rules of [defaultRules(), []]) {
      const r = detectDrift(a, b, rules);
      const patch = jsonPatch(a, b, r.changes, rules);
      const applied = applyPatch(deepClone(JSON.parse(JSON.stringify(normalizedForm(a, rules)))), patch as never, true).newDocument;
      assert.deepEqual(applied, JSON.parse(JSON.stringify(normalizedForm(b, rules))));
    }
  });

  it('escapes keys into JSON Pointers (RFC 6901)', () => {
    assert.equal(pointer('OS', 'sysctl', '/proc/sys/a~b'), '/OS/sysctl/~1proc~1sys~1a~0b');
  });
});

describe('reports', () => {
  const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`/proc/sys/k${i}`, String(i)]));
  const a = snap({ ...base, OS: { ...base.OS, sysctl: { ...base.OS.sysctl, ...many } } });
  const changed = Object.fromEntries(Object.keys(many).map((k) => [k, 'x']));
  const b = snap({ ...base, GPU: { smi: { driver: '570.172.08', 'gpu-count': 8 } }, OS: { ...base.OS, sysctl: { ...base.OS.sysctl, ...changed } } });
  const rules = defaultRules();
  const result = detectDrift(a, b, rules);
  const report = buildReport(a, b, result, rules, undefined, new Date('2026-03-01T00:00:00Z'));

  it('JSON report: outcome, counts, every change most important first', () => {
    assert.equal(report.outcome, 'drift');
    assert.equal(report.summary.changes, 31);
    assert.equal(report.changes[0].path, 'GPU.smi.driver');
    assert.equal(report.changes.length, 31);
    const round = JSON.parse(toJsonText(report));
    assert.equal(round.kind, 'DriftReport');
  });

  it('Markdown: counts per measurement, changes cut with a note', () => {
    const md = markdownReport(report, { maxChanges: 10, fullReport: 'drift-report.json' });
    assert.match(md, /\| measurement \| added \| removed \| modified \| hidden \|/);
    assert.match(md, /\| OS \| 0 \| 0 \| 30 \| 0 \|/);
    assert.match(md, /_Showing the 10 most important of 31 changes; 21 more are in drift-report.json\._/);
    assert.ok(md.indexOf('GPU.smi.driver') < md.indexOf('/proc/sys/k0'));
  });

  it('annotations: capped, the last one points at the full report; none when clean', () => {
    const ann = annotationsFor(report, 5, 'artifact aicr-drift-check');
    assert.equal(ann.length, 5);
    assert.equal(ann[0].props?.title, 'Drift: GPU.smi.driver');
    assert.match(ann[4].message, /27 more drift findings are not annotated.*full report: artifact aicr-drift-check/);
    const clean = buildReport(a, a, detectDrift(a, a, rules), rules, undefined);
    assert.deepEqual(annotationsFor(clean, 10, 'x'), []);
    assert.deepEqual(annotationsFor(report, 0, 'x'), []);
  });

  it('OpenMetrics: one gauge per measurement type, zero included, ending with # EOF', () => {
    const text = openMetrics(report, new Date('2026-03-01T00:00:00Z'));
    assert.match(text, /^aicr_drift_changes\{measurement="OS"\} 30$/m);
    assert.match(text, /^aicr_drift_changes\{measurement="GPU"\} 1$/m);
    assert.match(text, /^aicr_drift_changes\{measurement="SystemD"\} 0$/m);
    assert.match(text, /^aicr_drift_detected 1$/m);
    assert.match(text, /^aicr_drift_last_check_timestamp_seconds 1772323200$/m);
    assert.ok(text.endsWith('# EOF\n'));
  });
});
