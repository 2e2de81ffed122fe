/**
 * ENGINE EMULATION: runs the repository's Tekton Tasks/Pipelines and Argo
 * Workflows templates on this machine the way their engines would, without a
 * cluster, so tests can check what the step images do with the real `aicr`.
 *
 * What is emulated (each step is one child process):
 * - **Pod filesystem.** Every step runs in its own mount namespace
 *   (`unshare --mount`), with each volume bind-mounted at the path the
 *   manifest names: Tekton workspaces at `/workspace/<name>` (or their
 *   `mountPath`), results at `/tekton/results`, Argo volumes at their
 *   `volumeMounts`, emptyDirs at `/tmp`. The root filesystem is remounted
 *   read-only when the step asks for `readOnlyRootFilesystem`.
 * - **User.** The step runs as its `securityContext.runAsUser/runAsGroup`
 *   (`setpriv`), with the pod's `fsGroup` as supplementary group; like the
 *   kubelet, fsGroup makes emptyDir/PVC volumes group-owned and group-writable.
 * - **Tekton.** Param defaults and bindings; `$(params.x)`,
 *   `$(workspaces.w.path|bound)`, `$(results.r.path)`, `$(context.*)`
 *   substitution in command, args, env, workingDir (unbound optional
 *   workspaces give an empty path, as `pkg/reconciler/taskrun/resources/apply.go`
 *   does); results read from the result files, the 4096-byte termination
 *   message limit enforced; Pipelines in dependency order (`runAfter` and
 *   result references), `when` expressions (`in`/`notin`), `$(tasks.t.results.r)`,
 *   Pipeline results; a failed task stops scheduling new ones.
 * - **Argo.** `workflowTemplateRef` and `templateRef` resolved against the
 *   repository's WorkflowTemplates; global, input and task-output parameters;
 *   `{{workflow.name}}`/`{{pod.name}}`; DAG `depends` (Succeeded/Failed/Skipped,
 *   `&&`, `||`) and `when` (`'a' == 'b'`, `!=`); output parameters read from
 *   `valueFrom.path` with `default` and one trailing newline trimmed
 *   (`workflow/executor/executor.go` SaveParameters); artifacts in a local
 *   key-value store standing in for the artifact repository: keys as the
 *   template gives them, `archive: none` stored raw, other artifacts as
 *   tar+gzip and unpacked on input; `optional` honoured; `suspend` steps are
 *   resumed at once (the approval is given) and recorded.
 *
 * Not emulated: images (the step's `aicr-ci` command is the CLI from this
 * checkout, `aicr` the real binary from `AICR_BIN`), networking and
 * NetworkPolicy, ServiceAccount tokens and RBAC, resource limits, sidecars,
 * retries, timeouts, Tekton's affinity assistant and Argo's controller
 * (no Workflow status object; the result structure below stands in for it),
 * `podSpecPatch`, expression templates (`{{=…}}`).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../../scripts/gen-engines.ts';

// ---------- environment ----------

/** Why the emulation cannot run here, or false when it can. */
export const NO_EMULATION: string | false = (() => {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'engine emulation needs root (mount namespaces and setpriv)';
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true'], { encoding: 'utf8' });
  if (r.status !== 0) return `engine emulation needs mount namespaces: unshare failed (${(r.stderr || r.error?.message || '').trim()})`;
  if (spawnSync('setpriv', ['--version']).status !== 0) return 'engine emulation needs setpriv (util-linux)';
  return false;
})();

/** Options shared by both engines. */
export interface EmulationOptions {
  /** The real aicr binary, put on the step's PATH as `aicr`. */
  aicr: string;
  /** `src` (default): run `aicr-ci` from `src/entries/cli.ts`; `dist`: from `dist/cli/index.js`. */
  cli?: 'src' | 'dist';
  /** Extra environment every step gets (as if baked into the image). */
  imageEnv?: Record<string, string>;
}

/** One executed step (container). */
export interface StepRun {
  /** Engine-level name: `<pipelineTask>` / `<dag task>`, or the TaskRun name. */
  name: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  /** argv as the container saw it. */
  argv: string[];
  /** Environment from the manifest after substitution (image env left out). */
  env: Record<string, string>;
}

let rootDir: string | undefined;
/** A fresh directory outside /tmp (each step gets its own /tmp emptyDir). */
function scratch(prefix: string): string {
  if (!rootDir) {
    rootDir = fs.mkdtempSync(path.join('/var/tmp', 'aicr-ci-emulation-'));
    fs.chmodSync(rootDir, 0o755);
    const r = rootDir;
    process.once('exit', () => fs.rmSync(r, { recursive: true, force: true }));
  }
  const d = fs.mkdtempSync(path.join(rootDir, prefix));
  fs.chmodSync(d, 0o755);
  return d;
}

