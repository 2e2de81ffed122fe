/**
 * Kubernetes access for the stages: which kubeconfig, and `cm://` documents.
 *
 * Precedence of the kubeconfig (never a silent fallback to localhost:8080, and
 * never to a lower source once a higher one was named):
 *   1. the stage's `kubeconfig` input (a path, or inline kubeconfig YAML/JSON);
 *   2. the `KUBECONFIG` environment variable (a list of files, merged as
 *      client-go merges them); set but naming no existing file is an error;
 *   3. in-cluster ServiceAccount credentials (Tekton/Argo pods);
 *   4. `~/.kube/config` (`$HOME/.kube/config`).
 * Whatever was chosen is one kubeconfig file (written to the stage's temp dir
 * for inline content, a merged list, or in-cluster credentials) and is checked
 * to name a current context, its cluster and a server.
 *
 * That file is given to every aicr the suite runs for a cluster as both
 * `--kubeconfig` and `KUBECONFIG`, because aicr v0.11.1 honours `--kubeconfig`
 * only partly (ConfigMap writes, agent-mode collectors and validator Jobs read
 * `KUBECONFIG`), takes `KUBECONFIG` as ONE path rather than a list, and prefers
 * `~/.kube/config` over in-cluster credentials (`pkg/k8s/client/client.go`
 * `BuildKubeClient`: flag, else `KUBECONFIG`, else `~/.kube/config`, else
 * in-cluster; `clientcmd.BuildConfigFromFlags` with an explicit path).
 *
 * This module has no `@kubernetes/client-node` dependency, so stages that only
 * hand a kubeconfig to aicr do not bundle it; `kube.ts` has the API calls.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from './errors.ts';
import { writeFileAtomic } from './fsutil.ts';
import { isRecord, parseYamlDoc } from './yaml.ts';

/** Where the in-cluster ServiceAccount token, CA and namespace live. */
export const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The chosen cluster access. */
export interface KubeTarget {
  /** Which rule of the precedence chose it. */
  source: 'input' | 'KUBECONFIG' | 'in-cluster' | 'default';
  /**
   * The one kubeconfig file to use (for inline content, a merged `KUBECONFIG`
   * list or in-cluster credentials, a file the stage wrote to its temp dir).
   */
  file: string;
  /** What the user gave, for logs: the input path, the `KUBECONFIG` value, the ServiceAccount directory, `~/.kube/config`. */
  origin: string;
  context: string;
  cluster: string;
  server: string;
  /** User (auth info) name of the current context. */
  user: string;
  /** Namespace of the current context, if it sets one. */
  namespace?: string;
}

/** Extra argv and environment that make aicr use the chosen target. */
export interface KubeArgs {
  args: string[];
  env: Record<string, string>;
}

/** Options of {@link resolveKube}. */
export interface ResolveKubeOptions {
  /** ServiceAccount directory for in-cluster credentials (default {@link SA_DIR}). */
  saDir?: string;
}

type Named = { name: string } & Record<string, unknown>;

/** Parse a kubeconfig file into a plain object; FileError names the file on bad YAML. */
function readKubeconfigDoc(file: string): Record<string, unknown> {
  const text = fs.readFileSync(file, 'utf8');
  if (!text.trim()) return {};
  const doc = parseYamlDoc(text, file);
  if (doc === null || doc === undefined) return {};
  if (!isRecord(doc)) throw new InputError('kubeconfig', `${file} is not a kubeconfig (expected a mapping with clusters, contexts, users)`);
  return doc;
}

function namedList(doc: Record<string, unknown>, key: string): Named[] {
  const v = doc[key];
  return Array.isArray(v) ? (v.filter((x) => isRecord(x) && typeof x.name === 'string') as Named[]) : [];
}

/**
 * The current context of a (merged) kubeconfig, or the reason there is none.
 * Mirrors what client-go refuses (`clientcmd` "no current context",
 * "context was not found", "cluster has no server").
 */
