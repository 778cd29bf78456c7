/**
 * The fake results service, driven by the real @actions/artifact client: if the client accepts the
 * fake's answers and the fake accepts the client's requests, tests of the action can trust both.
 */
import { DefaultArtifactClient } from '@actions/artifact';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFailed, vi } from 'vitest';
import { ResultsService, readZip } from './results-service.ts';

const ENV_KEYS = [
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_RESULTS_URL',
  'GITHUB_SERVER_URL',
  'GITHUB_RETENTION_DAYS',
];
const TWIRP = '/twirp/github.actions.results.api.v1.ArtifactService/';
const MiB = 1024 * 1024;

let service: ResultsService;
let root: string;
let files: Map<string, Buffer>;
const savedEnv: Record<string, string | undefined> = {};
let clientLog = '';

beforeAll(async () => {
  // The client logs every step through @actions/core to stdout: keep it, show it only on failure. The
  // spy stays for the whole file because a failed upload's zip stream can still log after its test.
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    clientLog += String(chunk);
    return true;
  });
  root = await mkdtemp(join(tmpdir(), 'results-service-'));
  // Random bytes do not compress, so the zip is over the client's 8 MiB chunk: two blocks at least.
  files = new Map([
    ['notes.txt', Buffer.from('a small text file\n')],
    ['audio/track.bin', randomBytes(9 * MiB + 12_345)],
  ]);
  for (const [name, bytes] of files) {
    await mkdir(join(root, name, '..'), { recursive: true });
    await writeFile(join(root, name), bytes);
  }
});

afterAll(async () => {
  vi.restoreAllMocks();
  await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  clientLog = '';
  onTestFailed(() => {
    process.stderr.write(`--- @actions/artifact log ---\n${clientLog}`);
  });
  service = await ResultsService.start();
  for (const key of ENV_KEYS) savedEnv[key] = process.env[key];
  // A runner's retention cap or GHES server URL would change what the client sends.
  delete process.env['GITHUB_SERVER_URL'];
  delete process.env['GITHUB_RETENTION_DAYS'];
  Object.assign(process.env, service.env());
});

afterEach(async () => {
  for (const key of ENV_KEYS) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
  await service.close();
});

function upload(name: string, options: { retentionDays?: number } = {}) {
  const paths = [...files.keys()].map((file) => join(root, file));
  return new DefaultArtifactClient().uploadArtifact(name, paths, root, options);
}

