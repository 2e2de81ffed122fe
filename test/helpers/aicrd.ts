/**
 * Start the real aicrd on loopback for a test, and an optional fault-injecting
 * proxy in front of it (to test retries against aicrd's real responses).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AICRD } from './env.ts';

async function freePort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A running aicrd. */
export interface Aicrd {
  url: string;
  close(): Promise<void>;
}

/** Start aicrd (`PORT` env, loopback) and wait for /health. */
export async function startAicrd(env: Record<string, string> = {}): Promise<Aicrd> {
  if (!AICRD) throw new Error('aicrd not installed');
  const port = await freePort();
  const child: ChildProcess = spawn(AICRD, [], { env: { ...process.env, PORT: String(port), ...env }, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    close: () =>
      new Promise((r) => {
        child.once('exit', () => r());
        child.kill();
      }),
  };
}

/** A proxy that answers from a script of faults, then forwards to `upstream`. */
export interface FaultProxy {
  url: string;
  /** Requests received, in order (method + path?query). */
  requests: string[];
  /** Arrival times (ms, performance.now()) of the requests. */
  times: number[];
  close(): Promise<void>;
}

/**
 * @param upstream - base URL requests are forwarded to once `faults` are used up.
 * @param faults - responses for the first requests: `{status, headers?, body?}`.
 */
export async function startFaultProxy(upstream: string, faults: { status: number; headers?: Record<string, string>; body?: string }[]): Promise<FaultProxy> {
  const requests: string[] = [];
  const times: number[] = [];
  const queue = [...faults];
  const srv = http.createServer(async (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    times.push(performance.now());
    const fault = queue.shift();
    if (fault) {
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(fault.body ?? JSON.stringify({ code: 'SERVICE_UNAVAILABLE', message: 'injected fault' }));
      return;
    }
    const r = await fetch(`${upstream}${req.url}`, { headers: { accept: req.headers.accept ?? '*/*' } });
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, requests, times, close: () => new Promise((r) => srv.close(() => r())) };
}
