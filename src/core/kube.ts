/**
 * Kubernetes access for the stages: which kubeconfig, and `cm://` documents.
 *
 * Precedence of the kubeconfig (never a silent fallback to localhost:8080):
 *   1. the stage's `kubeconfig` input (a path, or inline kubeconfig YAML);
 *   2. the `KUBECONFIG` environment variable;
 *   3. in-cluster ServiceAccount credentials (Tekton/Argo pods);
 *   4. `~/.kube/config`.
 * The chosen file is exported as `KUBECONFIG` to every aicr the suite runs,
 * because aicr v0.11.1 honours `--kubeconfig` only partly (ConfigMap writes,
 * agent-mode collectors and validator Jobs read `KUBECONFIG`;
 * `pkg/k8s/client/client.go`).
 *
 * `@kubernetes/client-node` is loaded lazily: only stages touching `cm://` pay for it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError, StageError } from './errors.ts';
import { writeFileAtomic } from './fsutil.ts';
import { isRecord, parseYamlDoc } from './yaml.ts';

/** Where the in-cluster ServiceAccount token lives. */
export const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The chosen cluster access. */
export interface KubeTarget {
  /** `input`, `KUBECONFIG`, `in-cluster` or `default`. */
  source: 'input' | 'KUBECONFIG' | 'in-cluster' | 'default';
  /** Kubeconfig file (absent for in-cluster). */
  file?: string;
  context: string;
  cluster: string;
  server: string;
}

/** Extra argv and environment that make aicr use the chosen target. */
export interface KubeArgs {
  args: string[];
  env: Record<string, string>;
}

/** Pick the current context of a kubeconfig file for logging. */
function describeKubeconfigFile(file: string): { context: string; cluster: string; server: string } {
  const first = file.split(path.delimiter)[0];
  const doc = parseYamlDoc(fs.readFileSync(first, 'utf8'), first);
  if (!isRecord(doc)) return { context: '', cluster: '', server: '' };
  const context = String(doc['current-context'] ?? '');
  const ctx = Array.isArray(doc.contexts) ? doc.contexts.find((c) => isRecord(c) && c.name === context) : undefined;
  const clusterName = isRecord(ctx) && isRecord(ctx.context) ? String(ctx.context.cluster ?? '') : '';
  const cl = Array.isArray(doc.clusters) ? doc.clusters.find((c) => isRecord(c) && c.name === clusterName) : undefined;
  const server = isRecord(cl) && isRecord(cl.cluster) ? String(cl.cluster.server ?? '') : '';
  return { context, cluster: clusterName, server };
}

/**
 * Resolve the kubeconfig by the precedence above.
 *
 * @param input - the `kubeconfig` input (path or inline YAML), may be empty.
 * @param env - process environment.
 * @param tempDir - where inline kubeconfig content is written (mode 0600).
 * @returns the target, or `undefined` when no configuration exists at all.
 * @throws InputError when the input names a file that does not exist.
 */
export async function resolveKube(input: string | undefined, env: Readonly<Record<string, string | undefined>>, tempDir: string): Promise<KubeTarget | undefined> {
  if (input) {
    let file = input;
    if (/\n/.test(input) || /^\s*apiVersion:/.test(input)) {
      file = path.join(tempDir, 'kubeconfig');
      await writeFileAtomic(file, input, 0o600);
    } else if (!fs.existsSync(input)) {
      throw new InputError('kubeconfig', `file '${input}' does not exist (give a kubeconfig path or its content)`);
    }
    return { source: 'input', file: path.resolve(file), ...describeKubeconfigFile(file) };
  }
  if (env.KUBECONFIG) {
    const existing = env.KUBECONFIG.split(path.delimiter).filter((f) => f && fs.existsSync(f));
    if (existing.length > 0) {
      return { source: 'KUBECONFIG', file: existing.join(path.delimiter), ...describeKubeconfigFile(existing[0]) };
    }
  }
  if (env.KUBERNETES_SERVICE_HOST && fs.existsSync(path.join(SA_DIR, 'token'))) {
    const host = env.KUBERNETES_SERVICE_HOST.includes(':') ? `[${env.KUBERNETES_SERVICE_HOST}]` : env.KUBERNETES_SERVICE_HOST;
    return { source: 'in-cluster', context: 'in-cluster', cluster: 'in-cluster', server: `https://${host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}` };
  }
  const home = env.HOME ?? os.homedir();
  const def = path.join(home, '.kube', 'config');
  if (fs.existsSync(def)) return { source: 'default', file: def, ...describeKubeconfigFile(def) };
  return undefined;
}

