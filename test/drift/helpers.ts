/**
 * Helpers for the drift tests: snapshot pairs derived at run time from the
 * shared fixtures, the `aicr diff` oracle when the installed aicr has it,
 * ConfigMaps on the real local API server (test/helpers/k8s.ts) with a
 * loopback stand-in only when that server cannot start, and loopback
 * stand-ins for the GitHub REST API and an https-like snapshot server.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { AICR, fixture, tempDir } from '../helpers/env.ts';
import { createNamespace, deleteNamespace, getConfigMap, K8S, NO_K8S, putConfigMap } from '../helpers/k8s.ts';

/** Apply exact, unique text replacements (each `from` must occur exactly once). */
export function derive(text: string, replacements: readonly (readonly [string, string])[]): string {
  let out = text;
  for (const [from, to] of replacements) {
    const n = out.split(from).length - 1;
    assert.equal(n, 1, `'${from}' occurs ${n} times in the fixture, expected once`);
    out = out.replace(from, to);
  }
  return out;
}

/** Move the measurement block `type` to the front of the list (4-space item indent, as in the fixtures). */
export function moveMeasurementFirst(text: string, type: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf('measurements:');
  const items: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('    - type: ')) items.push([line]);
    else items.at(-1)?.push(line);
  }
  const i = items.findIndex((b) => b[0] === `    - type: ${type}`);
  assert.ok(i >= 0, `no measurement ${type}`);
  const [block] = items.splice(i, 1);
  return [...lines.slice(0, start + 1), ...block, ...items.flat()].join('\n');
}

/** Real readings changed in the H100 capture: path → [from line, to line]. */
export const H100_REAL_CHANGES: Readonly<Record<string, readonly [string, string]>> = {
  'OS.sysctl./proc/sys/kernel/osrelease': ['/proc/sys/kernel/osrelease: 6.8.0-1024-aws', '/proc/sys/kernel/osrelease: 6.8.0-1031-aws'],
  'K8s.node.kernel-version': ['kernel-version: 6.8.0-1024-aws', 'kernel-version: 6.8.0-1031-aws'],
  'GPU.smi.driver': ['            driver: 570.133.20\n', '            driver: 570.172.08\n'],
  'OS.sysctl./proc/sys/vm/swappiness': ['/proc/sys/vm/swappiness: "60"', '/proc/sys/vm/swappiness: "10"'],
};

/** Readings of the H100 capture that change between captures of an unchanged cluster. */
export const H100_NOISE: readonly (readonly [string, string])[] = [
  ['timestamp: "2026-01-02T18:01:13Z"', 'timestamp: "2026-01-02T21:00:02Z"'],
  ['/proc/sys/kernel/random/uuid: 0d95ba9d-ff36-4849-a4dd-e87b31252aea', '/proc/sys/kernel/random/uuid: 6a1f3e52-8f0d-4f55-9c1e-2b7d0c9e4a11'],
  ['/proc/sys/kernel/ns_last_pid: "1268143"', '/proc/sys/kernel/ns_last_pid: "1302277"'],
  ['ActiveEnterTimestamp: 1754471112332254', 'ActiveEnterTimestamp: 1754481112332254'],
  ['            ExecMainPID: "38444"', '            ExecMainPID: "40012"'],
  ['            MainPID: "38444"', '            MainPID: "40012"'],
];

/**
 * Write a derived pair into a fresh temp dir: the unchanged H100 capture as
 * the baseline and a copy with `changes` (and optional noise, measurement order
 * shuffled) as the current snapshot.
 */
export function h100Pair(opts: { changes?: readonly string[]; noise?: boolean; reorder?: boolean } = {}): { dir: string; baseline: string; current: string } {
  const dir = tempDir('aicr-drift-');
  const text = fs.readFileSync(fixture('snapshots', 'eks-h100-2026-01-02.yaml'), 'utf8');
  let cur = derive(text, (opts.changes ?? []).map((p) => H100_REAL_CHANGES[p]));
  if (opts.noise) cur = derive(cur, H100_NOISE);
  if (opts.reorder) cur = moveMeasurementFirst(moveMeasurementFirst(cur, 'GPU'), 'K8s');
  const baseline = path.join(dir, 'baseline.yaml');
  const current = path.join(dir, 'current.yaml');
  fs.writeFileSync(baseline, text);
  fs.writeFileSync(current, cur);
  return { dir, baseline, current };
}

/** Why the `aicr diff` oracle cannot run, or false when the installed aicr has `diff`. */
export const NO_AICR_DIFF: string | false = (() => {
  if (!AICR) return 'real aicr not installed';
  const r = spawnSync(AICR, ['diff', '--help'], { encoding: 'utf8' });
  return r.status === 0 ? false : `the installed aicr (${AICR}) has no 'diff' command (pinned v0.11.1 predates it): '${(r.stderr || r.stdout).trim().split('\n').at(-1)}'`;
})();

