/**
 * The real local Kubernetes control plane of scripts/k8s-up.sh (kube-apiserver
 * and kube-controller-manager v1.36.3, etcd 3.6.8 on loopback) for the tests.
 *
 * On import it finds the running control plane from `.k8s/state.json` (or
 * `AICR_CI_K8S_STATE_DIR`), checking that its three processes live and that
 * `/readyz` answers `ok`. If none runs and the binaries are already in the
 * per-machine cache, it starts one with `bash scripts/k8s-up.sh` (about 10 s).
 * It does not build them (about 8 minutes the first time) unless
 * `AICR_CI_K8S=1`; `npm test`'s pre-step (scripts/setup-env.mjs) does build and
 * start. `AICR_CI_K8S=0` (or `AICR_CI_SKIP_K8S`) turns it off. When nothing
 * runs, {@link NO_K8S} is the reason to skip.
 *
 * Admin requests here use plain `node:https` with the admin client
 * certificate, not the product code, so the tests check the product against
 * an independent client.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, tempDir } from './env.ts';

/** `.k8s/state.json` as scripts/k8s-up.sh writes it. */
export interface K8sState {
  server: string;
  kubeconfig: string;
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  context: string;
  stateDir: string;
  versions: { kubernetes: string; etcd: string; go: string };
  ports: { apiserver: number };
  pids: { etcd: number; kubeApiserver: number; kubeControllerManager: number };
  startSeconds: number;
}

const STATE_DIR = process.env.AICR_CI_K8S_STATE_DIR || path.join(ROOT, '.k8s');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readState(): K8sState | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(STATE_DIR, 'state.json'), 'utf8')) as K8sState;
  } catch {
    return undefined;
  }
}

function readyz(s: K8sState): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(
      `${s.server}/readyz`,
      { ca: fs.readFileSync(s.caFile), cert: fs.readFileSync(s.clientCertFile), key: fs.readFileSync(s.clientKeyFile), timeout: 5000 },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'ok'));
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

async function healthy(): Promise<K8sState | undefined> {
  const s = readState();
  if (!s || !Object.values(s.pids).every(alive)) return undefined;
  return (await readyz(s).catch(() => false)) ? s : undefined;
}

/** True when scripts/k8s-up.sh would find its binaries in the cache (same path rule as the script). */
function binariesCached(): boolean {
  const gomod = fs.readFileSync(path.join(ROOT, 'tools', 'k8s', 'go.mod'), 'utf8');
  const version = /^\s*(?:require\s+)?k8s\.io\/kubernetes\s+(v\S+)/m.exec(gomod)?.[1];
  const cache = process.env.AICR_CI_K8S_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'aicr-ci', 'k8s');
  return !!version && ['kube-apiserver', 'kube-controller-manager', 'etcd'].every((b) => fs.existsSync(path.join(cache, version, 'bin', b)));
}

async function discover(): Promise<{ state?: K8sState; reason: string }> {
  const found = await healthy();
  if (found) return { state: found, reason: '' };
  if (process.env.AICR_CI_K8S === '0' || process.env.AICR_CI_SKIP_K8S) return { reason: 'the local Kubernetes control plane is turned off (AICR_CI_K8S=0 or AICR_CI_SKIP_K8S)' };
  if (process.env.AICR_CI_K8S !== '1' && !binariesCached()) {
    return { reason: 'no local Kubernetes control plane runs and its binaries are not built: run `bash scripts/k8s-up.sh` (builds once, about 8 min) or set AICR_CI_K8S=1' };
  }
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'k8s-up.sh')], { encoding: 'utf8', timeout: 30 * 60_000, env: { ...process.env, AICR_CI_K8S_STATE_DIR: STATE_DIR } });
  const started = await healthy();
  if (started) return { state: started, reason: '' };
  const tail = `${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim().split('\n').slice(-3).join(' | ');
  return { reason: `the local Kubernetes control plane could not start (bash scripts/k8s-up.sh exited ${r.status}): ${tail}` };
}

const found = await discover();

/** The running control plane, or undefined. */
export const K8S: K8sState | undefined = found.state;
/** Reason to skip tests that need the control plane, or false when it is up. */
export const NO_K8S: string | false = found.state ? false : found.reason;

function st(): K8sState {
  if (!K8S) throw new Error(`no control plane: ${found.reason}`);
  return K8S;
}

/** Answer of {@link kubeApi}. */
export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
}

/**
 * One request to the API server as the admin (client certificate, `system:masters`).
 * JSON bodies; `contentType` for patches. Never throws on an HTTP status.
 */
export function kubeApi<T = Record<string, unknown>>(method: string, p: string, body?: unknown, contentType = 'application/json'): Promise<ApiAnswer<T>> {
  const s = st();
  const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${s.server}${p}`,
      {
        method,
        ca: fs.readFileSync(s.caFile),
        cert: fs.readFileSync(s.clientCertFile),
        key: fs.readFileSync(s.clientKeyFile),
        headers: { Accept: 'application/json', ...(data !== undefined ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(data) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = {};
          try {
            parsed = text ? JSON.parse(text) : {};
          } catch {
            parsed = {};
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T, text });
        });
      },
    );
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