/** The "image": a bin dir with `aicr-ci` (this checkout's CLI) and `aicr`. */
/**
 * Where the "image" is inside a step: the checkout, aicr's directory and the
 * image's bin directory are bind-mounted under a private tmpfs on /mnt, so a
 * step sees them whatever the host path (a checkout under /tmp would be hidden
 * by the pod's /tmp emptyDir; one under /root is not traversable by UID 65532).
 */
const IMAGE = { app: '/mnt/app', aicr: '/mnt/aicr-bin', bin: '/mnt/image-bin' } as const;

/** A host path inside the checkout, as a step sees it. */
function inImage(p: string): string {
  const rel = path.relative(ROOT, p);
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : path.join(IMAGE.app, rel);
}

function imageBin(opts: EmulationOptions): string {
  const bin = scratch('image-bin-');
  const node = inImage(process.execPath);
  const entry = inImage(opts.cli === 'dist' ? path.join(ROOT, 'dist', 'cli', 'index.js') : path.join(ROOT, 'src', 'entries', 'cli.ts'));
  fs.writeFileSync(path.join(bin, 'aicr-ci'), `#!/bin/sh\nexec '${node}' '${entry}' "$@"\n`, { mode: 0o755 });
  fs.symlinkSync(path.join(IMAGE.aicr, path.basename(fs.realpathSync(opts.aicr))), path.join(bin, 'aicr'));
  return bin;
}

/** Shell lines that lay out {@link IMAGE} in the step's mount namespace (before any pod volume). */
function imageMounts(bin: string, aicr: string): string[] {
  const bind = (source: string, target: string): string[] => [`mount --bind ${shq(source)} ${shq(target)}`, `mount -o remount,bind,ro ${shq(target)}`];
  return [
    'mount -t tmpfs -o mode=755 aicr-image /mnt',
    `mkdir -p ${Object.values(IMAGE).map(shq).join(' ')}`,
    ...bind(ROOT, IMAGE.app),
    ...bind(path.dirname(fs.realpathSync(aicr)), IMAGE.aicr),
    ...bind(bin, IMAGE.bin),
  ];
}

/** A mount inside the step's namespace: host directory `source` at `target`. */
interface Mount {
  source: string;
  target: string;
  readOnly?: boolean;
}

interface Container {
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  workingDir?: string;
  securityContext?: { runAsUser?: number; runAsGroup?: number; readOnlyRootFilesystem?: boolean };
}

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Run one container: mounts, user, env, working dir, command — as the kubelet would.
 */
async function runContainer(name: string, c: Container, mounts: Mount[], podUser: { fsGroup?: number }, opts: EmulationOptions): Promise<StepRun> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) env[e.name] = e.value ?? '';
  const uid = c.securityContext?.runAsUser ?? 0;
  const gid = c.securityContext?.runAsGroup ?? uid;
  for (const m of mounts) {
    if (podUser.fsGroup !== undefined && !m.readOnly) {
      // kubelet: fsGroup owns the volume, group-writable, setgid directories.
      spawnSync('chgrp', ['-R', String(podUser.fsGroup), m.source]);
      spawnSync('chmod', ['-R', 'g+rwX', m.source]);
      spawnSync('find', [m.source, '-type', 'd', '-exec', 'chmod', 'g+s', '{}', '+']);
    }
  }
  const bin = imageBin(opts);
  const setup = [
    'set -e',
    ...imageMounts(bin, opts.aicr),
    ...mounts.flatMap((m) => [`mkdir -p ${shq(m.target)}`, `mount --bind ${shq(m.source)} ${shq(m.target)}`, ...(m.readOnly ? [`mount -o remount,bind,ro ${shq(m.target)}`] : [])]),
    ...(c.securityContext?.readOnlyRootFilesystem ? ['mount -o remount,bind,ro / 2>/dev/null || true'] : []),
    `cd ${shq(c.workingDir || '/')}`,
    `exec setpriv --reuid=${uid} --regid=${gid} ${podUser.fsGroup !== undefined ? `--groups=${podUser.fsGroup}` : '--clear-groups'} -- "$@"`,
  ].join('\n');
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  const childEnv = { PATH: `${IMAGE.bin}:/usr/local/bin:/usr/bin:/bin`, ...(opts.imageEnv ?? {}), ...env };
  return await new Promise<StepRun>((resolve) => {
    const child = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', setup, 'sh', ...argv], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ name, exitCode: code ?? 128, stdout, stderr, argv, env }));
  });
}

// ---------- manifests ----------

type Doc = Record<string, any>;

/** Every YAML document under `dir` (recursively). */
export function loadDocs(dir: string): Doc[] {
  const out: Doc[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) for (const doc of parseAllDocuments(fs.readFileSync(p, 'utf8'))) if (doc.contents) out.push(doc.toJS() as Doc);
    }
  };
  walk(dir);
  return out;
}

