/**
 * setup stage (root action): install aicr from a release archive served on
 * loopback. The archive and checksums file are made here from the real aicr
 * binary, laid out as GoReleaser lays out NVIDIA/aicr releases; the HTTP
 * server stands in for github.com/NVIDIA/aicr/releases/download.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../src/core/fsutil.ts';
import { releasePlatform } from '../../src/stages/setup/index.ts';
import { AICR, aicrVersion, NO_AICR, tempDir } from '../helpers/env.ts';
import { runShellStage } from '../helpers/stage.ts';

const VERSION = '0.11.1';

interface Release {
  url: string;
  requests: string[];
  /** Replace the checksums file content. */
  setChecksums(text: string): void;
  archiveSha: string;
  archiveName: string;
  close(): Promise<void>;
}

async function serveRelease(): Promise<Release> {
  const dir = tempDir();
  const { os: goos, arch } = releasePlatform();
  const archiveName = `aicr_${VERSION}_${goos}_${arch}.tar.gz`;
  const stage = path.join(dir, 'stage');
  fs.mkdirSync(stage);
  fs.copyFileSync(AICR!, path.join(stage, 'aicr'));
  fs.chmodSync(path.join(stage, 'aicr'), 0o755);
  execFileSync('tar', ['-czf', path.join(dir, archiveName), '-C', stage, 'aicr']);
  const archive = fs.readFileSync(path.join(dir, archiveName));
  const archiveSha = sha256(archive);
  let checksums = `${'1'.repeat(64)}  aicr_${VERSION}_darwin_arm64.tar.gz\n${archiveSha}  ${archiveName}\n`;
  const requests: string[] = [];
  const srv = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === `/v${VERSION}/${archiveName}`) {
      res.writeHead(200, { 'content-type': 'application/gzip' });
      res.end(archive);
    } else if (req.url === `/v${VERSION}/aicr_checksums.txt`) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(checksums);
    } else {
      res.writeHead(404);
      res.end('Not Found');
    }
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    requests,
    setChecksums: (t) => {
      checksums = t;
    },
    archiveSha,
    archiveName,
    close: () => new Promise((r) => srv.close(() => r())),
  };
}

describe('setup stage against a release served on loopback (real aicr binary in the archive)', { skip: NO_AICR }, () => {
  let release: Release;
  before(async () => {
    release = await serveRelease();
  });
  after(async () => {
    await release.close();
  });
  /** A PATH without any aicr on it, so the PATH-reuse branch does not trigger. */
  const cleanPath = (): string => (process.env.PATH ?? '').split(':').filter((d) => !fs.existsSync(path.join(d, 'aicr'))).join(':');

  it('downloads, verifies, caches and reuses the cache for v1.2.3 and 1.2.3 alike', async () => {
    const cache = tempDir();
    const env = { RUNNER_TOOL_CACHE: cache, PATH: cleanPath() };
    const r = await runShellStage('setup', { version: `v${VERSION}`, 'download-base-url': release.url }, env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.outputs.version, VERSION);
    assert.equal(r.outputs['cache-hit'], 'false');
    assert.equal(r.outputs['aicr-path'], path.join(cache, 'aicr', VERSION, process.arch, 'aicr'));
    assert.deepEqual(fs.readFileSync(r.outputs['aicr-path']), fs.readFileSync(AICR!));
    assert.match(r.stderr, new RegExp(`${release.archiveName}: sha256 ${release.archiveSha} matches aicr_checksums.txt`));
    assert.match(r.stderr, /add to PATH: export PATH=/);
    const before = release.requests.length;
    const again = await runShellStage('setup', { version: VERSION, 'download-base-url': release.url }, env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.outputs['cache-hit'], 'cache');
    assert.equal(again.outputs['aicr-path'], r.outputs['aicr-path']);
    assert.equal(release.requests.length, before, 'no download the second time');
  });

  it('refuses an archive whose checksum does not match, before anything reaches the cache', async () => {
    const cache = tempDir();
    release.setChecksums(`${'f'.repeat(64)}  ${release.archiveName}\n`);
    try {
      const r = await runShellStage('setup', { version: VERSION, 'download-base-url': release.url }, { RUNNER_TOOL_CACHE: cache, PATH: cleanPath() });
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`${release.archiveName} failed its checksum: sha256 ${release.archiveSha}, aicr_checksums.txt says f{64}; nothing was extracted or cached`));
      assert.deepEqual(fs.readdirSync(cache), [], 'tool cache untouched');
      assert.equal(r.outputs['aicr-path'], undefined);
    } finally {
      release.setChecksums(`${release.archiveSha}  ${release.archiveName}\n`);
    }
  });

  it('refuses when the checksums file has no entry for the archive', async () => {
    release.setChecksums(`${'1'.repeat(64)}  something-else.tar.gz\n`);
    try {
      const cache = tempDir();
      const r = await runShellStage('setup', { version: VERSION, 'download-base-url': release.url }, { RUNNER_TOOL_CACHE: cache, PATH: cleanPath() });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /aicr_checksums.txt of v0.11.1 has no entry for aicr_0.11.1_/);
      assert.deepEqual(fs.readdirSync(cache), []);
    } finally {
      release.setChecksums(`${release.archiveSha}  ${release.archiveName}\n`);
    }
  });

  it('checks an explicit sha256 input against the release entry', async () => {
    const r = await runShellStage('setup', { version: VERSION, sha256: 'e'.repeat(64), 'download-base-url': release.url }, { RUNNER_TOOL_CACHE: tempDir(), PATH: cleanPath() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /input sha256 e{64} differs from the release checksums entry/);
  });

  it('says which URL failed when the version does not exist', async () => {
    const r = await runShellStage('setup', { version: '9.9.9', 'download-base-url': release.url }, { RUNNER_TOOL_CACHE: tempDir(), PATH: cleanPath() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot download http:\/\/127\.0\.0\.1:\d+\/v9\.9\.9\/aicr_checksums\.txt/);
  });

  it('reuses an aicr already on PATH when its version matches', { skip: aicrVersion().includes(` ${VERSION} `) ? false : 'the aicr under test does not report the pinned version' }, async () => {
    const r = await runShellStage('setup', { version: VERSION, 'download-base-url': 'http://127.0.0.1:9/unused' }, { PATH: `${path.dirname(AICR!)}:${process.env.PATH}`, RUNNER_TOOL_CACHE: tempDir() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.outputs['cache-hit'], 'path');
    assert.equal(r.outputs['aicr-path'], AICR);
  });

  it('rejects a version that is not a release version', async () => {
    const r = await runShellStage('setup', { version: 'latest' });
    assert.match(r.stderr, /input 'version': 'latest' is not a release version like v0.11.1/);
  });
});