/** Changed paths according to `aicr diff --baseline a --target b --format json`. */
export function oraclePaths(a: string, b: string): Set<string> {
  const out = execFileSync(AICR as string, ['diff', '--baseline', a, '--target', b, '--format', 'json'], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  const res = JSON.parse(out) as { changes: { path: string }[] };
  return new Set(res.changes.map((c) => c.path));
}

/** A loopback HTTP server; `handler` answers every request. */
export async function serve(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void>; requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] }> {
  const requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(Object.assign(req, { body }), res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** ConfigMaps for a test: where they live, and how to look at them. */
export interface CmStore {
  /** `real` (the local kube-apiserver) or `stand-in` (loopback emulation, only when the real one cannot start). */
  backend: 'real' | 'stand-in';
  kubeconfig: string;
  /** The actual namespace for a logical one (unique per test on the real server, so parallel tests never meet). */
  ns(logical: string): string;
  /** The data of a ConfigMap, or undefined. */
  data(logicalNs: string, name: string): Promise<Record<string, string> | undefined>;
  close(): Promise<void>;
}

/**
 * Namespaces with ConfigMaps (`{ns: {name: data}}`) on the real API server
 * when it runs (NO_K8S false), else on {@link fakeKube}. Namespaces absent
 * from `namespaces` do not exist on either.
 */
export async function cmStore(namespaces: Record<string, Record<string, Record<string, string>>>): Promise<CmStore> {
  if (NO_K8S) {
    const fake = await fakeKube(namespaces);
    return {
      backend: 'stand-in',
      kubeconfig: fake.kubeconfig,
      ns: (l) => l,
      data: async (l, name) => fake.store[l]?.[name],
      close: fake.close,
    };
  }
  const real: Record<string, string> = {};
  for (const [logical, cms] of Object.entries(namespaces)) {
    real[logical] = await createNamespace(`${logical}-`);
    for (const [name, data] of Object.entries(cms)) await putConfigMap(real[logical], name, data);
  }
  return {
    backend: 'real',
    kubeconfig: K8S!.kubeconfig,
    ns: (l) => real[l] ?? l,
    data: async (l, name) => (await getConfigMap(real[l] ?? l, name))?.data,
    close: async () => {
      for (const ns of Object.values(real)) await deleteNamespace(ns);
    },
  };
}

/**
 * A stand-in for the ConfigMap part of the Kubernetes API (what
 * `@kubernetes/client-node` calls for `cm://`): GET namespace, GET and
 * server-side-apply PATCH of ConfigMaps, with Kubernetes `Status` errors.
 * Used only when the real API server cannot start (see {@link cmStore}).
 */
export async function fakeKube(namespaces: Record<string, Record<string, Record<string, string>>>): Promise<{ kubeconfig: string; close: () => Promise<void>; store: typeof namespaces }> {
  const status = (res: http.ServerResponse, code: number, message: string, reason: string): void => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code }));
  };
  const srv = await serve((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    let m = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(u.pathname);
    if (m && req.method === 'GET') {
      if (!namespaces[m[1]]) return status(res, 404, `namespaces "${m[1]}" not found`, 'NotFound');
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: m[1] } }));
    }
    m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/]+)$/.exec(u.pathname);
    if (m) {
      const [, ns, name] = m;
      if (!namespaces[ns]) return status(res, 404, `namespaces "${ns}" not found`, 'NotFound');
      if (req.method === 'GET') {
        const data = namespaces[ns][name];
        if (!data) return status(res, 404, `configmaps "${name}" not found`, 'NotFound');
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name, namespace: ns }, data }));
      }
      if (req.method === 'PATCH') {
        const body = JSON.parse((req as unknown as { body: string }).body) as { data: Record<string, string> };
        namespaces[ns][name] = body.data;
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name, namespace: ns }, data: body.data }));
      }
    }
    status(res, 404, `the server could not find the requested resource (${req.method} ${u.pathname})`, 'NotFound');
  });
  const dir = tempDir('aicr-drift-kube-');
  const kubeconfig = path.join(dir, 'kubeconfig');
  fs.writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake`,
      `  cluster:`,
      `    server: ${srv.url}`,
      '    insecure-skip-tls-verify: true',
      'contexts:',
      '- name: fake',
      '  context:',
      '    cluster: fake',
      '    user: fake',
      'current-context: fake',
      'users:',
      '- name: fake',
      '  user:',
      '    token: fake-token',
      '',
    ].join('\n'),
  );
  return { kubeconfig, close: srv.close, store: namespaces };
}

/** Files in a directory, or [] when it does not exist. */
export function filesIn(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}