/** Read one YAML document from a file. */
export function loadDoc(file: string): Doc {
  return parseAllDocuments(fs.readFileSync(file, 'utf8'))[0]!.toJS() as Doc;
}

// ---------- Tekton ----------

/** Result of one emulated TaskRun. */
export interface TaskRunResult {
  name: string;
  status: 'Succeeded' | 'Failed' | 'Skipped';
  /** Results as Tekton records them (missing files are absent). */
  results: Record<string, string>;
  /** Why it failed (exit code, termination-message overflow), or skipped. */
  reason: string;
  steps: StepRun[];
}

/** Result of an emulated PipelineRun (or a single TaskRun). */
export interface PipelineRunResult {
  status: 'Succeeded' | 'Failed';
  tasks: Record<string, TaskRunResult>;
  results: Record<string, string>;
  /** Host directories backing each PipelineRun workspace. */
  workspaces: Record<string, string>;
}

const TEKTON_VAR = /\$\(([^()]+)\)/g;

function tektonSubst(s: string, vars: Record<string, string>, where: string): string {
  return s.replace(TEKTON_VAR, (m, key: string) => {
    if (key in vars) return vars[key]!;
    throw new Error(`${where}: unresolved Tekton variable ${m}`);
  });
}

/** The Tekton Tasks of this repository by name. */
export function tektonTasks(): Map<string, Doc> {
  return new Map(loadDocs(path.join(ROOT, 'tekton')).filter((d) => d.kind === 'Task').map((d) => [d.metadata.name, d]));
}

/** The Tekton Pipelines of this repository by name. */
export function tektonPipelines(): Map<string, Doc> {
  return new Map(loadDocs(path.join(ROOT, 'tekton')).filter((d) => d.kind === 'Pipeline').map((d) => [d.metadata.name, d]));
}

/** Termination message bytes Tekton would write for these results (plus StartedAt). */
function terminationBytes(results: Record<string, string>): number {
  const entries = Object.entries(results).map(([key, value]) => ({ key, value, type: 1 }));
  entries.push({ key: 'StartedAt', value: new Date().toISOString(), type: 3 });
  return Buffer.byteLength(JSON.stringify(entries).replace(/[<>&]/g, '\\u003c'));
}

/**
 * Run one TaskRun of `task` with `params` and workspace `bindings` (host dirs;
 * a missing optional workspace is unbound).
 */
export async function runTektonTask(
  name: string,
  task: Doc,
  params: Record<string, string>,
  bindings: Record<string, { dir: string; readOnly?: boolean }>,
  pod: { fsGroup?: number },
  opts: EmulationOptions,
): Promise<TaskRunResult> {
  const spec = task.spec as Doc;
  const vars: Record<string, string> = {
    'context.taskRun.name': name,
    'context.task.name': task.metadata.name,
    'context.taskRun.namespace': 'aicr-ci',
    'context.taskRun.uid': `emulated-${name}`,
    'context.task.retry-count': '0',
  };
  for (const p of spec.params ?? []) {
    const v = params[p.name] ?? p.default;
    if (v === undefined) return { name, status: 'Failed', results: {}, reason: `missing param ${p.name}`, steps: [] };
    vars[`params.${p.name}`] = String(v);
  }
  for (const k of Object.keys(params)) if (!(spec.params ?? []).some((p: Doc) => p.name === k)) throw new Error(`${name}: param ${k} not declared by Task ${task.metadata.name}`);
  const mounts: Mount[] = [];
  for (const w of spec.workspaces ?? []) {
    const b = bindings[w.name];
    if (!b) {
      if (!w.optional) return { name, status: 'Failed', results: {}, reason: `workspace ${w.name} not bound`, steps: [] };
      vars[`workspaces.${w.name}.bound`] = 'false';
      vars[`workspaces.${w.name}.path`] = '';
      continue;
    }
    const mountPath = w.mountPath ?? `/workspace/${w.name}`;
    vars[`workspaces.${w.name}.bound`] = 'true';
    vars[`workspaces.${w.name}.path`] = mountPath;
    mounts.push({ source: b.dir, target: mountPath, readOnly: Boolean(w.readOnly || b.readOnly) });
  }
  const resultsDir = scratch('tekton-results-');
  fs.chmodSync(resultsDir, 0o777);
  mounts.push({ source: resultsDir, target: '/tekton/results' });
  for (const r of spec.results ?? []) vars[`results.${r.name}.path`] = `/tekton/results/${r.name}`;
  const volumes = new Map<string, string>();
  for (const v of spec.volumes ?? []) {
    if (!v.emptyDir) throw new Error(`${name}: only emptyDir volumes are emulated (${v.name})`);
    const d = scratch(`vol-${v.name}-`);
    fs.chmodSync(d, 0o777);
    volumes.set(v.name, d);
  }
  const steps: StepRun[] = [];
  for (const step of spec.steps as Doc[]) {
    const where = `${name}/${step.name}`;
    const c: Container = {
      command: (step.command ?? []).map((s: string) => tektonSubst(s, vars, where)),
      args: (step.args ?? []).map((s: string) => tektonSubst(s, vars, where)),
      env: (step.env ?? []).map((e: Doc) => ({ name: e.name, value: tektonSubst(String(e.value ?? ''), vars, where) })),
      workingDir: step.workingDir ? tektonSubst(step.workingDir, vars, where) : undefined,
      securityContext: step.securityContext,
    };
    if (step.script) throw new Error(`${where}: script steps are not used by this suite`);
    const stepMounts = [...mounts, ...(step.volumeMounts ?? []).map((m: Doc) => ({ source: volumes.get(m.name)!, target: m.mountPath, readOnly: m.readOnly }))];
    const run = await runContainer(name, c, stepMounts, pod, opts);
    steps.push(run);
    if (run.exitCode !== 0) break;
  }
  const results: Record<string, string> = {};
  for (const r of spec.results ?? []) {
    const f = path.join(resultsDir, r.name);
    if (fs.existsSync(f)) results[r.name] = fs.readFileSync(f, 'utf8');
  }
  const failed = steps.find((s) => s.exitCode !== 0);
  if (terminationBytes(results) > 4096) {
    return { name, status: 'Failed', results: {}, reason: 'Termination message is above max allowed size 4096, caused by large task result.', steps };
  }
  return { name, status: failed ? 'Failed' : 'Succeeded', results, reason: failed ? `step exited ${failed.exitCode}` : '', steps };
}

