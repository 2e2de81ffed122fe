/**
 * Every Tekton file passes Tekton's own Go validation (tekton-validate), every
 * Argo file passes Argo's (argo-validate), the Dockerfile passes BuildKit's
 * checks with its COPY sources present (dockerfile-lint), and the generated
 * engine files are what the stage specs produce.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { TOOLS_BIN, tempDir } from '../helpers/env.ts';
import { generatedFiles, ROOT } from '../../scripts/gen-engines.ts';

function tool(name: string): string | undefined {
  const p = path.join(TOOLS_BIN, name);
  return fs.existsSync(p) ? p : undefined;
}
const skipReason = (name: string): string | false => (tool(name) ? false : `${name} not installed (bash test/validators/install.sh)`);

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) out.push(p);
    }
  };
  walk(path.join(ROOT, dir));
  return out.sort();
}

/** Tekton objects embedded in ConfigMaps (the CronJob's PipelineRun), written out so they are validated too. */
function embeddedTekton(files: string[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    for (const doc of parseAllDocuments(fs.readFileSync(f, 'utf8'))) {
      const d = doc.toJS() as { kind?: string; data?: Record<string, string>; metadata?: { name?: string } };
      if (d?.kind !== 'ConfigMap') continue;
      for (const [k, v] of Object.entries(d.data ?? {})) {
        if (!/apiVersion:\s*tekton\.dev\//.test(v)) continue;
        const p = path.join(tempDir('embedded-'), `${d.metadata?.name}-${k}`);
        fs.writeFileSync(p, v);
        out.push(p);
      }
    }
  }
  return out;
}

describe('engine files pass the upstream validators', () => {
  it('tekton-validate: every file under tekton/ (and embedded PipelineRuns) has zero errors and zero warnings', { skip: skipReason('tekton-validate') }, () => {
    const files = yamlFiles('tekton');
    const all = [...files, ...embeddedTekton(files)];
    const r = spawnSync(tool('tekton-validate')!, ['-warnings-as-errors', ...all], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /ERROR/);
    const ok = r.stdout.split('\n').filter((l) => l.endsWith(': OK'));
    // 6 Tasks, 2 Pipelines, 6 TaskRun samples, 6 tests/run.yaml, 3 pipeline samples, 1 embedded.
    assert.ok(ok.length >= 24, r.stdout);
  });

  it('argo-validate (-target v4): every file under argo-workflows/ has zero errors', { skip: skipReason('argo-validate') }, () => {
    const files = yamlFiles('argo-workflows');
    const r = spawnSync(tool('argo-validate')!, files, { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /ERROR/);
    for (const kind of ['WorkflowTemplate/aicr-ci', 'ClusterWorkflowTemplate/aicr-ci', 'WorkflowTemplate/aicr-deploy', 'WorkflowTemplate/aicr-drift', 'CronWorkflow/aicr-drift']) {
      assert.match(r.stdout, new RegExp(`${kind}: OK`));
    }
  });

  it('dockerfile-lint: the Dockerfile passes with every COPY source present in the context', { skip: skipReason('dockerfile-lint') }, () => {
    const r = spawnSync(tool('dockerfile-lint')!, ['-context', ROOT, path.join(ROOT, 'Dockerfile')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.trim(), 'Dockerfile: OK'.replace('Dockerfile', path.join(ROOT, 'Dockerfile')), r.stdout);
  });

  it('the Dockerfile runs as non-root, copies aicr from the pinned image and dist/cli, and has the CLI as entrypoint', () => {
    const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    assert.match(text, /^ARG AICR_IMAGE=ghcr\.io\/nvidia\/aicr:v0\.11\.1$/m);
    assert.match(text, /^COPY --from=aicr \/ko-app\/aicr \/usr\/local\/bin\/aicr$/m);
    assert.match(text, /^ARG NODE_IMAGE=node:24-[a-z-]+@sha256:[0-9a-f]{64}$/m);
    assert.match(text, /^COPY dist\/cli\/ /m);
    assert.match(text, /^USER 65532:65532$/m);
    assert.match(text, /^ENTRYPOINT \["aicr-ci"\]$/m);
  });
});

describe('engine files are generated from the stage specs', () => {
  it('every generated Tekton Task, Task README and Argo stage template is current (npm run gen)', async () => {
    for (const [rel, text] of await generatedFiles()) {
      const p = path.join(ROOT, rel);
      assert.ok(fs.existsSync(p), `${rel} missing: run npm run gen`);
      assert.equal(fs.readFileSync(p, 'utf8'), text, `${rel} is stale: run npm run gen`);
    }
  });

  it('no param or parameter is spliced into a script: steps have no `script`, params reach them only through env (or one argv element)', () => {
    for (const f of [...yamlFiles('tekton'), ...yamlFiles('argo-workflows')]) {
      const text = fs.readFileSync(f, 'utf8');
      assert.doesNotMatch(text, /^\s*script:/m, `${f} has a script`);
      assert.doesNotMatch(text, /^\s*source: \|/m, `${f} has a script template`);
    }
    for (const f of yamlFiles('tekton/task').filter((p) => /aicr-[a-z-]+\.yaml$/.test(p))) {
      const task = parseAllDocuments(fs.readFileSync(f, 'utf8'))[0]!.toJS() as { spec: { steps: { args: string[]; command: string[]; env: { value: string }[] }[] } };
      const step = task.spec.steps[0]!;
      assert.deepEqual(step.command, ['aicr-ci']);
      for (const a of step.args.slice(1)) assert.match(a, /^--[a-z-]+=\$\(params\.[a-z-]+\)$/, `${f}: argv element ${a}`);
    }
  });
});