/** argv/env for aicr: `--kubeconfig` when a file was chosen, and `KUBECONFIG` always with it. */
export function kubeArgs(t: KubeTarget | undefined): KubeArgs {
  if (!t?.file) return { args: [], env: {} };
  // aicr's --kubeconfig takes one file; KUBECONFIG may list several.
  const first = t.file.split(path.delimiter)[0];
  return { args: ['--kubeconfig', first], env: { KUBECONFIG: t.file } };
}

/** One line for logs: which cluster and why. */
export function describeTarget(t: KubeTarget): string {
  return `cluster '${t.cluster || '?'}' at ${t.server || '?'} (context '${t.context || '?'}', from ${t.source}${t.file ? ` ${t.file}` : ''})`;
}

/** A parsed `cm://namespace/name`. */
export interface CmUri {
  namespace: string;
  name: string;
}

/**
 * Parse `cm://<namespace>/<name>` as aicr does (`pkg/k8s/pod/configmap.go`:
 * split on the first `/`, both parts non-empty).
 */
export function parseCmUri(uri: string): CmUri | undefined {
  if (!uri.startsWith('cm://')) return undefined;
  const rest = uri.slice(5);
  const i = rest.indexOf('/');
  if (i <= 0 || i === rest.length - 1) return undefined;
  return { namespace: rest.slice(0, i), name: rest.slice(i + 1) };
}

/** ConfigMap size limit enforced by the API server (1 MiB for the whole object). */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;

/** A document stored in a ConfigMap in aicr's layout. */
export interface CmDocument {
  text: string;
  format: string;
  key: string;
}

type KubeModule = typeof import('@kubernetes/client-node');

async function coreApi(t: KubeTarget): Promise<{ k8s: KubeModule; api: import('@kubernetes/client-node').CoreV1Api }> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  if (t.source === 'in-cluster') kc.loadFromCluster();
  else if (t.file) {
    const files = t.file.split(path.delimiter);
    kc.loadFromFile(files[0]);
    for (const f of files.slice(1)) {
      const more = new k8s.KubeConfig();
      more.loadFromFile(f);
      kc.mergeConfig(more);
    }
  }
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new StageError(`no Kubernetes cluster configured in ${t.file ?? 'the in-cluster config'} (current context '${kc.getCurrentContext()}')`);
  return { k8s, api: kc.makeApiClient(k8s.CoreV1Api) };
}

/** Turn an ApiException into a message that says what happened. */
function kubeError(err: unknown, what: string, uri: CmUri): Error {
  const e = err as { code?: number; body?: unknown; message?: string };
  const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body ?? '');
  let reason = '';
  try {
    reason = (JSON.parse(body) as { message?: string }).message ?? '';
  } catch {
    reason = e.message ?? '';
  }
  switch (e.code) {
    case 403:
      return new StageError(`${what} cm://${uri.namespace}/${uri.name}: forbidden: the credentials lack RBAC permission (${reason})`);
    case 404:
      return new StageError(`${what} cm://${uri.namespace}/${uri.name}: not found (${reason})`);
    case 413:
    case 422:
      return new StageError(`${what} cm://${uri.namespace}/${uri.name}: rejected by the API server (${reason})`);
    case undefined:
      return new StageError(`${what} cm://${uri.namespace}/${uri.name}: cannot reach the API server: ${e.message ?? String(err)}`);
    default:
      return new StageError(`${what} cm://${uri.namespace}/${uri.name}: HTTP ${e.code}: ${reason}`);
  }
}

/**
 * Read a document from a ConfigMap in aicr's layout (`pkg/serializer/reader.go`):
 * key `snapshot.<data.format>`, falling back to `snapshot.yaml`, `snapshot.json`.
 *
 * @throws StageError distinguishing a missing namespace, a missing ConfigMap,
 *   a forbidden read, and a ConfigMap without a document key.
 */
