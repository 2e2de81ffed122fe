/**
 * ENGINE EMULATION tests (test/engines/emulator.ts): the repository's Tekton
 * Tasks/Pipelines and Argo templates run on this machine as their engines would
 * (pod mount layout, non-root user, fsGroup, substitution, results/outputs,
 * artifacts), with the real aicr, and are compared with the GitHub actions
 * (src entries run as the GitHub runner does) given the same inputs.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { runAction, type ActionRunResult } from '../helpers/action-runner.ts';
import { AICR, NO_AICR, ROOT, tempDir } from '../helpers/env.ts';
import {
  ArtifactStore,
  hostScratch,
  loadDoc,
  NO_EMULATION,
  runArgo,
  runTekton,
  stageWorkflow,
  tektonTasks,
  type EmulationOptions,
  type PipelineRunResult,
  type WorkflowResult,
} from './emulator.ts';
import { ENGINE_STAGES, FACTS } from '../../scripts/gen-engines.ts';

const SKIP = NO_AICR || NO_EMULATION;
const opts = (): EmulationOptions => ({ aicr: AICR! });
const entry = (stage: string): string => path.join(ROOT, 'src', 'entries', `${stage}.ts`);

/** SHA-256 of every file under `dir`, by relative path. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    out[path.relative(dir, p)] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
  }
  return out;
}

/** The full outputs a step printed (its last stdout line). */
function stepJson(stdout: string): Record<string, string> {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, string>;
}

/** Drop path-valued outputs (each engine has its own mount layout) and the GitHub-only artifact outputs. */
function portable(o: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (/(^|-)(path|dir|json|markdown|patch|metrics)$/.test(k) || k.startsWith('artifact-') || k === 'baseline-source' || k === 'error') continue;
    out[k] = v;
  }
  return out;
}

/** Untar an Argo tgz artifact into a fresh dir; returns the single top directory. */
function untar(file: string): string {
  const d = hostScratch('untar-test-');
  spawnSync('tar', ['-xzf', file, '-C', d]);
  return path.join(d, fs.readdirSync(d)[0]!);
}

/**
 * The GitHub side: the src entries run as the GitHub runner runs actions, steps of one job sharing a workspace.
 * Like the emulated pods, it sees no ambient cluster (a KUBECONFIG in the test's own environment would make
 * aicr's local snapshot read that cluster, and the products would differ for that reason alone).
 */
async function gh(stage: string, inputs: Record<string, string>, cwd: string): Promise<ActionRunResult> {
  return runAction(entry(stage), { 'aicr-path': AICR!, ...(stage === 'deploy' ? {} : { 'artifact-name': '' }), ...inputs }, {
    cwd,
    env: { GITHUB_WORKSPACE: cwd, KUBECONFIG: '', HOME: hostScratch('home-') },
  });
}

/** Make the baseline drift from `snapshot` in a known way: one reading changed, one only in the baseline. */
function driftedBaseline(snapshotFile: string, out: string): void {
  const doc = parse(fs.readFileSync(snapshotFile, 'utf8')) as { measurements: { type: string; subtypes: { subtype: string; data: Record<string, unknown> }[] }[] };
  const os = doc.measurements.find((m) => m.type === 'OS')!;
  const sysctl = os.subtypes.find((s) => s.subtype === 'sysctl')!;
  sysctl.data['/proc/sys/kernel/threads-max'] = '1';
  sysctl.data['/proc/sys/kernel/aicr-ci-emulation-only'] = 'gone';
  fs.writeFileSync(out, stringify(doc));
}