function currentOf(doc: Record<string, unknown>): Omit<KubeTarget, 'source' | 'file' | 'origin'> | string {
  const context = typeof doc['current-context'] === 'string' ? doc['current-context'] : '';
  const contexts = namedList(doc, 'contexts');
  if (!context) {
    return `has no current-context${contexts.length ? ` (contexts: ${contexts.map((c) => c.name).join(', ')})` : ' and no contexts'}`;
  }
  const ctx = contexts.find((c) => c.name === context);
  if (!ctx || !isRecord(ctx.context)) return `current-context '${context}' names no context in the file`;
  const clusterName = typeof ctx.context.cluster === 'string' ? ctx.context.cluster : '';
  const cl = namedList(doc, 'clusters').find((c) => c.name === clusterName);
  if (!cl || !isRecord(cl.cluster)) return `context '${context}' names cluster '${clusterName}', which is not defined`;
  const server = typeof cl.cluster.server === 'string' ? cl.cluster.server : '';
  if (!server) return `cluster '${clusterName}' (context '${context}') has no server`;
  const user = typeof ctx.context.user === 'string' ? ctx.context.user : '';
  const namespace = typeof ctx.context.namespace === 'string' && ctx.context.namespace ? ctx.context.namespace : undefined;
  return { context, cluster: clusterName, server, user, ...(namespace ? { namespace } : {}) };
}

/** Make the file paths of one kubeconfig absolute against its directory (client-go `ResolveLocalPaths`). */
function absolutePaths(doc: Record<string, unknown>, dir: string): void {
  const fix = (o: Record<string, unknown>, key: string): void => {
    const v = o[key];
    if (typeof v === 'string' && v && !path.isAbsolute(v)) o[key] = path.resolve(dir, v);
  };
  for (const c of namedList(doc, 'clusters')) if (isRecord(c.cluster)) fix(c.cluster, 'certificate-authority');
  for (const u of namedList(doc, 'users')) {
    if (!isRecord(u.user)) continue;
    for (const k of ['client-certificate', 'client-key', 'tokenFile', 'token-file']) fix(u.user, k);
    const exec = u.user.exec;
    if (isRecord(exec) && typeof exec.command === 'string' && exec.command.includes('/')) fix(exec, 'command');
  }
}

/**
 * Merge kubeconfig files the way client-go merges a `KUBECONFIG` list
 * (`clientcmd.ClientConfigLoadingRules.Load`): the first file that sets
 * `current-context` wins, and for clusters, contexts and users the first
 * definition of a name wins. Relative paths are made absolute against the file
 * that held them. (client-node's own merge differs: later files win and
 * duplicate names throw, so the suite merges once and hands one file to both.)
 */
export function mergeKubeconfigs(files: readonly string[]): Record<string, unknown> {
  const merged: { clusters: Named[]; contexts: Named[]; users: Named[]; 'current-context'?: string } = { clusters: [], contexts: [], users: [] };
  for (const file of files) {
    const doc = readKubeconfigDoc(file);
    absolutePaths(doc, path.dirname(path.resolve(file)));
    if (!merged['current-context'] && typeof doc['current-context'] === 'string' && doc['current-context']) merged['current-context'] = doc['current-context'];
    for (const key of ['clusters', 'contexts', 'users'] as const) {
      for (const item of namedList(doc, key)) if (!merged[key].some((x) => x.name === item.name)) merged[key].push(item);
    }
  }
  return { apiVersion: 'v1', kind: 'Config', ...merged };
}

/** Check a kubeconfig file names a usable current context; InputError otherwise. */
function inspect(file: string, what: string): Omit<KubeTarget, 'source' | 'file' | 'origin'> {
  const cur = currentOf(readKubeconfigDoc(file));
  if (typeof cur === 'string') throw new InputError('kubeconfig', `${what} ${cur}; refusing to guess a cluster`);
  return cur;
}

/**
 * Resolve the kubeconfig by the precedence above.
 *
 * @param input - the `kubeconfig` input (path, or inline YAML/JSON content), may be empty.
 * @param env - process environment (`KUBECONFIG`, `KUBERNETES_SERVICE_HOST/PORT`, `HOME`).
 * @param tempDir - where generated kubeconfigs are written (mode 0600): inline
 *   content, a merged `KUBECONFIG` list, in-cluster credentials.
 * @param opts.saDir - ServiceAccount directory for in-cluster credentials.
 * @returns the target, or `undefined` when no configuration exists at all
 *   (no input, `KUBECONFIG` unset or empty, no in-cluster token, no `~/.kube/config`).
 * @throws InputError when the input names a file that does not exist, when
 *   `KUBECONFIG` is set but names no existing file (no fallback to a lower
 *   source, which may be another cluster), or when the chosen kubeconfig has
 *   no current context, an undefined context or cluster, or no server.
 * @throws FileError when the chosen kubeconfig is not valid YAML.
 */
