/**
 * `cm://` documents through the Kubernetes API (`@kubernetes/client-node`,
 * loaded lazily: only the stages that read or write ConfigMaps bundle it).
 * Which cluster: see `kubeconfig.ts`. Every client is built from the one
 * kubeconfig file `resolveKube` chose; nothing here falls back to
 * `loadFromDefault` (whose last resort is `http://localhost:8080`).
 */
import { StageError } from './errors.ts';
import { CONFIGMAP_MAX_BYTES, parseCmUri, type CmUri, type KubeTarget } from './kubeconfig.ts';

export { CONFIGMAP_MAX_BYTES, parseCmUri, type CmUri, type KubeTarget } from './kubeconfig.ts';

/** A document stored in a ConfigMap in aicr's layout. */
export interface CmDocument {
  text: string;
  format: string;
  key: string;
}

/** The client-node module (loaded on first use). */
export type KubeModule = typeof import('@kubernetes/client-node');

/**
 * A client-node `KubeConfig` for the target, loaded from its one file.
 * @throws StageError when the file names no cluster with a server.
 */
export async function loadKubeConfig(t: KubeTarget): Promise<{ k8s: KubeModule; kc: import('@kubernetes/client-node').KubeConfig }> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromFile(t.file);
  } catch (err) {
    throw new StageError(`cannot load kubeconfig ${t.file}: ${(err as Error).message}`, { cause: err });
  }
  if (!kc.getCurrentCluster()?.server) {
    throw new StageError(`no Kubernetes cluster configured in ${t.file} (current context '${kc.getCurrentContext()}')`);
  }
  return { k8s, kc };
}

/** The CoreV1 API client for the target. */
async function coreApi(t: KubeTarget): Promise<{ k8s: KubeModule; api: import('@kubernetes/client-node').CoreV1Api }> {
  const { k8s, kc } = await loadKubeConfig(t);
  return { k8s, api: kc.makeApiClient(k8s.CoreV1Api) };
}

/** HTTP status of a client-node ApiException (undefined for network errors). */
export function apiCode(err: unknown): number | undefined {
  const c = (err as { code?: unknown }).code;
  return typeof c === 'number' ? c : undefined;
}

/** The Kubernetes `Status` of a failed call: its message and its first cause type. */
function statusOf(err: unknown): { message: string; causes: string[] } {
  const e = err as { body?: unknown; message?: string };
  let body: unknown = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      /* plain text */
    }
  }
  if (body && typeof body === 'object') {
    const s = body as { message?: string; details?: { causes?: { reason?: string }[] } };
    return { message: s.message ?? '', causes: (s.details?.causes ?? []).map((c) => c.reason ?? '') };
  }
  if (typeof body === 'string' && body) return { message: body, causes: [] };
  // client-node throws ApiException("HTTP-Code: 401\nMessage: Unauthorized\nBody: undefined…") for statuses its spec lacks.
  const text = e.message ?? String(err);
  return { message: /^Message: (.*)$/m.exec(text)?.[1] ?? text.split('\n')[0], causes: [] };
}

/**
 * A message for a failed API call that says what happened, for the statuses
 * the real API server (v1.36) answers:
 * 401 (credentials rejected), 403 (RBAC), 413 (request body over 3 MiB),
 * 422 (invalid; `FieldValueTooLong` for a ConfigMap over 1 MiB), 5xx, and no
 * status at all (the server cannot be reached). 404 is left to the caller,
 * which knows whether a namespace or an object is missing.
 *
 * @param what - the operation and object, e.g. `cannot write cm://ns/name`.
 * @param server - the API server URL, named when it cannot be reached.
 */