describe('ENGINE EMULATION: each Tekton Task and each Argo template runs as its engine runs it', { skip: SKIP }, () => {
  for (const stage of ENGINE_STAGES) {
    it(`Tekton: tekton/task/aicr-${stage}/0.1/tests/run.yaml succeeds and every declared result is written`, async () => {
      const r = await runTekton(loadDoc(path.join(ROOT, 'tekton', 'task', `aicr-${stage}`, '0.1', 'tests', 'run.yaml')), opts());
      const steps = Object.values(r.tasks).flatMap((t) => t.steps.map((s) => s.stderr));
      assert.equal(r.status, 'Succeeded', steps.join('\n').slice(-3000));
      const declared = tektonTasks().get(`aicr-${stage}`)!.spec.results.map((x: { name: string }) => x.name).sort();
      for (const t of Object.values(r.tasks)) {
        const task = tektonTasks().get(`aicr-${t.name === 'baseline' || t.name === 'current' ? 'snapshot' : t.name === 'drift' ? 'drift-check' : t.name}`);
        if (task) assert.deepEqual(Object.keys(t.results).sort(), task.spec.results.map((x: { name: string }) => x.name).sort(), `${t.name} results`);
      }
      assert.ok(declared.includes('error'));
      assert.ok(Object.keys(r.results).length > 0);
    });

    it(`Argo: argo-workflows/examples/${stage}.yaml succeeds and every output parameter is set`, async () => {
      const r = await runArgo(loadDoc(path.join(ROOT, 'argo-workflows', 'examples', `${stage}.yaml`)), opts());
      assert.equal(r.phase, 'Succeeded', Object.values(r.nodes).map((n) => `${n.name} ${n.phase} ${n.message}\n${n.step?.stderr.slice(-1500) ?? ''}`).join('\n'));
      for (const n of Object.values(r.nodes)) {
        assert.equal(n.parameters.error, '', n.name);
        for (const a of FACTS[n.name === 'baseline' || n.name === 'current' ? 'snapshot' : (n.name as (typeof ENGINE_STAGES)[number])].argoOutputArtifacts) {
          assert.ok(n.artifacts[a.name], `${n.name} produced artifact ${a.name}`);
        }
      }
    });
  }

  it('Tekton: the step runs as UID 65532 on a read-only root with the workspace group-writable through fsGroup', async () => {
    const r = await runTekton(loadDoc(path.join(ROOT, 'tekton', 'task', 'aicr-recipe', '0.1', 'tests', 'run.yaml')), opts());
    const ws = r.workspaces.source!;
    const st = fs.statSync(path.join(ws, 'recipe.yaml'));
    assert.equal(st.uid, 65532);
    assert.equal(st.gid, 65532);
  });

  it('Tekton: without fsGroup the root-owned workspace is refused with a clear message, and every result is still written', async () => {
    const doc = loadDoc(path.join(ROOT, 'tekton', 'task', 'aicr-recipe', '0.1', 'tests', 'run.yaml'));
    delete doc.spec.taskRunTemplate;
    const r = await runTekton(doc, opts());
    assert.equal(r.status, 'Failed');
    const t = r.tasks.recipe!;
    assert.match(t.results.error ?? '', /^recipe: workspace \/workspace\/source is not writable by uid 65532 gid 65532 \(EACCES\); the step runs as non-root: set the TaskRun\/PipelineRun podTemplate securityContext\.fsGroup/);
    assert.deepEqual(Object.keys(t.results).sort(), tektonTasks().get('aicr-recipe')!.spec.results.map((x: { name: string }) => x.name).sort());
  });

  it('Tekton: a kubeconfig workspace bound without the key fails naming the file; unbound, the ServiceAccount path is taken', async () => {
    const secret = hostScratch('secret-');
    fs.writeFileSync(path.join(secret, 'other'), 'x');
    const doc = {
      apiVersion: 'tekton.dev/v1',
      kind: 'TaskRun',
      metadata: { name: 'kc' },
      spec: {
        taskRef: { name: 'aicr-recipe' },
        params: [{ name: 'snapshot', value: 'cm://aicr/snap' }],
        workspaces: [{ name: 'source', emptyDir: {} }],
        podTemplate: { securityContext: { fsGroup: 65532 } },
      },
    };
    const bound = await runTekton(doc, { ...opts(), workspaceDirs: { kubeconfig: secret } });
    assert.equal(bound.tasks.kc!.results.error, "recipe: input 'kubeconfig': file '/workspace/kubeconfig/kubeconfig' does not exist (give a kubeconfig path or its content)");
  });
});

