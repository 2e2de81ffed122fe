/**
 * Where snapshots come from and where a promoted baseline goes: local files,
 * `cm://namespace/name` ConfigMaps in aicr's layout (src/core/kube.ts), http(s)
 * URLs with bounded retries (src/core/http.ts), and, for baselines, the
 * artifact of the last successful run of a GitHub workflow.
 */
import { errorMessage, FileError, StageError } from '../core/errors.ts';
import { documentInArtifact, writeFileAtomic } from '../core/fsutil.ts';
import { DEFAULT_RETRY, httpGet, type RetryPolicy } from '../core/http.ts';
import { parseCmUri, readCmDocument, writeCmDocument, type KubeTarget } from '../core/kube.ts';
import { MAX_SNAPSHOT_BYTES, parseSnapshotText, readTextCapped, type DriftSnapshot } from './snapshot.ts';

/** Where a document came from. */
export type SourceKind = 'file' | 'configmap' | 'url';

/** A loaded snapshot and the text it was parsed from. */
export interface LoadedSnapshot {
  snapshot: DriftSnapshot;
  kind: SourceKind;
  /** The reference as given (path, `cm://…`, URL). */
  ref: string;
  /** Original text (kept for promotion and for handing to aicr). */
  text: string;
}

/** What loading needs from outside. */
export interface LoadContext {
  /** Cluster access for `cm://` (resolved lazily, only when a `cm://` is used). */
  kube?: () => Promise<KubeTarget | undefined>;
  /** Retry policy for URLs. */
  retry?: RetryPolicy;
  /** Size cap in bytes (default 64 MiB). */
  maxBytes?: number;
}

/** True for `http://` and `https://` references. */
export function isUrl(ref: string): boolean {
  return /^https?:\/\//i.test(ref);
}

/**
 * Fetch the text of a document reference.
 *
 * @param role - `baseline`, `snapshot` or `recipe`, for messages.
 * @throws FileError for a missing or oversized file; StageError for a
 *   missing ConfigMap or namespace, no cluster configuration, an unreachable
 *   or failing URL, or an oversized body.
 */
export async function fetchText(role: string, ref: string, ctx: LoadContext = {}): Promise<{ text: string; kind: SourceKind }> {
  const max = ctx.maxBytes ?? MAX_SNAPSHOT_BYTES;
  if (ref.startsWith('cm://')) {
    if (!parseCmUri(ref)) throw new StageError(`${role} '${ref}' is not a ConfigMap URI (expected cm://<namespace>/<name>)`);
    const target = await ctx.kube?.();
    if (!target) throw new StageError(`${role} ${ref}: no Kubernetes configuration found (set input kubeconfig or KUBECONFIG) to read the ConfigMap`);
    let doc;
    try {
      doc = await readCmDocument(target, ref);
    } catch (err) {
      throw new StageError(`${role} ${errorMessage(err)}`, { cause: err });
    }
    if (Buffer.byteLength(doc.text) > max) throw new StageError(`${role} ${ref}: the document is over the limit of ${max} bytes`);
    return { text: doc.text, kind: 'configmap' };
  }
  if (isUrl(ref)) {
    let res;
    try {
      res = await httpGet(ref, ctx.retry ?? DEFAULT_RETRY, { Accept: 'application/yaml, application/json, text/plain, */*' });
    } catch (err) {
      throw new StageError(`${role} ${errorMessage(err)}`, { cause: err });
    }
    if (res.body.length > max) throw new StageError(`${role} ${ref}: the body is ${res.body.length} bytes, over the limit of ${max} bytes`);
    return { text: res.body.toString('utf8'), kind: 'url' };
  }
  try {
    return { text: await readTextCapped(ref, max), kind: 'file' };
  } catch (err) {
    if (err instanceof FileError) throw new FileError(err.path, `${role}: ${err.message.slice(err.path.length + 2)}`);
    throw err;
  }
}

/**
 * Load and index a snapshot from a file, `cm://` or URL.
 * @throws FileError / StageError as {@link fetchText} and `parseSnapshotText` do; every message names the source.
 */
export async function loadSnapshotRef(role: string, ref: string, ctx: LoadContext = {}): Promise<LoadedSnapshot> {
  const { text, kind } = await fetchText(role, ref, ctx);
  let snapshot: DriftSnapshot;
  try {
    snapshot = parseSnapshotText(text, ref, ctx.maxBytes);
  } catch (err) {
    if (err instanceof FileError) throw new FileError(err.path, `${role}: ${err.message.slice(err.path.length + 2)}`);
    throw err;
  }
  return { snapshot, kind, ref, text };
}