export async function resolveKube(
  input: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  tempDir: string,
  opts: ResolveKubeOptions = {},
): Promise<KubeTarget | undefined> {
  if (input) {
    if (/\n/.test(input) || /^\s*(apiVersion:|\{)/.test(input)) {
      const file = path.join(tempDir, 'kubeconfig');
      await writeFileAtomic(file, input, 0o600);
      return { source: 'input', file, origin: 'inline content', ...inspect(file, 'the kubeconfig given inline') };
    }
    if (!fs.existsSync(input)) throw new InputError('kubeconfig', `file '${input}' does not exist (give a kubeconfig path or its content)`);
    const file = path.resolve(input);
    return { source: 'input', file, origin: file, ...inspect(file, `kubeconfig ${file}`) };
  }
  if (env.KUBECONFIG) {
    const listed = env.KUBECONFIG.split(path.delimiter).filter(Boolean);
    const existing = listed.filter((f) => fs.existsSync(f));
    if (existing.length === 0) {
      throw new InputError(
        'kubeconfig',
        `not set, and KUBECONFIG='${env.KUBECONFIG}' names no existing file; not falling back to in-cluster credentials or ~/.kube/config (that may be another cluster): fix KUBECONFIG, unset it, or set input kubeconfig`,
      );
    }
    if (existing.length === 1) {
      const file = path.resolve(existing[0]);
      return { source: 'KUBECONFIG', file, origin: env.KUBECONFIG, ...inspect(file, `kubeconfig ${file} (from KUBECONFIG)`) };
    }
    const file = path.join(tempDir, 'kubeconfig-merged.json');
    await writeFileAtomic(file, `${JSON.stringify(mergeKubeconfigs(existing), null, 2)}\n`, 0o600);
    return { source: 'KUBECONFIG', file, origin: env.KUBECONFIG, ...inspect(file, `the merged KUBECONFIG files (${existing.join(', ')})`) };
  }
  const saDir = opts.saDir ?? SA_DIR;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (host && port && fs.existsSync(path.join(saDir, 'token'))) {
    // A kubeconfig for the pod's ServiceAccount, so aicr (which would prefer a
    // ~/.kube/config over in-cluster credentials) and client-node use the same.
    // `tokenFile` is client-go's key (re-read, so rotated tokens work), `token-file` client-node's.
    const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const caFile = path.join(saDir, 'ca.crt');
    const nsFile = path.join(saDir, 'namespace');
    const namespace = fs.existsSync(nsFile) ? fs.readFileSync(nsFile, 'utf8').trim() : '';
    const tokenFile = path.join(saDir, 'token');
    const doc = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'in-cluster', cluster: { server, ...(fs.existsSync(caFile) ? { 'certificate-authority': caFile } : {}) } }],
      users: [{ name: 'in-cluster', user: { tokenFile, 'token-file': tokenFile } }],
      contexts: [{ name: 'in-cluster', context: { cluster: 'in-cluster', user: 'in-cluster', ...(namespace ? { namespace } : {}) } }],
      'current-context': 'in-cluster',
    };
    const file = path.join(tempDir, 'kubeconfig-in-cluster.json');
    await writeFileAtomic(file, `${JSON.stringify(doc, null, 2)}\n`, 0o600);
    return { source: 'in-cluster', file, origin: `ServiceAccount credentials in ${saDir}`, ...inspect(file, 'the in-cluster kubeconfig') };
  }
  const def = path.join(env.HOME || os.homedir(), '.kube', 'config');
  if (fs.existsSync(def)) return { source: 'default', file: def, origin: def, ...inspect(def, `kubeconfig ${def}`) };
  return undefined;
}

/**
 * argv/env that make aicr use the target: `--kubeconfig <file>` and
 * `KUBECONFIG=<file>` (one file: aicr does not split a list).
 * Empty when there is no target.
 */
export function kubeArgs(t: KubeTarget | undefined): KubeArgs {
  if (!t) return { args: [], env: {} };
  return { args: ['--kubeconfig', t.file], env: { KUBECONFIG: t.file } };
}

/** One line for logs: which cluster, which context and user, and why. */
export function describeTarget(t: KubeTarget): string {
  const origin = t.origin === t.file ? t.file : `${t.origin}${t.source === 'default' ? '' : `, as ${t.file}`}`;
  return `cluster '${t.cluster}' at ${t.server} (context '${t.context}', user '${t.user || '?'}'${t.namespace ? `, namespace '${t.namespace}'` : ''}; from ${t.source}: ${origin})`;
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

/**
 * ConfigMap size limit enforced by the API server: the sum of the byte lengths
 * of all `data` and `binaryData` values (keys not counted) may not exceed 1 MiB
 * (`k8s.io/kubernetes` `ValidateConfigMap`, `core.MaxSecretSize`); over it the
 * server answers 422 Invalid `Too long: may not be more than 1048576 bytes`.
 */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;