describe('ENGINE EMULATION: the deploy and drift pipelines on Tekton and Argo equal the GitHub actions', { skip: SKIP }, () => {
  const ghWs = tempDir('gh-job-');
  const outs: Record<string, Record<string, string>> = {};
  before(async () => {
    // One GitHub job, four steps, one workspace: the same stages with the same inputs.
    const snap = await gh('snapshot', { mode: 'local', output: 'snapshot.yaml' }, ghWs);
    assert.equal(snap.exitCode, 0, snap.stderr + snap.stdout);
    const recipe = await gh('recipe', { snapshot: 'snapshot.yaml', service: 'kind', intent: 'training', output: 'recipe.yaml' }, ghWs);
    assert.equal(recipe.exitCode, 0, recipe.stdout);
    const bundle = await gh('bundle', { recipe: 'recipe.yaml', output: 'bundle' }, ghWs);
    assert.equal(bundle.exitCode, 0, bundle.stdout);
    const deploy = await gh('deploy', { bundle: 'bundle', 'expected-checksums-sha256': bundle.outputs['checksums-sha256']!, 'dry-run': 'true' }, ghWs);
    assert.equal(deploy.exitCode, 0, deploy.stdout);
    Object.assign(outs, { snapshot: snap.outputs, recipe: recipe.outputs, bundle: bundle.outputs, deploy: deploy.outputs });
  });

  it('Tekton aicr-deploy (local snapshot, approved by checksum, deploy dry-run): recipe bytes, bundle tree, results and outputs equal the actions', async () => {
    const run: PipelineRunResult = await runTekton(
      {
        apiVersion: 'tekton.dev/v1',
        kind: 'PipelineRun',
        metadata: { name: 'deploy' },
        spec: {
          pipelineRef: { name: 'aicr-deploy' },
          params: [
            { name: 'snapshot-mode', value: 'local' },
            { name: 'service', value: 'kind' },
            { name: 'intent', value: 'training' },
            { name: 'approved-checksums-sha256', value: outs.bundle!['checksums-sha256'] },
            { name: 'dry-run', value: 'true' },
          ],
          workspaces: [{ name: 'source', volumeClaimTemplate: {} }],
          taskRunTemplate: { podTemplate: { securityContext: { fsGroup: 65532 } } },
        },
      },
      opts(),
    );
    const logs = Object.values(run.tasks).map((t) => `${t.name} ${t.status} ${t.reason}\n${t.steps.map((s) => s.stderr).join('')}`).join('\n');
    assert.equal(run.status, 'Succeeded', logs.slice(-4000));
    assert.deepEqual(Object.fromEntries(Object.entries(run.tasks).map(([k, v]) => [k, v.status])), { snapshot: 'Succeeded', recipe: 'Succeeded', bundle: 'Succeeded', plan: 'Succeeded', deploy: 'Succeeded' });
    const ws = run.workspaces.source!;
    assert.deepEqual(fs.readFileSync(path.join(ws, 'recipe.yaml')), fs.readFileSync(path.join(ghWs, 'recipe.yaml')), 'recipe bytes');
    assert.deepEqual(tree(path.join(ws, 'bundle')), tree(path.join(ghWs, 'bundle')), 'bundle tree');
    for (const [task, stage] of [['recipe', 'recipe'], ['bundle', 'bundle'], ['deploy', 'deploy'], ['plan', 'deploy']] as const) {
      const t = run.tasks[task]!;
      assert.deepEqual(portable(stepJson(t.steps[0]!.stdout)), portable(outs[stage]!), `${task}: full outputs`);
      for (const [k, v] of Object.entries(portable(t.results))) assert.equal(v, outs[stage]![k] ?? '', `${task}: result ${k}`);
    }
    assert.equal(run.results['checksums-sha256'], outs.bundle!['checksums-sha256']);
    assert.equal(run.tasks.deploy!.results.deployed, 'false');
  });

  it('Tekton aicr-deploy without approval stops after the plan (deploy skipped by its when expression)', async () => {
    const run = await runTekton(
      {
        apiVersion: 'tekton.dev/v1',
        kind: 'PipelineRun',
        metadata: { name: 'plan-only' },
        spec: {
          pipelineRef: { name: 'aicr-deploy' },
          params: [
            { name: 'snapshot-mode', value: 'local' },
            { name: 'service', value: 'kind' },
            { name: 'intent', value: 'training' },
          ],
          workspaces: [{ name: 'source', volumeClaimTemplate: {} }],
          taskRunTemplate: { podTemplate: { securityContext: { fsGroup: 65532 } } },
        },
      },
      opts(),
    );
    assert.equal(run.status, 'Succeeded');
    assert.equal(run.tasks.plan!.status, 'Succeeded');
    assert.equal(run.tasks.deploy!.status, 'Skipped');
  });

  it('Argo aicr-deploy (local snapshot, approval, deploy dry-run): recipe bytes, bundle tree and every output parameter equal the actions', async () => {
    const run: WorkflowResult = await runArgo(loadDoc(path.join(ROOT, 'argo-workflows', 'examples', 'deploy-pipeline-local.yaml')), { ...opts(), parameters: { 'auto-approve': 'false' } });
    assert.equal(run.phase, 'Succeeded', Object.values(run.nodes).map((n) => `${n.name} ${n.phase} ${n.message}\n${n.step?.stderr.slice(-1500) ?? ''}`).join('\n'));
    assert.deepEqual(run.resumed, ['approve'], 'the approval point was reached and given');
    const recipeKey = run.nodes.recipe!.artifacts.recipe!;
    assert.match(recipeKey, /\/recipe\.yaml$/, 'single YAML stored raw (archive: none)');
    assert.deepEqual(fs.readFileSync(run.store.path(recipeKey)), fs.readFileSync(path.join(ghWs, 'recipe.yaml')), 'recipe bytes');
    assert.deepEqual(tree(untar(run.store.path(run.nodes.bundle!.artifacts.bundle!))), tree(path.join(ghWs, 'bundle')), 'bundle tree');
    for (const [node, stage] of [['recipe', 'recipe'], ['bundle', 'bundle'], ['plan', 'deploy'], ['deploy', 'deploy']] as const) {
      assert.deepEqual(portable(run.nodes[node]!.parameters), portable(outs[stage]!), `${node}: output parameters`);
    }
  });

  it('Tekton aicr-drift and Argo aicr-drift find the same drift as the drift-check action (outcome, counts, changed paths), and fail the run on it', async () => {
    // GitHub: a baseline captured earlier by this job, drifted in a known way.
    const ghSnap = await gh('snapshot', { mode: 'local', output: 'baseline-src.yaml' }, ghWs);
    assert.equal(ghSnap.exitCode, 0);
    driftedBaseline(path.join(ghWs, 'baseline-src.yaml'), path.join(ghWs, 'baseline.yaml'));
    const ghCur = await gh('snapshot', { mode: 'local', output: 'current.yaml' }, ghWs);
    assert.equal(ghCur.exitCode, 0);
    const ghDrift = await gh('drift-check', { baseline: 'baseline.yaml', snapshot: 'current.yaml', 'report-dir': 'drift-report' }, ghWs);
    assert.equal(ghDrift.exitCode, 1, 'drift fails the step');
    assert.equal(ghDrift.outputs.outcome, 'drift');
    const ghChanges = (JSON.parse(fs.readFileSync(path.join(ghWs, 'drift-report', 'drift-report.json'), 'utf8')) as { changes: { path: string; kind: string }[] }).changes.map((c) => `${c.kind} ${c.path}`).sort();
    assert.ok(ghChanges.length >= 2);

    // Tekton: the same, the baseline captured earlier by the snapshot Task into the workspace.
    const ws = hostScratch('tekton-drift-ws-');
    const pod = { securityContext: { fsGroup: 65532 } };
    const snap = await runTekton(
      { apiVersion: 'tekton.dev/v1', kind: 'TaskRun', metadata: { name: 'baseline' }, spec: { taskRef: { name: 'aicr-snapshot' }, params: [{ name: 'mode', value: 'local' }, { name: 'output', value: 'baseline-src.yaml' }], workspaces: [{ name: 'source', emptyDir: {} }], podTemplate: pod } },
      { ...opts(), workspaceDirs: { source: ws } },
    );
    assert.equal(snap.status, 'Succeeded');
    driftedBaseline(path.join(ws, 'baseline-src.yaml'), path.join(ws, 'baseline.yaml'));
    const tk = await runTekton(
      {
        apiVersion: 'tekton.dev/v1',
        kind: 'PipelineRun',
        metadata: { name: 'drift' },
        spec: {
          pipelineRef: { name: 'aicr-drift' },
          params: [
            { name: 'snapshot-mode', value: 'local' },
            { name: 'baseline', value: 'baseline.yaml' },
          ],
          workspaces: [{ name: 'source', persistentVolumeClaim: { claimName: 'aicr-data' } }],
          taskRunTemplate: { podTemplate: pod },
        },
      },
      { ...opts(), workspaceDirs: { source: ws } },
    );
    assert.equal(tk.status, 'Failed', 'drift fails the PipelineRun');
    const tkDrift = tk.tasks['drift-check']!;
    assert.equal(tkDrift.steps[0]!.exitCode, 1, 'exit 1: the gate, not an error');
    const tkChanges = (JSON.parse(fs.readFileSync(path.join(ws, 'drift-report', 'drift-report.json'), 'utf8')) as { changes: { path: string; kind: string }[] }).changes.map((c) => `${c.kind} ${c.path}`).sort();
    assert.deepEqual(tkChanges, ghChanges);
    const cmp = (o: Record<string, string>): Record<string, string> => {
      const { hidden: _h, ...rest } = portable(o);
      return rest;
    };
    assert.deepEqual(cmp(tkDrift.results), cmp(ghDrift.outputs), 'Tekton results');
    assert.deepEqual(cmp(stepJson(tkDrift.steps[0]!.stdout)), cmp(ghDrift.outputs), 'Tekton full outputs');

    // Argo: the baseline captured earlier by the snapshot template, kept in the artifact repository by key.
    const store = new ArtifactStore();
    const first = await runArgo(stageWorkflow('snapshot', { mode: 'local' }), { ...opts(), store });
    assert.equal(first.phase, 'Succeeded');
    const drifted = path.join(hostScratch('argo-baseline-'), 'baseline.yaml');
    driftedBaseline(store.path(first.nodes.snapshot!.artifacts.snapshot!), drifted);
    store.putFile('baselines/gpu-cluster.yaml', drifted);
    const ar = await runArgo(loadDoc(path.join(ROOT, 'argo-workflows', 'examples', 'drift-pipeline-file.yaml')), { ...opts(), store });
    assert.equal(ar.phase, 'Failed', 'drift fails the workflow');
    assert.equal(ar.nodes['drift-check']!.phase, 'Skipped');
    const node = ar.nodes['drift-check-file']!;
    assert.equal(node.step?.exitCode, 1);
    assert.deepEqual(cmp(node.parameters), cmp(ghDrift.outputs), 'Argo output parameters');
    const report = untar(store.path(node.artifacts.report!));
    const arChanges = (JSON.parse(fs.readFileSync(path.join(report, 'drift-report.json'), 'utf8')) as { changes: { path: string; kind: string }[] }).changes.map((c) => `${c.kind} ${c.path}`).sort();
    assert.deepEqual(arChanges, ghChanges);
  });
});

