/**
 * HTTP GET with bounded retries, built on undici's RetryAgent.
 *
 * Retries: connection errors and status 429/500/502/503/504, exponential
 * backoff from `minDelayMs` doubling up to `maxDelayMs`, honouring a
 * `Retry-After` header (seconds or HTTP date, capped at `maxDelayMs`).
 * 4xx other than 429 is never retried.
 */
import { StageError } from './errors.ts';

/** Retry policy; all times in milliseconds. */
export interface RetryPolicy {
  /** Retries after the first attempt (0 disables retrying). */
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** Per-attempt timeout (headers and body). */
  timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, minDelayMs: 500, maxDelayMs: 10_000, timeoutMs: 30_000 };

/** A completed response (any status). */
export interface HttpResponse {
  url: string;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** A non-2xx final response. */
export class HttpError extends StageError {
  readonly status: number;
  readonly url: string;
  readonly body: string;
  constructor(url: string, status: number, body: string) {
    super(`GET ${url} answered HTTP ${status}${describeBody(body)}`);
    this.name = 'HttpError';
    this.status = status;
    this.url = url;
    this.body = body;
  }
}

/** aicrd errors are `{code, message, details}`; show them, else the first 200 chars. */
function describeBody(body: string): string {
  try {
    const j = JSON.parse(body) as { code?: string; message?: string; details?: { error?: string } };
    if (j.message) return `: ${j.code ? `[${j.code}] ` : ''}${j.message}${j.details?.error ? ` (${j.details.error})` : ''}`;
  } catch {
    /* not JSON */
  }
  const t = body.trim().slice(0, 200);
  return t ? `: ${t}` : '';
}

const RETRY_STATUS = [429, 500, 502, 503, 504];

/**
 * GET `url` with retries.
 *
 * @param url - absolute http(s) URL.
 * @param policy - retry bounds.
 * @param headers - extra request headers.
 * @returns the 2xx response.
 * @throws HttpError for a final non-2xx status (after retries for 5xx/429).
 * @throws StageError when the host cannot be reached after the retries.
 */
export async function httpGet(url: string, policy: RetryPolicy = DEFAULT_RETRY, headers: Record<string, string> = {}): Promise<HttpResponse> {
  // Loaded on first use: undici is only needed by stages that talk HTTP.
  const { Agent, RetryAgent, request } = await import('undici');
  const agent = new Agent({ headersTimeout: policy.timeoutMs, bodyTimeout: policy.timeoutMs });
  const dispatcher = new RetryAgent(agent, {
    maxRetries: policy.retries,
    minTimeout: policy.minDelayMs,
    maxTimeout: policy.maxDelayMs,
    timeoutFactor: 2,
    retryAfter: true,
    methods: ['GET'],
    statusCodes: RETRY_STATUS,
    errorCodes: ['ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'ENETDOWN', 'ENETUNREACH', 'EHOSTDOWN', 'EHOSTUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'],
  });
  try {
    let res;
    try {
      res = await request(url, { method: 'GET', headers, dispatcher });
    } catch (err) {
      const e = err as { statusCode?: number; data?: unknown; code?: string; message: string };
      if (e.statusCode) throw new HttpError(url, e.statusCode, typeof e.data === 'string' ? e.data : '');
      throw new StageError(`GET ${url} failed after ${policy.retries} retries: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' '), { cause: err });
    }
    const body = Buffer.from(await res.body.arrayBuffer());
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
    if (res.statusCode < 200 || res.statusCode >= 300) throw new HttpError(url, res.statusCode, body.toString('utf8'));
    return { url, status: res.statusCode, headers: flat, body };
  } finally {
    await dispatcher.close().catch(() => undefined);
  }
}

/**
 * Serves identical GETs once per run: the first call's promise is shared by
 * every later call with the same URL (successes and failures alike).
 */
export class HttpOnce {
  readonly #inflight = new Map<string, Promise<HttpResponse>>();
  readonly #policy: RetryPolicy;
  constructor(policy: RetryPolicy = DEFAULT_RETRY) {
    this.#policy = policy;
  }
  get(url: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
    const key = `${url}\n${JSON.stringify(headers)}`;
    let p = this.#inflight.get(key);
    if (!p) {
      p = httpGet(url, this.#policy, headers);
      this.#inflight.set(key, p);
    }
    return p;
  }
  /** Distinct requests made so far. */
  get size(): number {
    return this.#inflight.size;
  }
}