/** A host directory for a workspace binding of a TaskRun/PipelineRun. */
function bindWorkspace(b: Doc, preset?: string): { dir: string; readOnly?: boolean } {
  if (preset) return { dir: preset };
  if (b.volumeClaimTemplate || b.emptyDir || b.persistentVolumeClaim) return { dir: scratch(`ws-${b.name}-`) };
  if (b.secret) throw new Error(`workspace ${b.name}: pass the Secret's files with options.workspaceDirs`);
  throw new Error(`workspace ${b.name}: unsupported binding`);
}

/** Options of a Tekton run. */
export interface TektonRunOptions extends EmulationOptions {
  /** Host dirs to use for named workspaces (a pre-filled PVC, a Secret's files). */
  workspaceDirs?: Record<string, string>;
  /** Params over the run's own. */
  params?: Record<string, string>;
}

/**
 * Run a TaskRun or PipelineRun document (taskRef/pipelineRef by name against
 * this repository's Tasks/Pipelines, or inline specs).
 */
export async function runTekton(doc: Doc, o: TektonRunOptions): Promise<PipelineRunResult> {
  const tasks = tektonTasks();
  const spec = doc.spec as Doc;
  const runParams: Record<string, string> = { ...Object.fromEntries((spec.params ?? []).map((p: Doc) => [p.name, String(p.value)])), ...(o.params ?? {}) };
  const wsDirs: Record<string, { dir: string; readOnly?: boolean }> = {};
  for (const b of spec.workspaces ?? []) wsDirs[b.name] = bindWorkspace(b, o.workspaceDirs?.[b.name]);
  for (const [k, v] of Object.entries(o.workspaceDirs ?? {})) wsDirs[k] ??= { dir: v };
  const podOf = (t: string): { fsGroup?: number } => {
    const spec2 = spec.taskRunSpecs?.find((s: Doc) => s.pipelineTaskName === t)?.podTemplate ?? spec.taskRunTemplate?.podTemplate ?? spec.podTemplate;
    return { fsGroup: spec2?.securityContext?.fsGroup };
  };
  const workspaces = Object.fromEntries(Object.entries(wsDirs).map(([k, v]) => [k, v.dir]));
  if (doc.kind === 'TaskRun') {
    const task = spec.taskRef ? tasks.get(spec.taskRef.name) : { metadata: { name: 'inline' }, spec: spec.taskSpec };
    if (!task) throw new Error(`Task ${spec.taskRef.name} not found`);
    const tr = await runTektonTask(doc.metadata.name ?? doc.metadata.generateName ?? 'taskrun', task, runParams, wsDirs, podOf(''), o);
    return { status: tr.status === 'Succeeded' ? 'Succeeded' : 'Failed', tasks: { [tr.name]: tr }, results: tr.results, workspaces };
  }
  if (doc.kind !== 'PipelineRun') throw new Error(`not a TaskRun or PipelineRun: ${doc.kind}`);
  const pipeline = spec.pipelineRef ? tektonPipelines().get(spec.pipelineRef.name) : { spec: spec.pipelineSpec };
  if (!pipeline) throw new Error(`Pipeline ${spec.pipelineRef.name} not found`);
  const ps = pipeline.spec as Doc;
  const pvars: Record<string, string> = {};
  for (const p of ps.params ?? []) {
    const v = runParams[p.name] ?? p.default;
    if (v === undefined) throw new Error(`PipelineRun: missing param ${p.name}`);
    pvars[`params.${p.name}`] = String(v);
  }
  const done: Record<string, TaskRunResult> = {};
  const order: Doc[] = [];
  const pending = [...(ps.tasks as Doc[])];
  const depsOf = (t: Doc): string[] => [...(t.runAfter ?? []), ...[...JSON.stringify(t.params ?? []).matchAll(/\$\(tasks\.([^.]+)\.results\./g)].map((m) => m[1]!)];
  while (pending.length > 0) {
    const i = pending.findIndex((t) => depsOf(t).every((d) => order.some((x) => x.name === d)));
    if (i < 0) throw new Error('Pipeline has a dependency cycle or an unknown task');
    order.push(pending.splice(i, 1)[0]!);
  }
  let failed = false;
  for (const t of order) {
    if (failed) break;
    const skipped = (why: string): void => {
      done[t.name] = { name: t.name, status: 'Skipped', results: {}, reason: why, steps: [] };
    };
    const vars: Record<string, string> = { ...pvars, 'context.pipelineRun.name': 'emulated', 'context.pipelineTask.retries': '0' };
    let missing = '';
    for (const [tn, tr] of Object.entries(done)) for (const [rk, rv] of Object.entries(tr.results)) vars[`tasks.${tn}.results.${rk}`] = rv;
    const sub = (s: string): string =>
      s.replace(TEKTON_VAR, (m, key: string) => {
        if (key in vars) return vars[key]!;
        if (key.startsWith('tasks.')) {
          missing = m;
          return '';
        }
        throw new Error(`${t.name}: unresolved ${m}`);
      });
    const when = (t.when ?? []).every((w: Doc) => {
      const input = sub(String(w.input));
      const values = (w.values as string[]).map((v) => sub(v));
      return w.operator === 'in' ? values.includes(input) : !values.includes(input);
    });
    if (missing) {
      skipped(`result reference ${missing} could not be resolved`);
      continue;
    }
    if (!when) {
      skipped('when expressions evaluated to false');
      continue;
    }
    const params = Object.fromEntries((t.params ?? []).map((p: Doc) => [p.name, sub(String(p.value))]));
    if (missing) {
      skipped(`result reference ${missing} could not be resolved`);
      continue;
    }
    const task = t.taskRef ? tasks.get(t.taskRef.name) : { metadata: { name: `${t.name}-inline` }, spec: t.taskSpec };
    if (!task) throw new Error(`Task ${t.taskRef.name} not found`);
    const binds: Record<string, { dir: string; readOnly?: boolean }> = {};
    for (const w of t.workspaces ?? []) if (wsDirs[w.workspace]) binds[w.name] = wsDirs[w.workspace]!;
    const tr = await runTektonTask(t.name, task, params, binds, podOf(t.name), o);
    done[t.name] = tr;
    if (tr.status === 'Failed') failed = true;
  }
  const results: Record<string, string> = {};
  for (const r of ps.results ?? []) {
    const m = /^\$\(tasks\.([^.]+)\.results\.([^)]+)\)$/.exec(String(r.value));
    const v = m ? done[m[1]!]?.results[m[2]!] : undefined;
    if (v !== undefined) results[r.name] = v;
  }
  return { status: failed ? 'Failed' : 'Succeeded', tasks: done, results, workspaces };
}