async function twirp(method: string, body: unknown, token = service.runtimeToken) {
  const response = await fetch(`${service.url}${TWIRP}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function ids() {
  return { workflow_run_backend_id: service.runId, workflow_job_run_backend_id: service.jobId };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('ResultsService with the real @actions/artifact client', () => {
  it('stores the zip the client uploads, in block-list order, and reports the same id, size and digest', async () => {
    const result = await upload('kling-audio');

    const stored = service.artifactByName('kling-audio')!;
    expect(stored).toMatchObject({ runId: service.runId, jobId: service.jobId, mimeType: 'application/zip' });
    expect(stored.version).toBe(7);
    expect(result).toEqual({ id: stored.id, size: stored.size, digest: stored.sha256 });
    expect(stored.size).toBe(stored.blob.length);
    expect(stored.sha256).toBe(sha256(stored.blob));

    const entries = await readZip(stored.blob);
    expect([...entries.keys()].sort()).toEqual([...files.keys()].sort());
    for (const [name, bytes] of files) expect(entries.get(name)!.equals(bytes)).toBe(true);

    const blocks = service.calls.filter((call) => call.method === 'UploadBlock');
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    expect(blocks.every((call) => call.status === 201)).toBe(true);
    expect(service.calls.map((call) => call.method)).toEqual([
      'CreateArtifact',
      ...blocks.map(() => 'UploadBlock'),
      'CommitBlockList',
      'FinalizeArtifact',
    ]);
    const create = service.calls[0]!.body as Record<string, unknown>;
    expect(create).toEqual({ ...ids(), name: 'kling-audio', mime_type: 'application/zip', version: 7 });
  });

  it('lists, gets and downloads what was uploaded, with a matching digest', async () => {
    const result = await upload('listed');
    const client = new DefaultArtifactClient();

    const { artifacts } = await client.listArtifacts();
    expect(artifacts).toEqual([
      expect.objectContaining({
        id: result.id,
        name: 'listed',
        size: result.size,
        digest: `sha256:${result.digest}`,
      }),
    ]);
    expect((await client.getArtifact('listed')).artifact.id).toBe(result.id);

    const target = await mkdtemp(join(tmpdir(), 'results-download-'));
    try {
      const downloaded = await client.downloadArtifact(result.id!, {
        path: target,
        expectedHash: `sha256:${result.digest}`,
      });
      expect(downloaded.digestMismatch).toBe(false);
      for (const [name, bytes] of files)
        expect((await readFile(join(target, name))).equals(bytes)).toBe(true);
    } finally {
      await rm(target, { recursive: true, force: true });
    }
  });

  it('answers 409 already_exists for a second live artifact of the same name', async () => {
    await upload('twice');
    await expect(upload('twice')).rejects.toThrow(
      'Failed to CreateArtifact: Received non-retryable error: Failed request: (409) Conflict: ' +
        'an artifact with this name already exists on the workflow run',
    );
    expect(service.calls.at(-1)).toMatchObject({ method: 'CreateArtifact', status: 409 });
  });

  it('deletes an artifact so the name can be uploaded again under a new id', async () => {
    const first = await upload('replace-me');
    const deleted = await new DefaultArtifactClient().deleteArtifact('replace-me');
    expect(deleted.id).toBe(first.id);
    expect(service.artifacts.find((artifact) => artifact.id === first.id)!.deleted).toBe(true);
    expect(service.artifactByName('replace-me')).toBeUndefined();

    const second = await upload('replace-me');
    expect(second.id).toBeGreaterThan(first.id!);
    expect(service.artifactByName('replace-me')!.id).toBe(second.id);
    expect(service.artifacts).toHaveLength(2);
  });

  it('makes the client throw ArtifactNotFoundError when deleting an unknown name (from an empty list)', async () => {
    await expect(new DefaultArtifactClient().deleteArtifact('missing')).rejects.toMatchObject({
      name: 'ArtifactNotFoundError',
    });
    // The client never sends DeleteArtifact for a name ListArtifacts did not return.
    expect(service.calls.map((call) => call.method)).toEqual(['ListArtifacts']);
  });

  it('records expires_at from retention days', async () => {
    const before = Date.now();
    await upload('retained', { retentionDays: 3 });
    const expiresAt = Date.parse(service.artifactByName('retained')!.expiresAt!);
    const threeDays = 3 * 24 * 60 * 60 * 1000;
    // setDate(+3) crosses a DST change in some time zones, hence the hour of slack.
    expect(Math.abs(expiresAt - before - threeDays)).toBeLessThan(60 * 60 * 1000 + 5000);
  });

  it('rejects an upload when CreateArtifact answers an injected 400, once', async () => {
    service.inject({
      method: 'CreateArtifact',
      status: 400,
      body: { code: 'invalid_argument', msg: 'bad name' },
    });
    await expect(upload('faulty')).rejects.toThrow('(400) Bad Request: bad name');
    expect(service.artifacts).toHaveLength(0);
    await expect(upload('faulty')).resolves.toMatchObject({ id: 1 });
  });

  it('lets the client retry a single 503 on CreateArtifact (its backoff waits about 3 s)', async () => {
    service.inject({ method: 'CreateArtifact', status: 503 });
    await expect(upload('retried')).resolves.toMatchObject({ id: 1 });
    expect(
      service.calls.filter((call) => call.method === 'CreateArtifact').map((call) => call.status),
    ).toEqual([503, 200]);
  });

  it('stores a single file unzipped, with its MIME type, when skipArchive is set', async () => {
    const track = join(root, 'track.mp3');
    const bytes = randomBytes(64 * 1024);
    await writeFile(track, bytes);
    const result = await new DefaultArtifactClient().uploadArtifact('ignored', [track], root, {
      skipArchive: true,
    });
    // The artifact takes the file's name; the blob is the file itself.
    const stored = service.artifactByName('track.mp3')!;
    expect(result).toEqual({ id: stored.id, size: bytes.length, digest: sha256(bytes) });
    expect(stored.mimeType).toBe('audio/mpeg');
    expect(stored.blob.equals(bytes)).toBe(true);
    await rm(track);
  });

  it('surfaces a blob storage 403 from an injected UploadBlock fault', async () => {
    service.inject({ method: 'UploadBlock', status: 403, times: 5 });
    await expect(upload('blocked')).rejects.toThrow(/injected 403 fault on UploadBlock/);
    expect(service.artifacts).toHaveLength(0);
    // The client leaves its zip stream running after a failed upload; it must finish reading the
    // files before afterAll deletes them, or archiver throws ENOENT outside any test.
    await vi.waitFor(() => expect(clientLog).toContain('Zip stream for upload has ended.'), {
      timeout: 10_000,
    });
  });
});

describe('ResultsService checks requests itself', () => {
  /** CreateArtifact, then stage blocks in the given order and commit them in block-list order. */
  async function stageAndCommit(name: string, parts: Buffer[], stageOrder: number[]) {
    const created = await twirp('CreateArtifact', {
      ...ids(),
      name,
      mime_type: 'application/zip',
      version: 7,
    });
    expect(created.status).toBe(200);
    const signedUrl = created.body['signed_upload_url'] as string;
    const blockIds = parts.map((_, index) =>
      Buffer.from(`block-${String(index).padStart(6, '0')}`).toString('base64'),
    );
    for (const index of stageOrder) {
      const response = await fetch(
        `${signedUrl}&comp=block&blockid=${encodeURIComponent(blockIds[index]!)}`,
        {
          method: 'PUT',
          body: parts[index]!,
        },
      );
      expect(response.status).toBe(201);
    }
    const list = `<?xml version="1.0" encoding="UTF-8"?><BlockList>${blockIds.map((id) => `<Latest>${id}</Latest>`).join('')}</BlockList>`;
    const committed = await fetch(`${signedUrl}&comp=blocklist`, {
      method: 'PUT',
      headers: { 'x-ms-blob-content-type': 'application/zip' },
      body: list,
    });
    expect(committed.status).toBe(201);
    return signedUrl;
  }

  it('concatenates blocks in block-list order, not arrival order', async () => {
    const parts = [Buffer.from('first-'), Buffer.from('second-'), Buffer.from('third')];
    await stageAndCommit('ordered', parts, [2, 0, 1]);
    const blob = Buffer.concat(parts);
    const finalized = await twirp('FinalizeArtifact', {
      ...ids(),
      name: 'ordered',
      size: String(blob.length),
      hash: `sha256:${sha256(blob)}`,
    });
    expect(finalized).toEqual({ status: 200, body: { ok: true, artifact_id: '1' } });
    expect(service.artifactByName('ordered')!.blob.toString()).toBe('first-second-third');
  });

  it('rejects FinalizeArtifact whose size or hash does not match the committed blob', async () => {
    const blob = Buffer.from('committed bytes');
    await stageAndCommit('checked', [blob], [0]);
    const wrongSize = await twirp('FinalizeArtifact', {
      ...ids(),
      name: 'checked',
      size: String(blob.length + 1),
      hash: `sha256:${sha256(blob)}`,
    });
    expect(wrongSize.status).toBe(400);
    expect(wrongSize.body).toMatchObject({ code: 'invalid_argument', msg: expect.stringContaining('size') });
    const wrongHash = await twirp('FinalizeArtifact', {
      ...ids(),
      name: 'checked',
      size: String(blob.length),
      hash: `sha256:${sha256(Buffer.from('other bytes'))}`,
    });
    expect(wrongHash.status).toBe(400);
    expect(wrongHash.body).toMatchObject({ code: 'invalid_argument', msg: expect.stringContaining('hash') });
    expect(service.artifacts).toHaveLength(0);
  });

  it('checks the bearer token and the backend ids against the token', async () => {
    const body = { ...ids(), name: 'x', version: 7 };
    expect((await twirp('CreateArtifact', body, 'not-the-token')).status).toBe(401);
    const otherRun = await twirp('CreateArtifact', { ...body, workflow_run_backend_id: '1' });
    expect(otherRun).toMatchObject({ status: 403, body: { code: 'permission_denied' } });
    const camelCase = await twirp('CreateArtifact', { workflowRunBackendId: service.runId, name: 'x' });
    expect(camelCase.status).toBe(400);
  });

  it('rejects a blob request whose signature was tampered with', async () => {
    const created = await twirp('CreateArtifact', { ...ids(), name: 'sig', mime_type: 'application/zip' });
    const url = new URL(created.body['signed_upload_url'] as string);
    expect(url.pathname.split('/').filter(Boolean).length).toBeGreaterThanOrEqual(3);
    url.searchParams.set('sig', 'forged');
    url.searchParams.set('comp', 'block');
    url.searchParams.set('blockid', Buffer.from('b').toString('base64'));
    const response = await fetch(url, { method: 'PUT', body: 'data' });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-ms-error-code')).toBe('AuthenticationFailed');
  });

  it('answers 404 not_found JSON to DeleteArtifact for an unknown name', async () => {
    const response = await twirp('DeleteArtifact', { ...ids(), name: 'nothing' });
    expect(response).toMatchObject({ status: 404, body: { code: 'not_found' } });
  });

  it('answers JSON even for unknown routes', async () => {
    const response = await twirp('NoSuchMethod', {});
    expect(response).toMatchObject({ status: 404, body: { code: 'bad_route' } });
  });
});
