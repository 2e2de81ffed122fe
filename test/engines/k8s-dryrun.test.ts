/**
 * The Kubernetes manifests of deploy/, the RBAC samples and the drift CronJob
 * are accepted by a real kube-apiserver: server-side dry run
 * (`?dryRun=All&fieldValidation=Strict`) against the control plane that
 * `bash scripts/k8s-up.sh` starts. Skips cleanly when it is not running.
 * Kinds whose CRD is not installed there (Prometheus Operator, Tekton, Argo)
 * are listed and left out; the Tekton/Argo kinds have their own validators.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../../scripts/gen-engines.ts';

interface State {
  server: string;
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}
const STATE_FILE = path.join(ROOT, '.k8s', 'state.json');
const state: State | undefined = fs.existsSync(path.join(ROOT, '.k8s', 'admin.kubeconfig')) && fs.existsSync(STATE_FILE) ? (JSON.parse(fs.readFileSync(STATE_FILE, 'utf8')) as State) : undefined;

function request(method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
  const s = state!;
  const u = new URL(p, s.server);
  return new Promise((resolve, reject) => {
    const req = https.request(
      u,
      {
        method,
        ca: fs.readFileSync(s.caFile),
        cert: fs.readFileSync(s.clientCertFile),
        key: fs.readFileSync(s.clientKeyFile),
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        timeout: 15000,
      },
      (res) => {
        let data = '';
        res.on('data', (d: Buffer) => (data += d.toString()));
        res.on('end', () => {
          let json: any = {};
          try {
            json = data ? JSON.parse(data) : {};
          } catch {
            json = { message: data.trim() };
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

let reachable: string | false = state ? false : 'no Kubernetes API server (.k8s/admin.kubeconfig absent; bash scripts/k8s-up.sh starts one)';

const FILES = [
  'deploy/aicrd/aicrd.yaml',
  'deploy/prometheus/aicrd-prometheus.yaml',
  'deploy/prometheus/prometheusrule.yaml',
  'deploy/network-policy/snapshot-agent-egress.yaml',
  'argo-workflows/rbac.yaml',
  'tekton/pipeline/aicr-drift/0.1/samples/cronjob.yaml',
  ...['snapshot', 'recipe', 'bundle', 'deploy', 'drift-check', 'validate'].map((s) => `tekton/task/aicr-${s}/0.1/samples/rbac.yaml`),
];

describe('Kubernetes manifests pass server-side dry run on a real kube-apiserver', () => {
  // Namespaces the objects live in are created for real (labelled) and kept: deleting them
  // would leave them Terminating for the next run. Nothing else is persisted (dryRun=All).
  before(async () => {
    if (reachable) return;
    try {
      const r = await request('GET', '/version');
      if (r.status !== 200) reachable = `API server answered ${r.status}`;
    } catch (err) {
      reachable = `API server not reachable: ${(err as Error).message}`;
      return;
    }
    if (reachable) return;
    for (const ns of ['aicr', 'aicr-ci', 'aicr-validation', 'monitoring']) {
      let r = await request('GET', `/api/v1/namespaces/${ns}`);
      // A namespace left Terminating by an earlier run: wait for it to go.
      for (let i = 0; i < 60 && r.json?.status?.phase === 'Terminating'; i++) {
        await new Promise((res) => setTimeout(res, 1000));
        r = await request('GET', `/api/v1/namespaces/${ns}`);
      }
      if (r.status === 404) {
        const c = await request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'app.kubernetes.io/managed-by': 'aicr-ci-tests' } } });
        assert.equal(c.status, 201, JSON.stringify(c.json));
      }
    }
  });

  it('every object is accepted with dryRun=All and strict field validation (CRD kinds not served there are listed)', async (t) => {
    if (reachable) {
      t.skip(reachable);
      return;
    }
    const resources = new Map<string, { name: string; namespaced: boolean }>();
    const discover = async (gv: string): Promise<boolean> => {
      const r = await request('GET', gv === 'v1' ? '/api/v1' : `/apis/${gv}`);
      if (r.status !== 200) return false;
      for (const res of r.json.resources as { name: string; kind: string; namespaced: boolean }[]) if (!res.name.includes('/')) resources.set(`${gv}/${res.kind}`, res);
      return true;
    };
    const notServed: string[] = [];
    let accepted = 0;
    for (const f of FILES) {
      for (const doc of parseAllDocuments(fs.readFileSync(path.join(ROOT, f), 'utf8'))) {
        const o = doc.toJS() as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
        if (!o) continue;
        if (![...resources.keys()].some((k) => k.startsWith(`${o.apiVersion}/`))) await discover(o.apiVersion);
        const res = resources.get(`${o.apiVersion}/${o.kind}`);
        if (!res) {
          notServed.push(`${f}: ${o.apiVersion} ${o.kind}/${o.metadata.name}`);
          continue;
        }
        const base = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
        const url = `${base}${res.namespaced ? `/namespaces/${o.metadata.namespace ?? 'default'}` : ''}/${res.name}?dryRun=All&fieldValidation=Strict`;
        const r = await request('POST', url, o);
        assert.ok(r.status === 201 || r.status === 200, `${f}: ${o.kind}/${o.metadata.name}: ${r.status} ${r.json.message ?? ''}`);
        accepted++;
      }
    }
    assert.ok(accepted >= 40, `accepted ${accepted}`);
    // Only the Prometheus Operator kinds may be missing on a bare API server.
    for (const n of notServed) assert.match(n, /monitoring\.coreos\.com\/v1 (PrometheusRule|ServiceMonitor)\//, n);
    t.diagnostic(`accepted ${accepted} objects; not served here (CRD absent): ${notServed.join('; ') || 'none'}`);
  });
});