// ---------- Argo ----------

/** One emulated Argo node (a pod, or a skipped/omitted/suspended task). */
export interface ArgoNode {
  name: string;
  phase: 'Succeeded' | 'Failed' | 'Skipped' | 'Omitted';
  message: string;
  parameters: Record<string, string>;
  /** Output artifact name → key in the store. */
  artifacts: Record<string, string>;
  step?: StepRun;
  /** Host dirs of the pod's volumes after it ran (for inspection). */
  volumes: Record<string, string>;
}

/** Result of an emulated Workflow. */
export interface WorkflowResult {
  phase: 'Succeeded' | 'Failed';
  nodes: Record<string, ArgoNode>;
  /** Suspend nodes that were resumed (the approvals given). */
  resumed: string[];
  /** The artifact store (key → host path). */
  store: ArtifactStore;
}

/** A local stand-in for the artifact repository: key → file. */
export class ArtifactStore {
  readonly dir = scratch('artifacts-');
  /** Host path of `key`. */
  path(key: string): string {
    return path.join(this.dir, key);
  }
  /** Put a file (raw) under `key`. */
  putFile(key: string, file: string): void {
    fs.mkdirSync(path.dirname(this.path(key)), { recursive: true });
    fs.copyFileSync(file, this.path(key));
  }
  has(key: string): boolean {
    return fs.existsSync(this.path(key));
  }
}

