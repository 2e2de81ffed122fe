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
 * This module has no `@kubernetes/client-node` dependency, so stages that only
 * hand a kubeconfig to aicr do not bundle it; `kube.ts` has the API calls.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from './errors.ts';
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
