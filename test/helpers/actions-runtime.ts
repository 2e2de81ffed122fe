/**
 * EMULATION of GitHub's artifact backend, for tests. Nothing here talks to
 * GitHub: it is a loopback stand-in, written from the client side, so that
 * the real, unmodified `@actions/artifact` `DefaultArtifactClient` can
 * upload, get, list, download and delete artifacts in a test. When this file
 * and GitHub's service disagree, GitHub is right.
 *
 * Checked against `@actions/artifact` 6.2.1 (its `lib/internal/**`), which
 * uses `@azure/storage-blob` 12.32.0 for uploads, `@actions/http-client`
 * for Twirp calls and blob downloads, and `@actions/github` 9.1.1 (Octokit)
 * for the REST calls. Another toolkit version may send different requests;
 * check them again when you upgrade it.
 *
 * Three loopback HTTP servers stand in for three GitHub hosts:
 *
 * - results: the Twirp JSON service the toolkit reaches through
 *   `ACTIONS_RESULTS_URL`. It serves `POST
 *   /twirp/github.actions.results.api.v1.ArtifactService/{CreateArtifact,
 *   FinalizeArtifact, ListArtifacts, GetSignedArtifactURL, DeleteArtifact}`.
 *   It expects `Authorization: Bearer <ACTIONS_RUNTIME_TOKEN>`. Requests are
 *   scoped to the run in the token's `scp` claim
 *   (`Actions.Results:<runBackendId>:<jobBackendId>`). A name already used in
 *   the run gets HTTP 409 with `an artifact with this name already exists on
 *   the workflow run`, the wording GitHub's service uses.
 * - blob: an Azure-Blob-style store behind signed URLs. `sig` is an HMAC over
 *   path, permissions and expiry, and is checked. It serves `PUT
 *   ?comp=block&blockid=…`, `PUT ?comp=blocklist` (an XML `<BlockList>`), a
 *   single-shot `PUT` with `x-ms-blob-type: BlockBlob`, and `GET`/`HEAD`.
 *   Errors come back as Azure-style XML.
 * - api: the GitHub REST subset the toolkit uses for cross-run access
 *   (`findBy`). It serves `GET /repos/{o}/{r}/actions/runs/{run}/artifacts`
 *   (with `name`, `per_page` and `page`), `GET` and `DELETE
 *   /repos/{o}/{r}/actions/artifacts/{id}`, and `GET
 *   /repos/{o}/{r}/actions/artifacts/{id}/zip`, which answers 302 to a
 *   signed blob URL. It accepts `Authorization: token|Bearer <t>`. An unknown
 *   token gets 401 `Bad credentials`. A token without access to the
 *   repository gets 404 `Not Found`, as GitHub hides private repositories.
 *
 * Limits of the emulation:
 * - No artifact cache service, no OIDC and no legacy (v1)
 *   `ACTIONS_RUNTIME_URL` API. The runtime URL is set but answers 404.
 * - No real signatures: the runtime token is an unsecured JWT (`alg: none`)
 *   that the emulator recognises by its exact value.
 * - No quotas and no rate limits.
 * - Expiry is stored and reported (REST answers 410 for expired artifacts),
 *   but nothing is reaped.
 *
 * Its own strictness: FinalizeArtifact fails (412 `failed_precondition`)
 * when the blob was never committed, or when its size or sha256 differs
 * from what the client reports.
 *
 * `@actions/github` reads `GITHUB_API_URL` once, when it is first imported
 * in a process. Run code that uses this runtime in a fresh process
 * (`runAction` in ./action-runner.ts), or set `process.env` before the first
 * import of `@actions/artifact`.
 */