export function apiErrorMessage(err: unknown, what: string, server: string): string {
  const code = apiCode(err);
  const { message, causes } = statusOf(err);
  switch (code) {
    case 401:
      return `${what}: unauthorized: the API server at ${server} rejected the credentials (expired or revoked token, deleted ServiceAccount, or an untrusted client certificate) (${message})`;
    case 403:
      return `${what}: forbidden: the credentials lack RBAC permission (${message})`;
    case 404:
      return `${what}: not found (${message})`;
    case 409:
      return `${what}: conflict: the object changed or already exists (${message})`;
    case 413:
      return `${what}: the request body is over the API server's size limit (${message})`;
    case 422:
      if (causes.includes('FieldValueTooLong') || /Too long/.test(message)) {
        return `${what}: over the API server's limit of ${CONFIGMAP_MAX_BYTES} bytes for a ConfigMap's data (${message})`;
      }
      return `${what}: the API server rejected the object as invalid (${message})`;
    case undefined: {
      // fetch/undici errors say "fetch failed"; the reason (ECONNREFUSED, a TLS error) is in the cause chain.
      const reasons: string[] = [];
      for (let c = (err as { cause?: unknown }).cause, i = 0; c && i < 4; c = (c as { cause?: unknown }).cause, i++) {
        const ce = c as { code?: string; message?: string };
        const r = [ce.code, ce.message].filter(Boolean).join(' ');
        if (r && !reasons.some((x) => x.includes(r))) reasons.push(r);
      }
      return `${what}: cannot reach the API server at ${server}: ${[message, ...reasons].join(': ')}`;
    }
    default:
      return `${what}: HTTP ${code} from the API server at ${server}: ${message}`;
  }
}

/**
 * Read a document from a ConfigMap in aicr's layout (`pkg/serializer/reader.go`):
 * key `snapshot.<data.format>`, falling back to `snapshot.yaml`, `snapshot.json`.
 *
 * @returns the document text, its format (`yaml`/`json`) and the key it was under.
 * @throws StageError with distinct messages for: a missing namespace, a missing
 *   ConfigMap, a forbidden read (403), rejected credentials (401), an
 *   unreachable server, and a ConfigMap without a document key.
 */
export async function readCmDocument(t: KubeTarget, uriText: string): Promise<CmDocument> {
  const uri = parseCmUri(uriText);
  if (!uri) throw new StageError(`'${uriText}' is not a ConfigMap URI (expected cm://<namespace>/<name>)`);
  const { api } = await coreApi(t);
  const what = `cannot read cm://${uri.namespace}/${uri.name}`;
  let cm;
  try {
    cm = await api.readNamespacedConfigMap({ name: uri.name, namespace: uri.namespace });
  } catch (err) {
    if (apiCode(err) === 404) {
      if ((await namespaceExists(api, uri)) === false) throw new StageError(`${what}: namespace '${uri.namespace}' does not exist`);
      throw new StageError(`${what}: ConfigMap '${uri.name}' does not exist in namespace '${uri.namespace}'`);
    }
    throw new StageError(apiErrorMessage(err, what, t.server), { cause: err });
  }
  const data = cm.data ?? {};
  const format = data.format || 'yaml';
  for (const key of [`snapshot.${format}`, 'snapshot.yaml', 'snapshot.json']) {
    if (typeof data[key] === 'string') return { text: data[key], format: key.split('.')[1], key };
  }
  throw new StageError(
    `cm://${uri.namespace}/${uri.name} has no document: expected data key snapshot.${format} (aicr's layout); found keys: ${Object.keys(data).sort().join(', ') || 'none'}${cm.binaryData ? ` (binaryData: ${Object.keys(cm.binaryData).sort().join(', ')})` : ''}`,
  );
}

/** False when the namespace is known to be missing; undefined when that cannot be told (e.g. no right to get namespaces). */
async function namespaceExists(api: import('@kubernetes/client-node').CoreV1Api, uri: CmUri): Promise<boolean | undefined> {
  try {
    await api.readNamespace({ name: uri.namespace });
    return true;
  } catch (err) {
    return apiCode(err) === 404 ? false : undefined;
  }
}

