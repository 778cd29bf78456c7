/**
 * The fake cache service (v2), driven by the real @actions/cache client in-process: saveCache tars and
 * uploads a directory, restoreCache looks it up, downloads and extracts it.
 */
import { restoreCache, saveCache } from '@actions/cache';
import { BlockBlobClient } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFailed, vi } from 'vitest';
import { CacheService } from './cache-service.ts';
import type { CacheEnvOptions } from './cache-service.ts';

const ENV_KEYS = [
  'ACTIONS_CACHE_SERVICE_V2',
  'ACTIONS_RESULTS_URL',
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_CACHE_URL',
  'ACTIONS_CACHE_MODE',
  'GITHUB_REF',
  'GITHUB_BASE_REF',
  'GITHUB_SERVER_URL',
  'GITHUB_WORKSPACE',
  'RUNNER_TEMP',
  'SEGMENT_DOWNLOAD_TIMEOUT_MINS',
  'CACHE_UPLOAD_CONCURRENCY',
  'CACHE_UPLOAD_CHUNK_SIZE',
];
const TWIRP = '/twirp/github.actions.results.api.v1.CacheService/';

let service: CacheService;
let root: string;
let cached: string;
let files: Map<string, Buffer>;
const savedEnv: Record<string, string | undefined> = {};
let clientLog = '';

beforeAll(() => {
  // @actions/core logs (and warns, as ::warning:: commands) on stdout: keep it, show it on failure.
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    clientLog += String(chunk);
    return true;
  });
});

afterAll(() => {
  vi.restoreAllMocks();
});

beforeEach(async () => {
  clientLog = '';
  onTestFailed(() => {
    process.stderr.write(`--- @actions/cache log ---\n${clientLog}`);
  });
  root = await mkdtemp(join(tmpdir(), 'cache-service-'));
  cached = join(root, 'workspace', 'cached');
  files = new Map([
    ['notes.txt', Buffer.from('a small text file\n')],
    ['audio/track.bin', randomBytes(300_000)],
  ]);
  await writeFiles(files);
  await mkdir(join(root, 'runner-temp'));
  service = await CacheService.start();
  for (const key of ENV_KEYS) savedEnv[key] = process.env[key];
  for (const key of ENV_KEYS) delete process.env[key];
  // Without RUNNER_TEMP the client makes its archives under /home/actions/temp.
  process.env['RUNNER_TEMP'] = join(root, 'runner-temp');
  process.env['GITHUB_WORKSPACE'] = join(root, 'workspace');
  useRef();
});

afterEach(async () => {
  for (const key of ENV_KEYS) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
  await service.close();
  await rm(root, { recursive: true, force: true });
});

async function writeFiles(contents: Map<string, Buffer>): Promise<void> {
  await rm(cached, { recursive: true, force: true });
  for (const [name, bytes] of contents) {
    await mkdir(join(cached, name, '..'), { recursive: true });
    await writeFile(join(cached, name), bytes);
  }
}

/** Every file under `cached`, by relative path. */
async function readCached(): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  for (const entry of await readdir(cached, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) {
      const full = join(entry.parentPath, entry.name);
      found.set(full.slice(cached.length + 1), await readFile(full));
    }
  return found;
}

function useRef(options: CacheEnvOptions = {}): void {
  delete process.env['GITHUB_BASE_REF'];
  Object.assign(process.env, service.env(options));
}

const warnings = () => clientLog.split('\n').filter((line) => line.startsWith('::warning::'));

