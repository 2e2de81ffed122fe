/**
 * `cm://` documents through the Kubernetes API (`@kubernetes/client-node`,
 * loaded lazily: only the stages that read or write ConfigMaps bundle it).
 * Which cluster: see `kubeconfig.ts`.
 */
import * as path from 'node:path';
import { StageError } from './errors.ts';
import { CONFIGMAP_MAX_BYTES, parseCmUri, type CmUri, type KubeTarget } from './kubeconfig.ts';

export { CONFIGMAP_MAX_BYTES, parseCmUri, type CmUri, type KubeTarget } from './kubeconfig.ts';

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