/** `yaml` or `json`, from the first non-blank character. */
export function textFormat(text: string): 'yaml' | 'json' {
  return /^\s*[{[]/.test(text) ? 'json' : 'yaml';
}

/** Options of the last-successful-run lookup. */
export interface LastRunQuery {
  /** REST API root (`GITHUB_API_URL`, default `https://api.github.com`). */
  api: string;
  /** `owner/name`. */
  repository: string;
  /** Workflow file name (`drift-schedule.yml`) or numeric id. */
  workflow: string;
  /** Only runs on this branch (all branches when empty). */
  branch?: string;
  /** Artifact the run must hold. */
  artifact: string;
  token: string;
  retry?: RetryPolicy;
  /** Most runs inspected (default 50). */
  maxRuns?: number;
}

/** The run found. */
export interface FoundRun {
  runId: string;
  runUrl: string;
  artifactId: string;
  createdAt: string;
}

/**
 * Find the newest successful run of a workflow that still holds a
 * non-expired artifact named `q.artifact`, with the GitHub REST API
 * (`GET /repos/{repo}/actions/workflows/{workflow}/runs?status=success`,
 * then `GET /repos/{repo}/actions/runs/{id}/artifacts?name=…`).
 *
 * @throws StageError when the API refuses (bad token, unknown workflow) or no
 *   inspected run holds the artifact.
 */
export async function findLastSuccessfulRun(q: LastRunQuery): Promise<FoundRun> {
  const headers = {
    Accept: 'application/vnd.github+json',
    Authorization: `Bearer ${q.token}`,
    'X-GitHub-Api-Version': '2022-11-28',
    'User-Agent': 'aicr-ci-drift-check',
  };
  const retry = q.retry ?? DEFAULT_RETRY;
  const api = q.api.replace(/\/+$/, '');
  const repo = q.repository.split('/').map(encodeURIComponent).join('/');
  const maxRuns = q.maxRuns ?? 50;
  const perPage = Math.min(maxRuns, 20);
  let inspected = 0;
  for (let page = 1; inspected < maxRuns; page++) {
    const params = new URLSearchParams({ status: 'success', per_page: String(perPage), page: String(page) });
    if (q.branch) params.set('branch', q.branch);
    const url = `${api}/repos/${repo}/actions/workflows/${encodeURIComponent(q.workflow)}/runs?${params}`;
    let runs: { id: number; html_url?: string; created_at?: string }[];
    try {
      const res = await httpGet(url, retry, headers);
      runs = (JSON.parse(res.body.toString('utf8')) as { workflow_runs?: typeof runs }).workflow_runs ?? [];
    } catch (err) {
      throw new StageError(`cannot list successful runs of workflow '${q.workflow}' in ${q.repository}: ${errorMessage(err)}`, { cause: err });
    }
    for (const run of runs) {
      if (inspected++ >= maxRuns) break;
      const aurl = `${api}/repos/${repo}/actions/runs/${run.id}/artifacts?${new URLSearchParams({ name: q.artifact, per_page: '10' })}`;
      let artifacts: { id: number; name: string; expired?: boolean }[];
      try {
        const res = await httpGet(aurl, retry, headers);
        artifacts = (JSON.parse(res.body.toString('utf8')) as { artifacts?: typeof artifacts }).artifacts ?? [];
      } catch (err) {
        throw new StageError(`cannot list the artifacts of run ${run.id} in ${q.repository}: ${errorMessage(err)}`, { cause: err });
      }
      const hit = artifacts.find((a) => a.name === q.artifact && !a.expired);
      if (hit) return { runId: String(run.id), runUrl: run.html_url ?? '', artifactId: String(hit.id), createdAt: run.created_at ?? '' };
    }
    if (runs.length < perPage) break;
  }
  throw new StageError(
    `no successful run of workflow '${q.workflow}' in ${q.repository}${q.branch ? ` on branch '${q.branch}'` : ''} holds a non-expired artifact '${q.artifact}' (inspected ${inspected} run${inspected === 1 ? '' : 's'}); promote a baseline first (update-baseline: true)`,
  );
}

/**
 * The one snapshot file in a downloaded artifact directory (or `inner` inside it).
 * @throws StageError when there is none, several, or `inner` escapes the directory.
 */
export async function snapshotInArtifact(dir: string, artifact: string, inner?: string): Promise<string> {
  return documentInArtifact(dir, artifact, inner, (m) => new StageError(m), 'name the one to use with the baseline input');
}

/** File name of a promoted baseline inside its artifact. */
export function baselineFileName(text: string): string {
  return `baseline.${textFormat(text)}`;
}

/**
 * Write the promoted baseline to a ConfigMap (aicr's layout, server-side apply).
 * @throws StageError over the 1 MiB ConfigMap limit, for a missing namespace or RBAC.
 */
export async function promoteToConfigMap(target: KubeTarget | undefined, uri: string, current: LoadedSnapshot): Promise<void> {
  if (!target) throw new StageError(`cannot update baseline ${uri}: no Kubernetes configuration found (set input kubeconfig or KUBECONFIG)`);
  await writeCmDocument(target, uri, {
    text: current.text,
    format: textFormat(current.text),
    kind: 'Snapshot',
    version: current.snapshot.metadata.version ?? '',
    timestamp: new Date().toISOString(),
  });
}

/** Replace a baseline file atomically with the current snapshot's text. */
export async function promoteToFile(file: string, current: LoadedSnapshot): Promise<void> {
  await writeFileAtomic(file, current.text);
}