export async function readCmDocument(t: KubeTarget, uriText: string): Promise<CmDocument> {
  const uri = parseCmUri(uriText);
  if (!uri) throw new StageError(`'${uriText}' is not a ConfigMap URI (expected cm://<namespace>/<name>)`);
  const { api } = await coreApi(t);
  let cm;
  try {
    cm = await api.readNamespacedConfigMap({ name: uri.name, namespace: uri.namespace });
  } catch (err) {
    if ((err as { code?: number }).code === 404) {
      try {
        await api.readNamespace({ name: uri.namespace });
      } catch (nsErr) {
        if ((nsErr as { code?: number }).code === 404) {
          throw new StageError(`cannot read cm://${uri.namespace}/${uri.name}: namespace '${uri.namespace}' does not exist`);
        }
      }
      throw new StageError(`cannot read cm://${uri.namespace}/${uri.name}: ConfigMap '${uri.name}' does not exist in namespace '${uri.namespace}'`);
    }
    throw kubeError(err, 'cannot read', uri);
  }
  const data = cm.data ?? {};
  const format = data.format || 'yaml';
  for (const key of [`snapshot.${format}`, 'snapshot.yaml', 'snapshot.json']) {
    if (typeof data[key] === 'string') return { text: data[key], format: key.split('.')[1], key };
  }
  throw new StageError(
    `cm://${uri.namespace}/${uri.name} has no document: expected data key snapshot.${format} (aicr's layout); found keys: ${Object.keys(data).join(', ') || 'none'}`,
  );
}

/**
 * Write a document to a ConfigMap in aicr's layout (`pkg/serializer/configmap.go`):
 * labels `app.kubernetes.io/{name: aicr, component: <kind>, version}`, data
 * `snapshot.<format>`, `format`, `timestamp`; created or replaced with
 * server-side apply (field manager `aicr-ci`, force).
 *
 * @throws StageError when the document is over the 1 MiB ConfigMap limit
 *   (checked before sending), the namespace is missing, or RBAC forbids it.
 */
export async function writeCmDocument(
  t: KubeTarget,
  uriText: string,
  doc: { text: string; format: 'yaml' | 'json'; kind: string; version: string; timestamp: string },
): Promise<void> {
  const uri = parseCmUri(uriText);
  if (!uri) throw new StageError(`'${uriText}' is not a ConfigMap URI (expected cm://<namespace>/<name>)`);
  const size = Buffer.byteLength(doc.text);
  if (size > CONFIGMAP_MAX_BYTES - 4096) {
    throw new StageError(
      `cannot write cm://${uri.namespace}/${uri.name}: the document is ${size} bytes and a ConfigMap holds at most 1 MiB; on large clusters pass max-nodes-per-entry to shrink NodeTopology readings`,
    );
  }
  const { k8s, api } = await coreApi(t);
  const body = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: uri.name,
      namespace: uri.namespace,
      labels: {
        'app.kubernetes.io/name': 'aicr',
        'app.kubernetes.io/component': doc.kind || 'Snapshot',
        'app.kubernetes.io/version': doc.version || 'unknown',
      },
    },
    data: { [`snapshot.${doc.format}`]: doc.text, format: doc.format, timestamp: doc.timestamp },
  };
  try {
    await api.patchNamespacedConfigMap(
      { name: uri.name, namespace: uri.namespace, body, fieldManager: 'aicr-ci', force: true },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    );
  } catch (err) {
    if ((err as { code?: number }).code === 404) {
      throw new StageError(`cannot write cm://${uri.namespace}/${uri.name}: namespace '${uri.namespace}' does not exist`);
    }
    throw kubeError(err, 'cannot write', uri);
  }
}

/**
 * Delete a ConfigMap; a missing one is not an error.
 * @throws StageError when RBAC forbids it or the server cannot be reached.
 */
export async function deleteConfigMap(t: KubeTarget, uriText: string): Promise<void> {
  const uri = parseCmUri(uriText);
  if (!uri) throw new StageError(`'${uriText}' is not a ConfigMap URI (expected cm://<namespace>/<name>)`);
  const { api } = await coreApi(t);
  try {
    await api.deleteNamespacedConfigMap({ name: uri.name, namespace: uri.namespace });
  } catch (err) {
    if ((err as { code?: number }).code === 404) return;
    throw kubeError(err, 'cannot delete', uri);
  }
}
