/**
 * The test plays the GPU node(s) for aicr's agent Job on the real control plane
 * (there is no kubelet or scheduler; see tools/k8s/README.md "Playing the node").
 *
 * For each agent pod the Job controller creates, as a kubelet would:
 *  1. bind it to a fake Node (`POST …/pods/<pod>/binding`); the Node has
 *     InternalIP 127.0.0.1 and a `daemonEndpoints.kubeletEndpoint.Port` served
 *     by a loopback HTTPS "kubelet" that answers `containerLogs`, so aicr's
 *     log streaming through the API server (`pods/<pod>/log?follow=true`) works;
 *  2. mint the pod's ServiceAccount token bound to the pod (TokenRequest), as
 *     the projected token a real pod gets;
 *  3. mark it Running and Ready (status subresource), so aicr's
 *     `WaitForPodReady` sees it and starts streaming;
 *  4. run the pod's own command on this machine: the container's
 *     `command`/`args` from the Job spec (`aicr snapshot -o cm://…`) with the
 *     container's env (`AICR_AGENT_MODE=true`, `NODE_NAME` from
 *     `spec.nodeName`, …), `KUBECONFIG` holding the pod's token, and `HOME` a
 *     fresh directory; its output is the container log;
 *  5. mark it Succeeded (exit 0) or Failed (exit ≠ 0) with a terminated
 *     container status, so the Job controller completes or fails the Job and
 *     aicr's own `WaitForJobCompletion` returns.
 * The log server's certificate is the API server's serving certificate from
 * .k8s/pki (the API server does not verify kubelet certificates here: no
 * `--kubelet-certificate-authority`).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempDir } from './env.ts';
import { K8S, kubeApi, kubeOk, saToken, writeKubeconfig } from './k8s.ts';

/** A pod as the API returns it (the fields used here). */
export interface PodObj {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string>; creationTimestamp?: string };
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    hostNetwork?: boolean;
    containers: { name: string; image: string; command?: string[]; args?: string[]; env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[] }[];
  };
  status?: { phase?: string };
}

/** What happened to one played pod. */
export interface PlayedPod {
  pod: string;
  uid: string;
  namespace: string;
  job: string;
  node: string;
  /** argv run (the container's command with `aicr` replaced by the real binary's path, then args). */
  argv: string[];
  /** The container env as resolved (the Job spec's, not this process's). */
  env: Record<string, string>;
  /** The pod's ServiceAccount-token kubeconfig and its fresh HOME. */
  kubeconfig: string;
  home: string;
  seenAt: number;
  runningAt?: number;
  exitCode?: number;
  finishedAt?: number;
  log: string;
}

interface LogState {
  chunks: Buffer[];
  done: boolean;
  listeners: Set<() => void>;
}

/** A fake Node's identity. */
export interface FakeNodeSpec {
  name: string;
  providerID?: string;
  labels?: Record<string, string>;
}

/** Fake nodes, a loopback kubelet log endpoint, and the pod-playing steps. */
export class NodePlayer {
  readonly aicr: string;
  readonly logRequests: { namespace: string; pod: string; follow: boolean }[] = [];
  readonly played = new Map<string, PlayedPod>();
  #server?: https.Server;
  #port = 0;
  #logs = new Map<string, LogState>();
  #nodes = new Set<string>();
  #watch?: { stop: boolean; done: Promise<void> };
  #work: Promise<unknown>[] = [];

  constructor(aicr: string) {
    this.aicr = aicr;
  }

  /** Start the log endpoint. */
  async start(): Promise<this> {
    const pki = path.join(K8S!.stateDir, 'pki');
    this.#server = https.createServer({ key: fs.readFileSync(path.join(pki, 'apiserver.key')), cert: fs.readFileSync(path.join(pki, 'apiserver.crt')) }, (req, res) => {
      const u = new URL(req.url ?? '/', 'https://x');
      const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(u.pathname);
      if (!m) {
        res.writeHead(404);
        res.end('not found');
        return;
      }
      const [, namespace, pod] = m;
      const follow = u.searchParams.get('follow') === 'true';
      this.logRequests.push({ namespace, pod, follow });
      const st = this.#log(`${namespace}/${pod}`);
      res.writeHead(200, { 'content-type': 'text/plain' });
      let sent = 0;
      const flush = (): void => {
        while (sent < st.chunks.length) res.write(st.chunks[sent++]);
        if (!follow || st.done) {
          st.listeners.delete(flush);
          res.end();
        }
      };
      st.listeners.add(flush);
      req.on('close', () => st.listeners.delete(flush));
      flush();
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.#port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  #log(key: string): LogState {
    let st = this.#logs.get(key);
    if (!st) {
      st = { chunks: [], done: false, listeners: new Set() };
      this.#logs.set(key, st);
    }
    return st;
  }