/** Argo templates of this repository: `WorkflowTemplate` name → template name → template. */
export function argoTemplates(): Map<string, Doc> {
  return new Map(loadDocs(path.join(ROOT, 'argo-workflows')).filter((d) => d.kind === 'WorkflowTemplate').map((d) => [d.metadata.name, d]));
}

function argoSubst(s: string, vars: Record<string, string>, where: string): string {
  return s.replace(/\{\{([^{}]+)\}\}/g, (m, key: string) => {
    const k = key.trim();
    if (k in vars) return vars[k]!;
    // Artifact references are resolved when the input artifact is loaded.
    if (/^tasks\.[^.]+\.outputs\.artifacts\./.test(k)) return m;
    throw new Error(`${where}: unresolved Argo variable ${m}`);
  });
}

function deepSubst<T>(x: T, vars: Record<string, string>, where: string): T {
  return JSON.parse(JSON.stringify(x), (_k, v) => (typeof v === 'string' ? argoSubst(v, vars, where) : v)) as T;
}

/** `'a' == 'b'` / `!=`, after substitution. */
function evalWhen(expr: string): boolean {
  const m = /^\s*'([^']*)'\s*(==|!=)\s*'([^']*)'\s*$/.exec(expr);
  if (!m) throw new Error(`when expression not emulated: ${expr}`);
  return m[2] === '==' ? m[1] === m[3] : m[1] !== m[3];
}

/** Argo `depends`: `a`, `a.Succeeded`, `a.Skipped`, `a.Failed`, `&&`, `||`, parentheses. */
function evalDepends(expr: string, nodes: Record<string, ArgoNode>): boolean {
  const js = expr.replace(/([A-Za-z0-9_-]+)(?:\.(Succeeded|Failed|Skipped|Errored|Omitted|Daemoned|AnySucceeded|AllFailed))?/g, (_m, n: string, r?: string) => {
    const p = nodes[n]?.phase;
    if (!r) return String(p === 'Succeeded' || p === 'Skipped');
    return String(p === r);
  });
  if (!/^[truefals|&() ]+$/.test(js)) throw new Error(`depends not emulated: ${expr}`);
  return Function(`return (${js});`)() as boolean;
}

/** Options of an Argo run. */
export interface ArgoRunOptions extends EmulationOptions {
  /** Workflow parameters over the Workflow's own. */
  parameters?: Record<string, string>;
  /** Pre-seeded artifact repository (for key-only input artifacts). */
  store?: ArtifactStore;
  /** Host dir with the files of the `kubeconfig` Secret (absent: the Secret does not exist). */
  kubeconfigSecretDir?: string;
}

/**
 * Run a Workflow document (inline templates, `templateRef`s and
 * `workflowTemplateRef` resolved against this repository's WorkflowTemplates).
 */
export async function runArgo(doc: Doc, o: ArgoRunOptions): Promise<WorkflowResult> {
  const wts = argoTemplates();
  let spec = doc.spec as Doc;
  if (spec.workflowTemplateRef) {
    const wt = wts.get(spec.workflowTemplateRef.name);
    if (!wt) throw new Error(`WorkflowTemplate ${spec.workflowTemplateRef.name} not found`);
    const merged = new Map<string, Doc>((wt.spec.arguments?.parameters ?? []).map((p: Doc) => [p.name, p]));
    for (const p of spec.arguments?.parameters ?? []) merged.set(p.name, { ...merged.get(p.name), ...p });
    spec = { ...wt.spec, arguments: { parameters: [...merged.values()] } };
  }
  const wfName = `${doc.metadata.generateName ?? doc.metadata.name ?? 'wf-'}emu${Date.now().toString(36)}`;
  const globals: Record<string, string> = { 'workflow.name': wfName, 'workflow.namespace': 'aicr-ci' };
  for (const p of spec.arguments?.parameters ?? []) globals[`workflow.parameters.${p.name}`] = String(o.parameters?.[p.name] ?? p.value ?? '');
  for (const [k, v] of Object.entries(o.parameters ?? {})) globals[`workflow.parameters.${k}`] = v;
  const store = o.store ?? new ArtifactStore();
  const local = new Map<string, Doc>((spec.templates ?? []).map((t: Doc) => [t.name, t]));
  const resolveTemplate = (t: Doc): Doc => {
    if (t.templateRef) {
      const wt = wts.get(t.templateRef.name);
      const tmpl = wt?.spec.templates.find((x: Doc) => x.name === t.templateRef.template);
      if (!tmpl) throw new Error(`templateRef ${t.templateRef.name}/${t.templateRef.template} not found`);
      return tmpl;
    }
    const tmpl = local.get(t.template);
    if (!tmpl) throw new Error(`template ${t.template} not found`);
    return tmpl;
  };
  const entry = local.get(spec.entrypoint);
  if (!entry?.dag) throw new Error('the emulation runs DAG entrypoints');
  const nodes: Record<string, ArgoNode> = {};
  const resumed: string[] = [];
  const pending = [...(entry.dag.tasks as Doc[])];
  const depsOf = (t: Doc): string[] => (t.depends ? [...String(t.depends).matchAll(/([A-Za-z0-9_-]+)(?:\.[A-Za-z]+)?/g)].map((m) => m[1]!) : (t.dependencies ?? []));
  while (pending.length > 0) {
    const i = pending.findIndex((t) => depsOf(t).every((d) => d in nodes));
    if (i < 0) throw new Error('DAG has a cycle or an unknown dependency');
    const t = pending.splice(i, 1)[0]!;
    const node: ArgoNode = { name: t.name, phase: 'Omitted', message: '', parameters: {}, artifacts: {}, volumes: {} };
    nodes[t.name] = node;
    if (t.depends ? !evalDepends(String(t.depends), nodes) : !(t.dependencies ?? []).every((d: string) => nodes[d]?.phase === 'Succeeded' || nodes[d]?.phase === 'Skipped')) {
      node.message = 'omitted: depends not satisfied';
      continue;
    }
    const vars: Record<string, string> = { ...globals };
    for (const n of Object.values(nodes)) for (const [k, v] of Object.entries(n.parameters)) vars[`tasks.${n.name}.outputs.parameters.${k}`] = v;
    if (t.when && !evalWhen(argoSubst(String(t.when), vars, t.name))) {
      node.phase = 'Skipped';
      node.message = `when '${t.when}' evaluated false`;
      continue;
    }
    const tmpl = resolveTemplate(t);
    if (tmpl.suspend) {
      node.phase = 'Succeeded';
      node.message = 'suspended; resumed by the emulation (approval given)';
      resumed.push(t.name);
      continue;
    }
    if (!tmpl.container) throw new Error(`${t.name}: only container and suspend templates are emulated`);
    const args = deepSubst(t.arguments ?? {}, vars, t.name) as Doc;
    await runArgoPod(t.name, tmpl, args, nodes, globals, store, node, o);
  }
  const failed = Object.values(nodes).some((n) => n.phase === 'Failed');
  return { phase: failed ? 'Failed' : 'Succeeded', nodes, resumed, store };
}

async function runArgoPod(
  name: string,
  tmpl: Doc,
  args: Doc,
  nodes: Record<string, ArgoNode>,
  globals: Record<string, string>,
  store: ArtifactStore,
  node: ArgoNode,
  o: ArgoRunOptions,
): Promise<void> {
  const podName = `${globals['workflow.name']}-${name}-emu`;
  const vars: Record<string, string> = { ...globals, 'pod.name': podName };
  for (const p of tmpl.inputs?.parameters ?? []) {
    const given = (args.parameters ?? []).find((a: Doc) => a.name === p.name);
    const v = given?.value ?? p.value ?? p.default;
    if (v === undefined) {
      node.phase = 'Failed';
      node.message = `inputs.parameters.${p.name} was not supplied`;
      return;
    }
    vars[`inputs.parameters.${p.name}`] = String(v);
  }
  for (const a of args.parameters ?? []) {
    if (!(tmpl.inputs?.parameters ?? []).some((p: Doc) => p.name === a.name)) throw new Error(`${name}: argument ${a.name} is not an input of ${tmpl.name}`);
  }
  const t = deepSubst({ container: tmpl.container, volumes: tmpl.volumes, outputs: tmpl.outputs, securityContext: tmpl.securityContext }, vars, name) as Doc;
  // Volumes → host dirs.
  const vols = new Map<string, string>();
  for (const v of t.volumes ?? []) {
    const d = scratch(`argo-${v.name}-`);
    if (v.emptyDir) fs.chmodSync(d, 0o777);
    else if (v.secret) {
      if (v.secret.secretName === 'aicr-kubeconfig' && o.kubeconfigSecretDir) fs.cpSync(o.kubeconfigSecretDir, d, { recursive: true });
      else if (!v.secret.optional) {
        node.phase = 'Failed';
        node.message = `secret ${v.secret.secretName} not found`;
        return;
      }
    } else throw new Error(`${name}: volume ${v.name} kind not emulated`);
    vols.set(v.name, d);
  }
  const mounts: Mount[] = (t.container.volumeMounts ?? []).map((m: Doc) => ({ source: vols.get(m.name)!, target: m.mountPath, readOnly: m.readOnly }));
  const hostPath = (p: string): string => {
    const m = [...mounts].sort((a, b) => b.target.length - a.target.length).find((x) => p === x.target || p.startsWith(`${x.target}/`));
    if (!m) throw new Error(`${name}: path ${p} is not on a volume`);
    return path.join(m.source, path.relative(m.target, p));
  };
  // Input artifacts (init container).
  for (const ia of tmpl.inputs?.artifacts ?? []) {
    const given = (args.artifacts ?? []).find((a: Doc) => a.name === ia.name);
    let key: string | undefined;
    let raw = false;
    if (given?.from) {
      const m = /^\{\{tasks\.([^.]+)\.outputs\.artifacts\.([^}]+)\}\}$/.exec(String(given.from));
      if (!m) throw new Error(`${name}: artifact from ${given.from} not emulated`);
      key = nodes[m[1]!]?.artifacts[m[2]!];
      raw = !key?.endsWith('.tgz');
    } else if (given?.s3?.key) {
      key = String(given.s3.key);
      raw = !key.endsWith('.tgz');
    }
    if (!key || !store.has(key)) {
      if (ia.optional) continue;
      node.phase = 'Failed';
      node.message = `input artifact ${ia.name} not found${key ? ` (key ${key})` : ''}`;
      return;
    }
    const dest = hostPath(ia.path);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    if (raw) fs.copyFileSync(store.path(key), dest);
    else {
      const tmp = scratch('untar-');
      spawnSync('tar', ['-xzf', store.path(key), '-C', tmp]);
      const [top] = fs.readdirSync(tmp);
      fs.renameSync(path.join(tmp, top!), dest);
    }
    spawnSync('chmod', ['-R', 'a+rX', path.dirname(dest)]);
  }
  const step = await runContainer(name, { ...t.container, securityContext: { ...t.securityContext, ...t.container.securityContext } }, mounts, { fsGroup: t.securityContext?.fsGroup }, o);
  node.step = step;
  node.volumes = Object.fromEntries(vols);
  // Outputs (wait container): parameters with defaults, artifacts to the store.
  for (const p of t.outputs?.parameters ?? []) {
    const f = hostPath(p.valueFrom.path);
    if (fs.existsSync(f)) node.parameters[p.name] = fs.readFileSync(f, 'utf8').replace(/\n$/, '');
    else if (p.valueFrom.default !== undefined) node.parameters[p.name] = String(p.valueFrom.default);
    else {
      node.phase = 'Failed';
      node.message = `output parameter ${p.name}: no file ${p.valueFrom.path} and no default`;
      return;
    }
  }
  for (const a of t.outputs?.artifacts ?? []) {
    const src = hostPath(a.path);
    if (!fs.existsSync(src)) {
      if (a.optional) continue;
      node.phase = 'Failed';
      node.message = `output artifact ${a.name}: ${a.path} not found`;
      return;
    }
    const key = String(a.s3?.key ?? `${globals['workflow.name']}/${podName}/${a.name}.tgz`);
    fs.mkdirSync(path.dirname(store.path(key)), { recursive: true });
    if (a.archive?.none !== undefined) {
      if (fs.statSync(src).isDirectory()) fs.cpSync(src, store.path(key), { recursive: true });
      else fs.copyFileSync(src, store.path(key));
    } else spawnSync('tar', ['-czf', store.path(key), '-C', path.dirname(src), path.basename(src)]);
    node.artifacts[a.name] = key;
  }
  node.phase = step.exitCode === 0 ? 'Succeeded' : 'Failed';
  node.message = step.exitCode === 0 ? '' : `Error (exit code ${step.exitCode})`;
}

/** A Workflow document calling one stage template with `parameters`. */
export function stageWorkflow(stage: string, parameters: Record<string, string>, artifacts: Record<string, string> = {}): Doc {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { generateName: `aicr-${stage}-` },
    spec: {
      entrypoint: 'main',
      templates: [
        {
          name: 'main',
          dag: {
            tasks: [
              {
                name: stage,
                templateRef: { name: 'aicr-ci', template: stage },
                arguments: {
                  parameters: Object.entries(parameters).map(([name, value]) => ({ name, value })),
                  artifacts: Object.entries(artifacts).map(([name, key]) => ({ name, s3: { key } })),
                },
              },
            ],
          },
        },
      ],
    },
  };
}

/** os.tmpdir() is shadowed inside steps; tests use this for their own scratch files. */
export function hostScratch(prefix: string): string {
  return scratch(prefix);
}