describe('ENGINE EMULATION: a bad param fails like the action and still writes every result/output', { skip: SKIP }, () => {
  const cases: { what: string; params: Record<string, string> }[] = [
    { what: 'unknown deployer', params: { recipe: 'recipe.yaml', deployer: 'flux' } },
    { what: 'missing recipe', params: { recipe: 'nope.yaml' } },
  ];
  for (const c of cases) {
    it(`bundle with ${c.what}: Tekton TaskRun, Argo template and the GitHub action give the same message`, async () => {
      const ghWs2 = tempDir('gh-bad-');
      fs.writeFileSync(path.join(ghWs2, 'recipe.yaml'), 'kind: RecipeResult\n');
      const g = await gh('bundle', c.params, ghWs2);
      assert.equal(g.exitCode, 1);
      assert.deepEqual(g.outputs, {});
      // The last error annotation is core.setFailed's (the first is the stage.end log line).
      const ghMsg = g.annotations.filter((a) => a.level === 'error').at(-1)!.message.split(ghWs2).join('<ws>');

      const ws = hostScratch('tekton-bad-');
      fs.writeFileSync(path.join(ws, 'recipe.yaml'), 'kind: RecipeResult\n');
      const tk = await runTekton(
        {
          apiVersion: 'tekton.dev/v1',
          kind: 'TaskRun',
          metadata: { name: 'bad' },
          spec: { taskRef: { name: 'aicr-bundle' }, params: Object.entries(c.params).map(([name, value]) => ({ name, value })), workspaces: [{ name: 'source', emptyDir: {} }], podTemplate: { securityContext: { fsGroup: 65532 } } },
        },
        { ...opts(), workspaceDirs: { source: ws } },
      );
      const t = tk.tasks.bad!;
      assert.equal(t.status, 'Failed');
      assert.equal(t.steps[0]!.exitCode, 2);
      assert.equal(t.results.error!.split('/workspace/source').join('<ws>'), ghMsg);
      assert.deepEqual(Object.keys(t.results).sort(), tektonTasks().get('aicr-bundle')!.spec.results.map((x: { name: string }) => x.name).sort(), 'every declared result written');
      for (const [k, v] of Object.entries(t.results)) if (k !== 'error') assert.equal(v, '', k);

      const store = new ArtifactStore();
      store.putFile('in/recipe.yaml', path.join(ws, 'recipe.yaml'));
      const argoParams = { ...c.params, recipe: c.params.recipe === 'recipe.yaml' ? '/workspace/in/recipe.yaml' : c.params.recipe };
      const ar = await runArgo(stageWorkflow('bundle', argoParams, { recipe: 'in/recipe.yaml' }), { ...opts(), store });
      const n = ar.nodes.bundle!;
      assert.equal(ar.phase, 'Failed');
      assert.equal(n.step?.exitCode, 2);
      const argoMsg = n.parameters.error!.split('/workspace/in').join('<ws>').split('/workspace').join('<ws>');
      assert.equal(argoMsg, ghMsg);
      const declared = (loadDoc(path.join(ROOT, 'argo-workflows', 'templates', 'aicr-ci.workflowtemplate.yaml')).spec.templates as { name: string; outputs: { parameters: { name: string }[] } }[])
        .find((x) => x.name === 'bundle')!
        .outputs.parameters.map((p) => p.name)
        .sort();
      assert.deepEqual(Object.keys(n.parameters).sort(), declared, 'every output parameter present');
    });
  }
});