  /** Create (or refresh) a Ready fake Node whose kubelet endpoint is the log server. */
  async ensureNode(n: FakeNodeSpec): Promise<void> {
    if (!this.#nodes.has(n.name)) {
      await kubeOk(
        'POST',
        '/api/v1/nodes',
        {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', 'nvidia.com/gpu.present': 'true', 'aicr-ci-test': 'true', ...n.labels } },
          spec: { providerID: n.providerID ?? `aicr-ci-test://${n.name}` },
        },
        undefined,
        [201, 409],
      );
      this.#nodes.add(n.name);
    }
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const release = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release)?.[1] ?? 'Linux';
    await kubeOk(
      'PATCH',
      `/api/v1/nodes/${n.name}/status`,
      {
        status: {
          // Only InternalIP: the API server prefers a Hostname address, which would not resolve.
          addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
          daemonEndpoints: { kubeletEndpoint: { Port: this.#port } },
          capacity: { cpu: '8', memory: '32Gi', pods: '110' },
          allocatable: { cpu: '8', memory: '32Gi', pods: '110' },
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'played by the test', lastHeartbeatTime: now, lastTransitionTime: now }],
          nodeInfo: {
            machineID: n.name,
            systemUUID: n.name,
            bootID: n.name,
            kernelVersion: os.release(),
            osImage: pretty,
            containerRuntimeVersion: 'fake://1.0.0',
            kubeletVersion: K8S!.versions.kubernetes,
            kubeProxyVersion: '',
            operatingSystem: 'linux',
            architecture: process.arch === 'x64' ? 'amd64' : process.arch,
          },
        },
      },
      'application/merge-patch+json',
    );
  }

  /** Bind a pod to a node (the scheduler's job). */
  async bind(pod: PodObj, node: string): Promise<void> {
    await kubeOk('POST', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/binding`, {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: pod.metadata.name },
      target: { apiVersion: 'v1', kind: 'Node', name: node },
    });
  }

  /**
   * Bind, mint the pod's token and mark it Running/Ready; returns the record
   * whose `argv`/`env` {@link runAgent} will use.
   */
  async startPod(pod: PodObj, node: string): Promise<PlayedPod> {
    const { namespace, name, uid } = pod.metadata;
    const home = tempDir('aicr-k8s-pod-');
    const rec: PlayedPod = {
      kubeconfig: '',
      home,
      pod: name,
      uid,
      namespace,
      job: pod.metadata.labels?.['batch.kubernetes.io/job-name'] ?? pod.metadata.labels?.['job-name'] ?? '',
      node,
      argv: [],
      env: {},
      seenAt: Date.now(),
      log: '',
    };
    this.played.set(`${namespace}/${name}`, rec);
    await this.ensureNode({ name: node });
    await this.bind(pod, node);
    const token = await saToken(namespace, pod.spec.serviceAccountName || 'default', { name, uid });
    rec.kubeconfig = writeKubeconfig(path.join(home, 'pod.kubeconfig'), { token, context: `pod-${name}`, user: `system:serviceaccount:${namespace}:${pod.spec.serviceAccountName}`, namespace });
    const c = pod.spec.containers[0];
    const field = (p: string): string => ({ 'spec.nodeName': node, 'metadata.name': name, 'metadata.namespace': namespace, 'spec.serviceAccountName': pod.spec.serviceAccountName ?? '' })[p] ?? '';
    for (const e of c.env ?? []) rec.env[e.name] = e.value ?? (e.valueFrom?.fieldRef ? field(e.valueFrom.fieldRef.fieldPath) : '');
    const command = c.command ?? [];
    rec.argv = [...command.map((x, i) => (i === 0 && x === 'aicr' ? this.aicr : x)), ...(c.args ?? [])];
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await kubeOk(
      'PATCH',
      `/api/v1/namespaces/${namespace}/pods/${name}/status`,
      {
        status: {
          phase: 'Running',
          hostIP: '127.0.0.1',
          hostIPs: [{ ip: '127.0.0.1' }],
          podIP: '127.0.0.1',
          podIPs: [{ ip: '127.0.0.1' }],
          startTime: now,
          conditions: [
            { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
            { type: 'Initialized', status: 'True', lastTransitionTime: now },
            { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
            { type: 'Ready', status: 'True', lastTransitionTime: now },
          ],
          containerStatuses: [{ name: c.name, image: c.image, imageID: '', containerID: `fake://${uid}`, ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } } }],
        },
      },
      'application/merge-patch+json',
    );
    rec.runningAt = Date.now();
    return rec;
  }

  /** Run the pod's command on this machine; its combined output becomes the container log. */
  runAgent(rec: PlayedPod): Promise<number> {
    const st = this.#log(`${rec.namespace}/${rec.pod}`);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: rec.home,
      HOSTNAME: rec.node,
      KUBECONFIG: rec.kubeconfig,
      ...rec.env,
    };
    return new Promise((resolve) => {
      const child = spawn(rec.argv[0], rec.argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: rec.home });
      const onData = (c: Buffer): void => {
        st.chunks.push(c);
        rec.log += c.toString();
        for (const l of [...st.listeners]) l();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', (err) => onData(Buffer.from(`cannot start ${rec.argv[0]}: ${err.message}\n`)));
      child.on('close', (code) => {
        st.done = true;
        for (const l of [...st.listeners]) l();
        rec.exitCode = code ?? 1;
        resolve(rec.exitCode);
      });
    });
  }

  /** Mark the pod Succeeded (exit 0) or Failed, with a terminated container status. */
  async finishPod(rec: PlayedPod, exitCode: number): Promise<void> {
    const r = await kubeApi<PodObj>('GET', `/api/v1/namespaces/${rec.namespace}/pods/${rec.pod}`);
    const c = r.body.spec.containers[0];
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await kubeOk(
      'PATCH',
      `/api/v1/namespaces/${rec.namespace}/pods/${rec.pod}/status`,
      {
        status: {
          phase: exitCode === 0 ? 'Succeeded' : 'Failed',
          conditions: [
            { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
            { type: 'Initialized', status: 'True', lastTransitionTime: now },
            { type: 'ContainersReady', status: 'False', reason: 'PodCompleted', lastTransitionTime: now },
            { type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: now },
          ],
          containerStatuses: [
            {
              name: c.name,
              image: c.image,
              imageID: '',
              containerID: `fake://${rec.uid}`,
              ready: false,
              started: false,
              restartCount: 0,
              state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: now, finishedAt: now, containerID: `fake://${rec.uid}` } },
            },
          ],
        },
      },
      'application/merge-patch+json',
    );
    rec.finishedAt = Date.now();
  }

  /**
   * Wait until someone follows the pod's log (aicr starts streaming once it
   * sees the pod Ready; it polls every 500 ms), at most `ms`. A real agent
   * takes seconds (image pull, collectors); this one takes under one, so
   * without the wait aicr would skip streaming, as it does for fast Jobs.
   */
  async logFollowed(rec: PlayedPod, ms = 5000): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (this.logRequests.some((q) => q.namespace === rec.namespace && q.pod === rec.pod && q.follow)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  /**
   * The whole kubelet part for one pod: start, (container start-up) run, finish.
   * With `crash`, the container does not run: it prints `crash.message` and exits `crash.exitCode`.
   */
  async play(pod: PodObj, node: string, crash?: { exitCode: number; message: string }): Promise<PlayedPod> {
    const rec = await this.startPod(pod, node);
    await this.logFollowed(rec);
    let code: number;
    if (crash) {
      const st = this.#log(`${rec.namespace}/${rec.pod}`);
      st.chunks.push(Buffer.from(`${crash.message}\n`));
      rec.log += `${crash.message}\n`;
      st.done = true;
      for (const l of [...st.listeners]) l();
      code = rec.exitCode = crash.exitCode;
    } else {
      code = await this.runAgent(rec);
    }
    await this.finishPod(rec, code);
    return rec;
  }

  /** Pods labelled `app.kubernetes.io/name=aicr` in `namespace`. */
  async pods(namespace: string): Promise<PodObj[]> {
    const r = await kubeOk<{ items: PodObj[] }>('GET', `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent('app.kubernetes.io/name=aicr')}`);
    return r.items;
  }

  /**
   * Play every new unbound agent pod in `namespace` in the background;
   * `nodeFor` picks the node from the pod (e.g. from its Job name).
   */
  watch(namespace: string, nodeFor: (pod: PodObj) => string, crashFor?: (pod: PodObj) => { exitCode: number; message: string } | undefined): void {
    const state = { stop: false, done: Promise.resolve() };
    const seen = new Set<string>();
    state.done = (async () => {
      while (!state.stop) {
        for (const pod of await this.pods(namespace).catch(() => [] as PodObj[])) {
          if (seen.has(pod.metadata.uid) || pod.spec.nodeName || pod.status?.phase !== 'Pending') continue;
          seen.add(pod.metadata.uid);
          this.#work.push(this.play(pod, nodeFor(pod), crashFor?.(pod)).catch((err: Error) => process.stderr.write(`node player: ${pod.metadata.name}: ${err.message}\n`)));
        }
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    this.#watch = state;
  }

  /** Stop watching, wait for pods in play, delete the fake nodes, close the log server. */
  async stop(): Promise<void> {
    if (this.#watch) {
      this.#watch.stop = true;
      await this.#watch.done;
    }
    await Promise.allSettled(this.#work);
    for (const n of this.#nodes) await kubeApi('DELETE', `/api/v1/nodes/${n}`);
    for (const st of this.#logs.values()) {
      st.done = true;
      for (const l of [...st.listeners]) l();
    }
    this.#server?.closeAllConnections();
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }
}