/** Options of {@link writeCmDocument}. */
export interface WriteCmOptions {
  /**
   * Check the size before sending (default true). With `false` the API
   * server's own check answers (422), which is what the tests compare against.
   */
  sizeCheck?: boolean;
}

/**
 * Bytes the API server counts against {@link CONFIGMAP_MAX_BYTES} for `data`:
 * the sum of the UTF-8 lengths of the values (keys are not counted).
 */
export function configMapDataBytes(data: Readonly<Record<string, string>>): number {
  let n = 0;
  for (const v of Object.values(data)) n += Buffer.byteLength(v);
  return n;
}

/**
 * Write a document to a ConfigMap in aicr's layout (`pkg/serializer/configmap.go`):
 * labels `app.kubernetes.io/{name: aicr, component: <kind>, version}`, data
 * `snapshot.<format>`, `format`, `timestamp`; created or replaced with
 * server-side apply (field manager `aicr-ci`, force), as aicr does with
 * manager `aicr`. A `snapshot.*` key of the other format left by an earlier
 * writer (another field manager keeps its fields under SSA) is removed, so
 * the ConfigMap holds exactly one document.
 *
 * @param doc.version - the document's `metadata.version`; `unknown` when empty, as aicr writes.
 * @throws StageError when the data is over the 1 MiB ConfigMap limit (checked
 *   before sending, exactly as the server counts), the namespace is missing,
 *   RBAC forbids it, the credentials are rejected, or the server answers 413/422.
 */
export async function writeCmDocument(
  t: KubeTarget,
  uriText: string,
  doc: { text: string; format: 'yaml' | 'json'; kind: string; version: string; timestamp: string },
  opts: WriteCmOptions = {},
): Promise<void> {
  const uri = parseCmUri(uriText);
  if (!uri) throw new StageError(`'${uriText}' is not a ConfigMap URI (expected cm://<namespace>/<name>)`);
  const what = `cannot write cm://${uri.namespace}/${uri.name}`;
  const key = `snapshot.${doc.format}`;
  const data = { [key]: doc.text, format: doc.format, timestamp: doc.timestamp };
  const size = configMapDataBytes(data);
  if ((opts.sizeCheck ?? true) && size > CONFIGMAP_MAX_BYTES) {
    throw new StageError(
      `${what}: the ConfigMap data would be ${size} bytes (document ${Buffer.byteLength(doc.text)} bytes), over the API server's limit of ${CONFIGMAP_MAX_BYTES} bytes; on large clusters pass max-nodes-per-entry to shrink NodeTopology readings, or keep the document as a file or artifact`,
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
    data,
  };
  let written;
  try {
    written = await api.patchNamespacedConfigMap(
      { name: uri.name, namespace: uri.namespace, body, fieldManager: 'aicr-ci', force: true },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    );
  } catch (err) {
    if (apiCode(err) === 404) throw new StageError(`${what}: namespace '${uri.namespace}' does not exist`);
    throw new StageError(apiErrorMessage(err, what, t.server), { cause: err });
  }
  const stale = Object.keys(written.data ?? {}).filter((k) => k.startsWith('snapshot.') && k !== key);
  if (stale.length === 0) return;
  try {
    await api.patchNamespacedConfigMap(
      {
        name: uri.name,
        namespace: uri.namespace,
        body: [
          { op: 'test', path: '/metadata/resourceVersion', value: written.metadata?.resourceVersion },
          ...stale.map((k) => ({ op: 'remove', path: `/data/${k.replace(/~/g, '~0').replace(/\//g, '~1')}` })),
        ],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
  } catch (err) {
    throw new StageError(apiErrorMessage(err, `${what}: cannot remove the older document key(s) ${stale.join(', ')}`, t.server), { cause: err });
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
    if (apiCode(err) === 404) return;
    throw new StageError(apiErrorMessage(err, `cannot delete cm://${uri.namespace}/${uri.name}`, t.server), { cause: err });
  }
}