/** {@link kubeApi} that asserts the status is one of `ok`. */
export async function kubeOk<T = Record<string, unknown>>(method: string, p: string, body?: unknown, contentType?: string, ok = [200, 201]): Promise<T> {
  const r = await kubeApi<T>(method, p, body, contentType);
  if (!ok.includes(r.status)) throw new Error(`${method} ${p}: HTTP ${r.status}: ${r.text.slice(0, 500)}`);
  return r.body;
}

/** A DNS-1123 name unique to this test run: `<prefix>-<8 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Create a namespace (a fresh unique one when `name` is a prefix ending in '-'). */
export async function createNamespace(name: string): Promise<string> {
  const ns = name.endsWith('-') ? uniqueName(name.slice(0, -1)) : name;
  await kubeOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'aicr-ci-test': 'true' } } }, undefined, [201, 409]);
  return ns;
}

/** Delete a namespace (the namespace controller removes its contents); missing is fine. */
export async function deleteNamespace(ns: string): Promise<void> {
  await kubeApi('DELETE', `/api/v1/namespaces/${ns}`);
}

/** Create or replace a ConfigMap with `data` as the admin. */
export async function putConfigMap(ns: string, name: string, data: Record<string, string>, labels: Record<string, string> = {}): Promise<void> {
  const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels }, data };
  await kubeOk('PATCH', `/api/v1/namespaces/${ns}/configmaps/${name}?fieldManager=test-admin&force=true`, body, 'application/apply-patch+yaml');
}

/** The ConfigMap as the API server has it, or undefined when missing. */
export async function getConfigMap(ns: string, name: string): Promise<{ metadata: { labels?: Record<string, string>; managedFields?: { manager: string }[] }; data?: Record<string, string> } | undefined> {
  const r = await kubeApi<{ metadata: { labels?: Record<string, string> }; data?: Record<string, string> }>('GET', `/api/v1/namespaces/${ns}/configmaps/${name}`);
  return r.status === 200 ? r.body : undefined;
}

/**
 * A kubeconfig for a ServiceAccount with no rights (scripts/k8s-sa-kubeconfig.sh:
 * namespace and account created when missing, TokenRequest token).
 */
export function saKubeconfig(ns: string, sa: string, out = path.join(tempDir('aicr-k8s-sa-'), 'kubeconfig')): string {
  return execFileSync('bash', [path.join(ROOT, 'scripts', 'k8s-sa-kubeconfig.sh'), ns, sa, out], {
    encoding: 'utf8',
    env: { ...process.env, AICR_CI_K8S_STATE_DIR: STATE_DIR },
  }).trim();
}

/** A token for `ns/sa` from the TokenRequest API, optionally bound to a pod (as a kubelet mints it). */
export async function saToken(ns: string, sa: string, pod?: { name: string; uid: string }, seconds = 3600): Promise<string> {
  const body = {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: seconds, ...(pod ? { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.name, uid: pod.uid } } : {}) },
  };
  const r = await kubeOk<{ status: { token: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, body);
  return r.status.token;
}

/** Options of {@link writeKubeconfig}. */
export interface KubeconfigSpec {
  cluster?: string;
  context?: string;
  user?: string;
  server?: string;
  /** Embed the control plane's CA (default) or not. */
  ca?: boolean;
  /** Bearer token; without it the admin client certificate is embedded. */
  token?: string;
  namespace?: string;
}

/** Write a kubeconfig for the control plane (or, with `server`, for another address) and return its path. */
export function writeKubeconfig(file: string, spec: KubeconfigSpec = {}): string {
  const s = st();
  const cluster = spec.cluster ?? 'aicr-ci-test';
  const context = spec.context ?? cluster;
  const user = spec.user ?? 'aicr-ci-admin';
  const b64 = (f: string): string => fs.readFileSync(f).toString('base64');
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server: spec.server ?? s.server, ...(spec.ca === false ? {} : { 'certificate-authority-data': b64(s.caFile) }) } }],
    users: [{ name: user, user: spec.token ? { token: spec.token } : { 'client-certificate-data': b64(s.clientCertFile), 'client-key-data': b64(s.clientKeyFile) } }],
    contexts: [{ name: context, context: { cluster, user, ...(spec.namespace ? { namespace: spec.namespace } : {}) } }],
    'current-context': context,
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  return file;
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Poll `fn` until it returns a value other than undefined/false, or throw after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Grant `verbs` on `resources` in `ns` to ServiceAccount `ns/sa` (Role + RoleBinding named `name`). */
export async function grant(ns: string, sa: string, name: string, resources: string[], verbs: string[], apiGroup = ''): Promise<void> {
  await kubeOk('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name },
    rules: [{ apiGroups: [apiGroup], resources, verbs }],
  });
  await kubeOk('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name },
    subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
  });
}