describe('the real @actions/cache against the fake', () => {
  it('saves a directory and restores it into an emptied one, byte for byte', async () => {
    const id = await saveCache([cached], 'deps-linux-abc');
    expect(id).toBeGreaterThan(0);
    const [entry] = service.entries();
    expect(entry).toMatchObject({ id, key: 'deps-linux-abc', scope: 'refs/heads/main', finalized: true });
    expect(service.calls.map((call) => call.method)).toEqual([
      'CreateCacheEntry',
      'PutBlob',
      'FinalizeCacheEntryUpload',
    ]);

    await rm(cached, { recursive: true });
    await mkdir(cached);
    expect(await restoreCache([cached], 'deps-linux-abc')).toBe('deps-linux-abc');
    expect(await readCached()).toEqual(files);
    expect(warnings()).toEqual([]);
  });

  it('alterArchive changes what an entry holds, and the client restores the changed bytes', async () => {
    await saveCache([cached], 'deps-linux-abc');
    const original = files.get('notes.txt')!;
    service.alterArchive('deps-linux-abc', (tar) => {
      const at = tar.indexOf(original);
      expect(at).toBeGreaterThanOrEqual(0);
      const changed = Buffer.from(tar);
      changed.write('A', at);
      return changed;
    });
    await rm(cached, { recursive: true });
    expect(await restoreCache([cached], 'deps-linux-abc')).toBe('deps-linux-abc');
    const restored = await readCached();
    expect(restored.get('notes.txt')!.toString()).toBe('A small text file\n');
    expect(restored.get('audio/track.bin')).toEqual(files.get('audio/track.bin'));
  });

  it('misses on another key, and on the same key with other paths (another version)', async () => {
    await saveCache([cached], 'deps-linux-abc');
    expect(await restoreCache([cached], 'deps-linux-xyz')).toBeUndefined();
    expect(await restoreCache([cached, join(root, 'other')], 'deps-linux-abc')).toBeUndefined();
    expect(service.calls.filter((call) => call.method === 'GetCacheEntryDownloadURL')).toHaveLength(2);
    expect(warnings()).toEqual([]);
  });

  it('falls back to the newest entry a restore key prefixes', async () => {
    await saveCache([cached], 'deps-linux-aaa');
    const newer = new Map([['newer.txt', Buffer.from('the newer one\n')]]);
    await writeFiles(newer);
    await saveCache([cached], 'deps-linux-bbb');
    await saveCache([cached], 'deps-macos-ccc');

    await rm(cached, { recursive: true });
    expect(await restoreCache([cached], 'deps-linux-zzz', ['deps-windows-', 'deps-linux-'])).toBe(
      'deps-linux-bbb',
    );
    expect(await readCached()).toEqual(newer);
    expect(clientLog).toContain('Cache hit for restore-key: deps-linux-bbb');
    // The primary key is tried as a prefix too, before the restore keys.
    expect(await restoreCache([cached], 'deps-linux-a', ['deps-'])).toBe('deps-linux-aaa');
  });

  it('keeps a key immutable: a second save of it is refused with a 409 and logged, not thrown', async () => {
    const first = await saveCache([cached], 'deps-linux-abc');
    await writeFiles(new Map([['changed.txt', Buffer.from('changed\n')]]));
    clientLog = '';
    expect(await saveCache([cached], 'deps-linux-abc')).toBe(-1);
    expect(service.calls.at(-1)).toMatchObject({ method: 'CreateCacheEntry', status: 409 });
    // @actions/cache 6.2.0: a failed reservation becomes ReserveCacheError, caught and logged at info.
    expect(clientLog).toContain(
      'Failed to save: Unable to reserve cache with key deps-linux-abc, another job may be creating this cache.',
    );
    expect(warnings()).toEqual([]);
    expect(service.entries()).toHaveLength(1);
    expect(service.entries()[0]!.id).toBe(first);

    await rm(cached, { recursive: true });
    await restoreCache([cached], 'deps-linux-abc');
    expect(await readCached()).toEqual(files);
  });

  it('scopes by ref: main is readable from a pull request, a pull request is not readable from main', async () => {
    await saveCache([cached], 'from-main');
    useRef({ ref: 'refs/pull/7/merge', baseRef: 'refs/heads/main' });
    expect(process.env['GITHUB_BASE_REF']).toBe('main');
    await saveCache([cached], 'from-pr');
    expect(service.entries().map((entry) => [entry.key, entry.scope])).toEqual([
      ['from-main', 'refs/heads/main'],
      ['from-pr', 'refs/pull/7/merge'],
    ]);
    expect(await restoreCache([cached], 'from-main', [], { lookupOnly: true })).toBe('from-main');
    expect(await restoreCache([cached], 'from-pr', [], { lookupOnly: true })).toBe('from-pr');
    // The same key saved on the pull request's ref is its own entry, and the PR's scope comes first.
    await saveCache([cached], 'from-main');
    expect(service.entries()).toHaveLength(3);

    useRef({ ref: 'refs/heads/main' });
    expect(await restoreCache([cached], 'from-pr', ['from-'], { lookupOnly: true })).toBe('from-main');
    expect(await restoreCache([cached], 'from-pr', [], { lookupOnly: true })).toBeUndefined();
    // Another branch reads main but not the pull request.
    useRef({ ref: 'refs/heads/feature' });
    expect(await restoreCache([cached], 'from-', [], { lookupOnly: true })).toBe('from-main');
  });

  it('refuses a bad token and a tampered signed URL', async () => {
    const body = JSON.stringify({ key: 'k', version: 'v' });
    const headers = { 'content-type': 'application/json', authorization: 'Bearer not.a.token' };
    const refused = await fetch(`${service.url}${TWIRP}CreateCacheEntry`, { method: 'POST', headers, body });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ code: 'unauthenticated' });

    headers.authorization = `Bearer ${service.token()}`;
    const created = (await (
      await fetch(`${service.url}${TWIRP}CreateCacheEntry`, { method: 'POST', headers, body })
    ).json()) as { ok: boolean; signed_upload_url: string };
    expect(created.ok).toBe(true);
    const tampered = created.signed_upload_url.replace('sp=cw', 'sp=rcw');
    const put = await fetch(tampered, {
      method: 'PUT',
      headers: { 'x-ms-blob-type': 'BlockBlob' },
      body: 'x',
    });
    expect(put.status).toBe(403);
    expect(put.headers.get('x-ms-error-code')).toBe('AuthenticationFailed');
  });

  it("serves the Azure SDK's block upload and ranged download, the path real blob hosts get", async () => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${service.token()}` };
    const twirp = async (method: string, body: unknown) =>
      (await (
        await fetch(`${service.url}${TWIRP}${method}`, {
          method: 'POST',
          headers,
          body: JSON.stringify(body),
        })
      ).json()) as Record<string, string>;
    const { signed_upload_url } = await twirp('CreateCacheEntry', { key: 'blocks', version: 'v1' });
    const data = randomBytes(10_000);
    await new BlockBlobClient(signed_upload_url!).uploadData(data, {
      maxSingleShotSize: 4096,
      blockSize: 4096,
    });
    expect(service.calls.filter((call) => call.method === 'PutBlock')).toHaveLength(3);
    const finalized = await twirp('FinalizeCacheEntryUpload', {
      key: 'blocks',
      version: 'v1',
      size_bytes: '10000',
    });
    expect(finalized).toEqual({ ok: true, entry_id: '1' });

    const found = await twirp('GetCacheEntryDownloadURL', { key: 'blo', restore_keys: [], version: 'v1' });
    expect(found['matched_key']).toBe('blocks');
    const client = new BlockBlobClient(found['signed_download_url']!);
    expect(await client.downloadToBuffer(0, undefined, { blockSize: 3000 })).toEqual(data);
    expect(service.calls.filter((call) => call.method === 'GetBlob').length).toBeGreaterThan(1);
    expect(await twirp('GetCacheEntryDownloadURL', { key: 'blocks', version: 'v2' })).toEqual({ ok: false });
  });
});

describe('faults', () => {
  it('down (connection refused): restore resolves undefined and save returns -1, both at once, with a warning', async () => {
    await saveCache([cached], 'deps-linux-abc');
    service.inject({ kind: 'down' });
    clientLog = '';
    const started = Date.now();
    expect(await restoreCache([cached], 'deps-linux-abc')).toBeUndefined();
    expect(warnings().join('\n')).toContain(
      'Failed to restore: Failed to GetCacheEntryDownloadURL: Unable to make request: ECONNREFUSED',
    );
    // NetworkError is not retried, and the reservation failure is logged at info, not warned.
    expect(await saveCache([cached], 'deps-linux-def')).toBe(-1);
    expect(clientLog).toContain('Failed to save: Unable to reserve cache with key deps-linux-def');
    expect(Date.now() - started).toBeLessThan(3000);

    await service.clearFaults();
    expect(await restoreCache([cached], 'deps-linux-abc', [], { lookupOnly: true })).toBe('deps-linux-abc');
  });

  it('500 on every call: the Twirp client tries 5 times (~25-35 s of back-off), then restore resolves undefined', async () => {
    service.inject({ kind: 'status', status: 500 });
    const realSetTimeout = globalThis.setTimeout;
    // Only the back-off sleeps are timers worth skipping; sockets and child processes run for real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let settled = false;
      const restored = restoreCache([cached], 'deps-linux-abc').finally(() => (settled = true));
      const deadline = Date.now() + 8000;
      let skipped = 0;
      while (!settled && Date.now() < deadline) {
        // Let the real work (zstd --version, the HTTP round trip) reach its next sleep, then skip it.
        await new Promise((resolve) => realSetTimeout(resolve, 20));
        await vi.advanceTimersByTimeAsync(1000);
        skipped += 1000;
      }
      expect(settled).toBe(true);
      expect(await restored).toBeUndefined();
      expect(skipped).toBeGreaterThan(20_000);
    } finally {
      vi.useRealTimers();
    }
    expect(service.calls.map((call) => [call.method, call.status])).toEqual(
      Array.from({ length: 5 }, () => ['GetCacheEntryDownloadURL', 500]),
    );
    expect(warnings().join('\n')).toContain(
      'Failed to restore: Failed to GetCacheEntryDownloadURL: Failed to make request after 5 attempts: Failed request: (500) Internal Server Error: injected 500 fault',
    );
  });

  it('hang: the client has no timeout of its own on Twirp calls, so restore waits until the connection drops', async () => {
    service.inject({ kind: 'hang', method: 'GetCacheEntryDownloadURL' });
    let settled = false;
    const restored = restoreCache([cached], 'deps-linux-abc').finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(settled).toBe(false);
    await service.clearFaults();
    expect(await restored).toBeUndefined();
    expect(warnings().join('\n')).toContain('Unable to make request: ECONNRESET');
  });
});