import { createHash, createHmac, randomBytes, randomInt, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.ArtifactService/';
const BLOB_ACCOUNT = 'emulatedresultsacct';
const BLOB_CONTAINER = 'actions-results';
const ALREADY_EXISTS_MSG = 'an artifact with this name already exists on the workflow run';

/** One artifact as the emulator stores it. */
export interface EmulatedArtifact {
  /** GitHub artifact id (the `database_id` of the results service). */
  id: number;
  name: string;
  /** Numeric workflow run id (`GITHUB_RUN_ID`) of the run that owns it. */
  runId: number;
  /** `owner/name` of the repository that owns the run. */
  repository: string;
  workflowRunBackendId: string;
  workflowJobRunBackendId: string;
  /** True once FinalizeArtifact succeeded; only finalized artifacts are listed. */
  finalized: boolean;
  /** Size the client reported at finalize (bytes of the uploaded blob). */
  size: number;
  /** Digest the client reported at finalize, `sha256:<hex>`. */
  digest: string | undefined;
  /** MIME type given at CreateArtifact (`application/zip` for zipped uploads). */
  mimeType: string;
  /** CreateArtifact `version` field (the toolkit sends 7). */
  version: number;
  createdAt: Date;
  expiresAt: Date;
  /** Committed blob contents, or undefined before the block list is committed. */
  bytes: Buffer | undefined;
  /** Files inside the zip (directories omitted); throws for a non-zip artifact. */
  files(): Record<string, Buffer>;
}

/** A request the emulator received (for assertions on the path taken). */
export interface EmulatedRequest {
  service: 'results' | 'blob' | 'api';
  method: string;
  /** Path and query as received (query values may hold signatures). */
  url: string;
  status: number;
}

export interface SeedArtifactOptions {
  name: string;
  /** Zip entries: relative POSIX path -> contents. */
  files: Record<string, string | Uint8Array>;
  /** Run that owns it; default: a new run (not the emulated current run). */
  runId?: number | string;
  /** `owner/name`; default: the current repository. */
  repository?: string;
  /** Default: GITHUB_RETENTION_DAYS (90). Negative makes an already expired artifact. */
  retentionDays?: number;
}

export interface IssueTokenOptions {
  /** Repositories (`owner/name`) this token can see. */
  repositories: string[];
  /** `read` allows list and download; `write` also allows delete. Default `read`. */
  actions?: 'read' | 'write';
}

export interface ActionsRuntime {
  /** The environment a JavaScript action step gets on a runner, pointed at this emulator. */
  env: Record<string, string>;
  /** The job's `GITHUB_TOKEN` (`${{ github.token }}`): actions write on the current repository only. */
  githubToken: string;
  /** The emulated current run. */
  run: { id: number; repository: string; workflowRunBackendId: string; workflowJobRunBackendId: string };
  /** Base URLs of the three emulated hosts. */
  urls: { results: string; blob: string; api: string };
  /** Env of another job in the same run (own runtime token, same run). */
  jobEnv(): Record<string, string>;
  /** Stored artifacts, finalized or not, optionally filtered. */
  artifacts(filter?: { runId?: number | string; repository?: string; name?: string }): EmulatedArtifact[];
  /** Store a finalized artifact, by default in ANOTHER run of the same repository (for cross-run downloads). */
  seedArtifact(opts: SeedArtifactOptions): EmulatedArtifact;
  /** A REST token (PAT-like) with actions access to the given repositories. */
  issueToken(opts: IssueTokenOptions): string;
  /** Requests received so far, in order. */
  requests(): EmulatedRequest[];
  close(): Promise<void>;
}

export interface StartActionsRuntimeOptions {
  /** `owner/name` of the current run's repository. Default `nvidia-emulated/aicr-ci`. */
  repository?: string;
  /** `GITHUB_RETENTION_DAYS`. Default 90. */
  retentionDays?: number;
}

interface RunRecord {
  runId: number;
  repository: string;
  backendId: string;
}

interface JobToken {
  runBackendId: string;
  jobBackendId: string;
}

interface RestToken {
  repositories: Set<string>;
  actions: 'read' | 'write';
}

interface BlobRecord {
  blocks: Map<string, Buffer>;
  committed: Buffer | undefined;
  contentType: string | undefined;
  etag: string;
  lastModified: Date;
}

interface StoredArtifact extends EmulatedArtifact {
  blobPath: string;
}

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// ---------------------------------------------------------------- small utils

function b64url(data: string): string {
  return Buffer.from(data).toString('base64url');
}

/** An unsecured (`alg: none`) but well-formed JWT shaped like the runner's ACTIONS_RUNTIME_TOKEN. */
function runtimeJwt(runBackendId: string, jobBackendId: string, runId: number): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'none' };
  const payload = {
    nameid: 'dddddddd-dddd-dddd-dddd-dddddddddddd',
    scp: [
      'Actions.ExampleScope',
      `Actions.Results:${runBackendId}:${jobBackendId}`,
      'LocationService.Connect',
      'ReadAndUpdateBuildByUri',
    ].join(' '),
    IdentityTypeClaim: 'System:ServiceIdentity',
    ac: '[]',
    runid: String(runId),
    iss: 'vstoken.actions.githubusercontent.com (emulated)',
    aud: 'vstoken.actions.githubusercontent.com',
    iat: now,
    nbf: now - 5,
    exp: now + 6 * 3600,
  };
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.`;
}

function ghToken(prefix: 'ghs' | 'ghp'): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 36; i++) s += alphabet[randomInt(alphabet.length)];
  return `${prefix}_${s}`;
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(`http://127.0.0.1:${port}`);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function runnerOs(): string {
  return process.platform === 'win32' ? 'Windows' : process.platform === 'darwin' ? 'macOS' : 'Linux';
}

function runnerArch(): string {
  return ({ x64: 'X64', arm64: 'ARM64', arm: 'ARM', ia32: 'X86' } as Record<string, string>)[process.arch] ?? process.arch.toUpperCase();
}

// ---------------------------------------------------------------- zip (seed + inspect)

/** A minimal zip writer (deflate, no data descriptors) for seeded artifacts. */
export function makeZip(files: Record<string, string | Uint8Array>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const names = Object.keys(files).sort();
  for (const name of names) {
    const raw = Buffer.from(files[name] as string | Uint8Array);
    const data = zlib.deflateRawSync(raw);
    const crc = zlib.crc32(raw) >>> 0;
    const fname = Buffer.from(name.replace(/^\/+/, ''), 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(fname.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x031e, 4); // made by unix, 3.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(fname.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attrs: regular file 0644
    central.writeUInt32LE(offset, 42);
    locals.push(local, fname, data);
    centrals.push(central, fname);
    offset += local.length + fname.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(names.length, 8);
  eocd.writeUInt16LE(names.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** A minimal zip reader (central directory; stored or deflated; no zip64). Directories omitted. */
export function readZip(zip: Buffer): Record<string, Buffer> {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory record)');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out: Record<string, Buffer> = {};
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(p + 10);
    const compSize = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const localOffset = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    if (compSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff) {
      throw new Error(`zip64 entry '${name}' not supported by the emulator's reader`);
    }
    if (name.endsWith('/')) continue;
    const lNameLen = zip.readUInt16LE(localOffset + 26);
    const lExtraLen = zip.readUInt16LE(localOffset + 28);
    const start = localOffset + 30 + lNameLen + lExtraLen;
    const data = zip.subarray(start, start + compSize);
    if (method === 0) out[name] = Buffer.from(data);
    else if (method === 8) out[name] = zlib.inflateRawSync(data);
    else throw new Error(`zip entry '${name}' uses unsupported method ${method}`);
  }
  return out;
}

// ---------------------------------------------------------------- the emulator

/** Start the emulated artifact backend and return a runner-like step environment pointed at it. */
export async function startActionsRuntime(options: StartActionsRuntimeOptions = {}): Promise<ActionsRuntime> {
  const repository = options.repository ?? 'nvidia-emulated/aicr-ci';
  const retentionDays = options.retentionDays ?? 90;
  const sasKey = randomBytes(32);
  const log: EmulatedRequest[] = [];

  const runs = new Map<number, RunRecord>(); // by numeric run id
  const runsByBackend = new Map<string, RunRecord>();
  const jobTokens = new Map<string, JobToken>(); // runtime token -> scope
  const restTokens = new Map<string, RestToken>();
  const artifacts: StoredArtifact[] = [];
  const blobs = new Map<string, BlobRecord>();
  let nextArtifactId = 4_000_000_000 + randomInt(1_000_000); // above 2^31 like today's ids
  const nextId = (): number => nextArtifactId++;

  function newRun(repo: string, runId?: number): RunRecord {
    const id = runId ?? 10_000_000_000 + randomInt(1_000_000_000);
    const existing = runs.get(id);
    if (existing) {
      if (existing.repository !== repo) throw new Error(`run ${id} already belongs to ${existing.repository}`);
      return existing;
    }
    const rec: RunRecord = { runId: id, repository: repo, backendId: randomUUID() };
    runs.set(id, rec);
    runsByBackend.set(rec.backendId, rec);
    return rec;
  }

  const current = newRun(repository);
  const firstJob = randomUUID();
  const runtimeToken = runtimeJwt(current.backendId, firstJob, current.runId);
  jobTokens.set(runtimeToken, { runBackendId: current.backendId, jobBackendId: firstJob });
  const githubToken = ghToken('ghs');
  restTokens.set(githubToken, { repositories: new Set([repository]), actions: 'write' });

  // ---- blob signing
  function sign(blobPath: string, sp: string, se: string): string {
    return createHmac('sha256', sasKey).update(`${blobPath}\n${sp}\n${se}`).digest('base64');
  }
  function signedUrl(blobPath: string, sp: 'cw' | 'r', ttlMs: number, extra: Record<string, string> = {}): string {
    const se = new Date(Date.now() + ttlMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const q = new URLSearchParams({ sv: '2025-01-05', sr: 'b', ...extra, se, sp, sig: sign(blobPath, sp, se) });
    return `${urls.blob}${blobPath}?${q.toString()}`;
  }
  function artifactBlobPath(runBackendId: string, jobBackendId: string, name: string, mimeType: string): string {
    const h = createHash('sha256').update(name).digest('hex').slice(0, 40);
    const ext = mimeType === 'application/zip' ? '.zip' : '';
    return `/${BLOB_ACCOUNT}/${BLOB_CONTAINER}/${runBackendId}/workflow-job-run-${jobBackendId}/artifacts/${h}${ext}`;
  }
  function downloadUrlFor(a: StoredArtifact): string {
    const extra: Record<string, string> = {};
    if (a.mimeType !== 'application/zip') {
      extra.rscd = `attachment; filename="${a.name.replace(/[^\x20-\x7e]|"/g, '_')}"; filename*=UTF-8''${encodeURIComponent(a.name)}`;
    }
    return signedUrl(a.blobPath, 'r', 60 * 60 * 1000, extra);
  }

  function makeArtifact(init: Omit<StoredArtifact, 'files'>): StoredArtifact {
    const a = init as StoredArtifact;
    a.files = () => {
      if (!a.bytes) throw new Error(`artifact '${a.name}' has no committed blob`);
      return readZip(a.bytes);
    };
    return a;
  }

  const isExpired = (a: StoredArtifact): boolean => a.expiresAt.getTime() <= Date.now();

  // ---------------------------------------------------------------- results (Twirp)
  function twirpScope(req: http.IncomingMessage): JobToken {
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/i.exec(auth);
    if (!m) throw new HttpError(401, 'unauthenticated', 'missing bearer token');
    const scope = jobTokens.get(m[1]!);
    if (!scope) throw new HttpError(401, 'unauthenticated', 'invalid runtime token');
    return scope;
  }
  function requireRun(scope: JobToken, body: Record<string, unknown>, checkJob: boolean): RunRecord {
    const runBackendId = String(body.workflow_run_backend_id ?? '');
    const jobBackendId = String(body.workflow_job_run_backend_id ?? '');
    if (!runBackendId || !jobBackendId) throw new HttpError(400, 'invalid_argument', 'workflow_run_backend_id and workflow_job_run_backend_id are required');
    if (runBackendId !== scope.runBackendId || (checkJob && jobBackendId !== scope.jobBackendId)) {
      throw new HttpError(403, 'permission_denied', 'token is not scoped to this workflow run/job');
    }
    const run = runsByBackend.get(runBackendId);
    if (!run) throw new HttpError(404, 'not_found', 'workflow run not found');
    return run;
  }
  const inRun = (run: RunRecord) => (a: StoredArtifact): boolean => a.workflowRunBackendId === run.backendId;
  function monolith(a: StoredArtifact): Record<string, unknown> {
    return {
      workflow_run_backend_id: a.workflowRunBackendId,
      workflow_job_run_backend_id: a.workflowJobRunBackendId,
      database_id: String(a.id),
      name: a.name,
      size: String(a.size),
      created_at: a.createdAt.toISOString(),
      ...(a.digest ? { digest: a.digest } : {}),
    };
  }

  const twirp: Record<string, (scope: JobToken, body: Record<string, unknown>) => Record<string, unknown>> = {
    CreateArtifact(scope, body) {
      const run = requireRun(scope, body, true);
      const name = String(body.name ?? '');
      if (!name) throw new HttpError(400, 'invalid_argument', 'name is required');
      const version = Number(body.version ?? 0);
      if (version < 4) throw new HttpError(400, 'invalid_argument', `unsupported artifact version ${version}`);
      if (artifacts.some((a) => inRun(run)(a) && a.name === name)) throw new HttpError(409, 'already_exists', ALREADY_EXISTS_MSG);
      const mimeType = typeof body.mime_type === 'string' && body.mime_type ? body.mime_type : 'application/zip';
      let expiresAt = new Date(Date.now() + retentionDays * 86_400_000);
      if (typeof body.expires_at === 'string') {
        const d = new Date(body.expires_at);
        if (Number.isNaN(d.getTime())) throw new HttpError(400, 'invalid_argument', 'expires_at is not a valid timestamp');
        expiresAt = d;
      }
      const blobPath = artifactBlobPath(run.backendId, scope.jobBackendId, name, mimeType);
      artifacts.push(
        makeArtifact({
          id: nextId(),
          name,
          runId: run.runId,
          repository: run.repository,
          workflowRunBackendId: run.backendId,
          workflowJobRunBackendId: scope.jobBackendId,
          finalized: false,
          size: 0,
          digest: undefined,
          mimeType,
          version,
          createdAt: new Date(),
          expiresAt,
          bytes: undefined,
          blobPath,
        }),
      );
      return { ok: true, signed_upload_url: signedUrl(blobPath, 'cw', 6 * 3600 * 1000) };
    },
    FinalizeArtifact(scope, body) {
      const run = requireRun(scope, body, true);
      const name = String(body.name ?? '');
      const a = artifacts.find((x) => inRun(run)(x) && x.name === name && x.workflowJobRunBackendId === scope.jobBackendId);
      if (!a) throw new HttpError(404, 'not_found', `artifact '${name}' was not created in this job`);
      if (a.finalized) throw new HttpError(409, 'already_exists', `artifact '${name}' is already finalized`);
      const blob = blobs.get(a.blobPath);
      if (!blob?.committed) throw new HttpError(412, 'failed_precondition', `artifact '${name}': no blob was committed at the signed upload URL`);
      const size = Number(body.size ?? 0);
      if (size !== blob.committed.length) {
        throw new HttpError(412, 'failed_precondition', `artifact '${name}': reported size ${size} != committed blob size ${blob.committed.length}`);
      }
      const actual = `sha256:${createHash('sha256').update(blob.committed).digest('hex')}`;
      if (typeof body.hash === 'string' && body.hash !== actual) {
        throw new HttpError(412, 'failed_precondition', `artifact '${name}': reported hash ${body.hash} != committed blob ${actual}`);
      }
      a.bytes = blob.committed;
      a.size = blob.committed.length;
      a.digest = typeof body.hash === 'string' ? body.hash : undefined;
      a.finalized = true;
      return { ok: true, artifact_id: String(a.id) };
    },
    ListArtifacts(scope, body) {
      const run = requireRun(scope, body, false);
      const nameFilter = typeof body.name_filter === 'string' ? body.name_filter : undefined;
      const idFilter = body.id_filter !== undefined ? String(body.id_filter) : undefined;
      const list = artifacts.filter(
        (a) => inRun(run)(a) && a.finalized && !isExpired(a) && (nameFilter === undefined || a.name === nameFilter) && (idFilter === undefined || String(a.id) === idFilter),
      );
      return { artifacts: list.map(monolith) };
    },
    GetSignedArtifactURL(scope, body) {
      const run = requireRun(scope, body, false);
      const name = String(body.name ?? '');
      const a = artifacts.find((x) => inRun(run)(x) && x.finalized && x.name === name && x.workflowJobRunBackendId === String(body.workflow_job_run_backend_id));
      if (!a || isExpired(a)) throw new HttpError(404, 'not_found', `artifact '${name}' not found`);
      return { signed_url: downloadUrlFor(a) };
    },
    DeleteArtifact(scope, body) {
      const run = requireRun(scope, body, false);
      const name = String(body.name ?? '');
      const i = artifacts.findIndex((x) => inRun(run)(x) && x.finalized && x.name === name && x.workflowJobRunBackendId === String(body.workflow_job_run_backend_id));
      if (i < 0) throw new HttpError(404, 'not_found', `artifact '${name}' not found`);
      const [a] = artifacts.splice(i, 1);
      blobs.delete(a!.blobPath);
      return { ok: true, artifact_id: String(a!.id) };
    },
  };

  async function handleResults(req: http.IncomingMessage, res: http.ServerResponse): Promise<number> {
    const send = (status: number, body: unknown): number => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return status;
    };
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      if (!url.pathname.startsWith(TWIRP_PREFIX)) throw new HttpError(404, 'bad_route', `no handler for path ${url.pathname}`);
      const method = url.pathname.slice(TWIRP_PREFIX.length);
      const fn = twirp[method];
      if (req.method !== 'POST' || !fn) throw new HttpError(404, 'bad_route', `no handler for ${req.method} ${url.pathname}`);
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
        throw new HttpError(404, 'bad_route', `unexpected Content-Type: ${req.headers['content-type'] ?? ''} (this emulator speaks Twirp JSON only)`);
      }
      const scope = twirpScope(req);
      const raw = await readBody(req);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        throw new HttpError(400, 'malformed', 'request body is not JSON');
      }
      return send(200, fn(scope, body));
    } catch (err) {
      if (err instanceof HttpError) return send(err.status, { code: err.code, msg: err.message });
      return send(500, { code: 'internal', msg: (err as Error).message });
    }
  }

  // ---------------------------------------------------------------- blob store
  function azureError(res: http.ServerResponse, status: number, code: string, message: string): number {
    res
      .writeHead(status, { 'content-type': 'application/xml', 'x-ms-error-code': code, 'x-ms-request-id': randomUUID(), 'x-ms-version': '2025-01-05' })
      .end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`);
    return status;
  }

  async function handleBlob(req: http.IncomingMessage, res: http.ServerResponse): Promise<number> {
    const url = new URL(req.url ?? '/', 'http://x');
    const blobPath = url.pathname;
    const q = url.searchParams;
    const sp = q.get('sp') ?? '';
    const se = q.get('se') ?? '';
    const sig = q.get('sig') ?? '';
    if (!sig || sig !== sign(blobPath, sp, se)) {
      return azureError(res, 403, 'AuthenticationFailed', 'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.');
    }
    if (!(new Date(se).getTime() > Date.now())) {
      return azureError(res, 403, 'AuthenticationFailed', 'Signed expiry time has to be after signed start time / the SAS has expired.');
    }
    const common = { 'x-ms-request-id': randomUUID(), 'x-ms-version': req.headers['x-ms-version']?.toString() ?? '2025-01-05', date: new Date().toUTCString() };

    if (req.method === 'PUT') {
      if (!sp.includes('w')) return azureError(res, 403, 'AuthorizationPermissionMismatch', 'This request is not authorized to perform this operation using this permission.');
      const body = await readBody(req);
      const comp = q.get('comp');
      let blob = blobs.get(blobPath);
      if (!blob) {
        blob = { blocks: new Map(), committed: undefined, contentType: undefined, etag: '', lastModified: new Date() };
        blobs.set(blobPath, blob);
      }
      if (comp === 'block') {
        const blockId = q.get('blockid');
        if (!blockId) return azureError(res, 400, 'InvalidQueryParameterValue', 'blockid is required');
        blob.blocks.set(blockId, body);
        res.writeHead(201, { ...common, 'x-ms-request-server-encrypted': 'true', 'content-length': '0' }).end();
        return 201;
      }
      if (comp === 'blocklist') {
        const xml = body.toString('utf8');
        const ids = [...xml.matchAll(/<(Latest|Uncommitted|Committed)>([^<]*)<\/\1>/g)].map((m) => m[2]!.trim());
        const parts: Buffer[] = [];
        for (const id of ids) {
          const block = blob.blocks.get(id);
          if (!block) return azureError(res, 400, 'InvalidBlockList', `The specified block list is invalid: block ${id} was not staged.`);
          parts.push(block);
        }
        blob.committed = Buffer.concat(parts);
        blob.blocks.clear();
        blob.contentType = req.headers['x-ms-blob-content-type']?.toString() ?? 'application/octet-stream';
        blob.etag = `"0x${randomBytes(8).toString('hex').toUpperCase()}"`;
        blob.lastModified = new Date();
        res
          .writeHead(201, { ...common, etag: blob.etag, 'last-modified': blob.lastModified.toUTCString(), 'x-ms-request-server-encrypted': 'true', 'content-length': '0' })
          .end();
        return 201;
      }
      if (!comp && /^BlockBlob$/i.test(req.headers['x-ms-blob-type']?.toString() ?? '')) {
        blob.committed = body;
        blob.blocks.clear();
        blob.contentType = req.headers['x-ms-blob-content-type']?.toString() ?? req.headers['content-type'] ?? 'application/octet-stream';
        blob.etag = `"0x${randomBytes(8).toString('hex').toUpperCase()}"`;
        blob.lastModified = new Date();
        res.writeHead(201, { ...common, etag: blob.etag, 'last-modified': blob.lastModified.toUTCString(), 'content-length': '0' }).end();
        return 201;
      }
      return azureError(res, 400, 'UnsupportedQueryParameter', `emulator does not support PUT comp=${comp ?? '(none)'}`);
    }

    if (req.method === 'GET' || req.method === 'HEAD') {
      if (!sp.includes('r')) return azureError(res, 403, 'AuthorizationPermissionMismatch', 'This request is not authorized to perform this operation using this permission.');
      const blob = blobs.get(blobPath);
      if (!blob?.committed) return azureError(res, 404, 'BlobNotFound', 'The specified blob does not exist.');
      const headers: Record<string, string> = {
        ...common,
        'content-type': q.get('rsct') ?? blob.contentType ?? 'application/octet-stream',
        'content-length': String(blob.committed.length),
        etag: blob.etag,
        'last-modified': blob.lastModified.toUTCString(),
        'x-ms-blob-type': 'BlockBlob',
        'accept-ranges': 'bytes',
      };
      const rscd = q.get('rscd');
      if (rscd) headers['content-disposition'] = rscd;
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : blob.committed);
      return 200;
    }
    return azureError(res, 405, 'UnsupportedHttpVerb', `The resource doesn't support specified Http Verb ${req.method}.`);
  }

  // ---------------------------------------------------------------- REST API
  function restArtifact(a: StoredArtifact): Record<string, unknown> {
    const base = `${urls.api}/repos/${a.repository}/actions/artifacts/${a.id}`;
    return {
      id: a.id,
      node_id: Buffer.from(`05:Artifact${a.id}`).toString('base64'),
      name: a.name,
      size_in_bytes: a.size,
      url: base,
      archive_download_url: `${base}/zip`,
      expired: isExpired(a),
      digest: a.digest ?? null,
      created_at: a.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      updated_at: a.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      expires_at: a.expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      workflow_run: { id: a.runId, repository_id: 1, head_repository_id: 1, head_branch: 'main', head_sha: '0'.repeat(40) },
    };
  }

  async function handleApi(req: http.IncomingMessage, res: http.ServerResponse): Promise<number> {
    const json = (status: number, body: unknown, extra: Record<string, string> = {}): number => {
      res
        .writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'x-github-request-id': randomUUID().toUpperCase(),
          'x-github-api-version-selected': '2022-11-28',
          ...extra,
        })
        .end(body === undefined ? undefined : JSON.stringify(body));
      return status;
    };
    const notFound = (doc = 'https://docs.github.com/rest'): number => json(404, { message: 'Not Found', documentation_url: doc, status: '404' });
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization ?? '';
    const m = /^(?:token|bearer) (.+)$/i.exec(auth);
    if (!m) return json(401, { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest', status: '401' });
    const tok = restTokens.get(m[1]!);
    if (!tok) return json(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });

    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    // repos/{owner}/{repo}/actions/...
    if (parts[0] !== 'repos' || parts.length < 5 || parts[3] !== 'actions') return notFound();
    const repo = `${parts[1]}/${parts[2]}`;
    if (![...tok.repositories].some((r) => r.toLowerCase() === repo.toLowerCase())) return notFound();
    const ofRepo = (a: StoredArtifact): boolean => a.repository.toLowerCase() === repo.toLowerCase() && a.finalized;

    // GET /repos/{o}/{r}/actions/runs/{run_id}/artifacts
    if (req.method === 'GET' && parts[4] === 'runs' && parts[6] === 'artifacts' && parts.length === 7) {
      const runId = Number(parts[5]);
      const run = runs.get(runId);
      if (!run || run.repository.toLowerCase() !== repo.toLowerCase()) {
        return notFound('https://docs.github.com/rest/actions/artifacts#list-workflow-run-artifacts');
      }
      const name = url.searchParams.get('name');
      const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
      const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
      const all = artifacts.filter((a) => ofRepo(a) && a.runId === runId && (name === null || a.name === name));
      const slice = all.slice((page - 1) * perPage, page * perPage);
      return json(200, { total_count: all.length, artifacts: slice.map(restArtifact) });
    }
    if (parts[4] === 'artifacts' && parts.length >= 6) {
      const id = Number(parts[5]);
      const a = artifacts.find((x) => ofRepo(x) && x.id === id);
      const doc = 'https://docs.github.com/rest/actions/artifacts';
      // GET /repos/{o}/{r}/actions/artifacts/{id}
      if (parts.length === 6 && req.method === 'GET') return a ? json(200, restArtifact(a)) : notFound(`${doc}#get-an-artifact`);
      // DELETE /repos/{o}/{r}/actions/artifacts/{id}
      if (parts.length === 6 && req.method === 'DELETE') {
        if (!a) return notFound(`${doc}#delete-an-artifact`);
        if (tok.actions !== 'write') return json(403, { message: 'Resource not accessible by personal access token', documentation_url: `${doc}#delete-an-artifact`, status: '403' });
        artifacts.splice(artifacts.indexOf(a), 1);
        blobs.delete(a.blobPath);
        return json(204, undefined);
      }
      // GET /repos/{o}/{r}/actions/artifacts/{id}/{archive_format}
      if (parts.length === 7 && req.method === 'GET') {
        if (!a || parts[6] !== 'zip') return notFound(`${doc}#download-an-artifact`);
        if (isExpired(a)) return json(410, { message: 'Artifact has expired', documentation_url: `${doc}#download-an-artifact`, status: '410' });
        res.writeHead(302, { location: downloadUrlFor(a), 'x-github-request-id': randomUUID().toUpperCase(), 'content-length': '0' }).end();
        return 302;
      }
    }
    return notFound();
  }

  // ---------------------------------------------------------------- servers
  function serve(service: EmulatedRequest['service'], handler: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<number>): http.Server {
    return http.createServer((req, res) => {
      handler(req, res).then(
        (status) => log.push({ service, method: req.method ?? '', url: req.url ?? '', status }),
        (err: unknown) => {
          log.push({ service, method: req.method ?? '', url: req.url ?? '', status: 500 });
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        },
      );
    });
  }
  const servers = [serve('results', handleResults), serve('blob', handleBlob), serve('api', handleApi)];
  const [resultsUrl, blobUrl, apiUrl] = await Promise.all(servers.map(listen));
  const urls = { results: resultsUrl!, blob: blobUrl!, api: apiUrl! };

  // ---------------------------------------------------------------- runner-like directories and env
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'actions-runtime-'));
  const repoName = repository.split('/')[1] ?? repository;
  const workspace = path.join(root, 'work', repoName, repoName);
  const runnerTemp = path.join(root, 'work', '_temp');
  const toolCache = path.join(root, 'hostedtoolcache');
  for (const d of [workspace, runnerTemp, toolCache, path.join(runnerTemp, '_github_workflow')]) fs.mkdirSync(d, { recursive: true });
  const eventPath = path.join(runnerTemp, '_github_workflow', 'event.json');
  fs.writeFileSync(eventPath, JSON.stringify({ inputs: {}, ref: 'refs/heads/main', repository: { full_name: repository, name: repoName, owner: { login: repository.split('/')[0] } }, workflow: '.github/workflows/ci.yml' }, null, 2));
  const sha = randomBytes(20).toString('hex');

  function envFor(token: string): Record<string, string> {
    const [owner] = repository.split('/');
    return {
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      ACTIONS_RUNTIME_TOKEN: token,
      ACTIONS_RUNTIME_URL: `${urls.results}/runtime/`,
      ACTIONS_RESULTS_URL: `${urls.results}/`,
      GITHUB_API_URL: urls.api,
      GITHUB_GRAPHQL_URL: `${urls.api}/graphql`,
      // Must stay github.com: @actions/artifact refuses to run when it looks like GHES.
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: repository,
      GITHUB_REPOSITORY_OWNER: owner ?? '',
      GITHUB_REPOSITORY_ID: '1',
      GITHUB_REPOSITORY_OWNER_ID: '1',
      GITHUB_RUN_ID: String(current.runId),
      GITHUB_RUN_NUMBER: '1',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_RETENTION_DAYS: String(retentionDays),
      GITHUB_WORKFLOW: 'CI',
      GITHUB_WORKFLOW_REF: `${repository}/.github/workflows/ci.yml@refs/heads/main`,
      GITHUB_WORKFLOW_SHA: sha,
      GITHUB_JOB: 'test',
      GITHUB_SHA: sha,
      GITHUB_REF: 'refs/heads/main',
      GITHUB_REF_NAME: 'main',
      GITHUB_REF_TYPE: 'branch',
      GITHUB_EVENT_NAME: 'workflow_dispatch',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_ACTOR: 'emulated-actor',
      GITHUB_ACTOR_ID: '1',
      GITHUB_TRIGGERING_ACTOR: 'emulated-actor',
      GITHUB_WORKSPACE: workspace,
      RUNNER_TEMP: runnerTemp,
      RUNNER_TOOL_CACHE: toolCache,
      RUNNER_WORKSPACE: path.dirname(workspace),
      RUNNER_OS: runnerOs(),
      RUNNER_ARCH: runnerArch(),
      RUNNER_NAME: 'GitHub Actions 1 (emulated)',
      RUNNER_ENVIRONMENT: 'github-hosted',
    };
  }

  const publicView = (a: StoredArtifact): EmulatedArtifact => a;

  return {
    env: envFor(runtimeToken),
    githubToken,
    run: { id: current.runId, repository, workflowRunBackendId: current.backendId, workflowJobRunBackendId: firstJob },
    urls,
    jobEnv() {
      const job = randomUUID();
      const token = runtimeJwt(current.backendId, job, current.runId);
      jobTokens.set(token, { runBackendId: current.backendId, jobBackendId: job });
      return envFor(token);
    },
    artifacts(filter = {}) {
      return artifacts
        .filter(
          (a) =>
            (filter.runId === undefined || a.runId === Number(filter.runId)) &&
            (filter.repository === undefined || a.repository.toLowerCase() === filter.repository.toLowerCase()) &&
            (filter.name === undefined || a.name === filter.name),
        )
        .map(publicView);
    },
    seedArtifact(opts) {
      const repo = opts.repository ?? repository;
      const run = newRun(repo, opts.runId === undefined ? undefined : Number(opts.runId));
      if (artifacts.some((a) => a.workflowRunBackendId === run.backendId && a.name === opts.name)) {
        throw new Error(`seedArtifact: ${ALREADY_EXISTS_MSG} (${opts.name} in run ${run.runId})`);
      }
      const bytes = makeZip(opts.files);
      const job = randomUUID();
      const blobPath = artifactBlobPath(run.backendId, job, opts.name, 'application/zip');
      blobs.set(blobPath, { blocks: new Map(), committed: bytes, contentType: 'application/zip', etag: `"0x${randomBytes(8).toString('hex').toUpperCase()}"`, lastModified: new Date() });
      const a = makeArtifact({
        id: nextId(),
        name: opts.name,
        runId: run.runId,
        repository: repo,
        workflowRunBackendId: run.backendId,
        workflowJobRunBackendId: job,
        finalized: true,
        size: bytes.length,
        digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
        mimeType: 'application/zip',
        version: 7,
        createdAt: new Date(),
        expiresAt: new Date(Date.now() + (opts.retentionDays ?? retentionDays) * 86_400_000),
        bytes,
        blobPath,
      });
      artifacts.push(a);
      return publicView(a);
    },
    issueToken(opts) {
      const t = ghToken('ghp');
      restTokens.set(t, { repositories: new Set(opts.repositories), actions: opts.actions ?? 'read' });
      return t;
    },
    requests: () => [...log],
    async close() {
      await Promise.all(servers.map(closeServer));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
