// The S3 client against the object-store emulator over real HTTP: every request is signed by
// aws4fetch and checked by the emulator's own SigV4 implementation.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { FetchLike } from '../../src/net/http.ts';
import { DeadlineError } from '../../src/net/http.ts';
import { policy } from '../../src/policy.ts';
import type { Credentials } from '../../src/s3/credentials.ts';
import { S3Client, type S3ClientOptions } from '../../src/s3/client.ts';
import { StoreError } from '../../src/s3/errors.ts';
import { stageFile } from '../../src/s3/stage.ts';
import { CancelledError, type Log } from '../../src/runtime.ts';
import { ObjectStore, TEST_KEY, type ObjectStoreOptions, type StoreKey } from '../emulator/object-store.ts';

const dir = mkdtempSync(path.join(tmpdir(), 's3-client-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const stores: ObjectStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

function file(name: string, bytes: Buffer | string): string {
  const at = path.join(dir, name);
  writeFileSync(at, bytes);
  return at;
}

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

interface Harness {
  store: ObjectStore;
  client: S3Client;
  masked: string[];
  warnings: string[];
  sleeps: number[];
  deadline: number;
}

async function harness(
  options: {
    store?: ObjectStoreOptions;
    credentials?: Credentials;
    region?: string;
    bucket?: string;
    clockOffsetMs?: number;
    client?: Partial<S3ClientOptions>;
  } = {},
): Promise<Harness> {
  const store = await ObjectStore.start(options.store);
  stores.push(store);
  const masked: string[] = [];
  const warnings: string[] = [];
  const sleeps: number[] = [];
  const log: Log = { info: () => {}, debug: () => {}, warning: (m) => warnings.push(m) };
  const client = new S3Client({
    fetch,
    address: {
      bucket: options.bucket ?? 'staging',
      region: options.region ?? 'us-east-1',
      endpoint: store.url,
    },
    credentials: options.credentials ?? TEST_KEY,
    mask: (s) => masked.push(s),
    userAgent: 'kling-test',
    limits: policy.staging,
    clock: { now: () => Date.now() + (options.clockOffsetMs ?? 0) },
    sleep: (ms) => (sleeps.push(ms), Promise.resolve()),
    random: () => 0.5,
    log,
    schedule: policy.retry.schedule,
    ...options.client,
  });
  return {
    store,
    client,
    masked,
    warnings,
    sleeps,
    deadline: Date.now() + (options.clockOffsetMs ?? 0) + 60_000,
  };
}

/** The StoreError a call fails with. */
async function refusal(work: Promise<unknown>): Promise<StoreError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreError);
  return error as StoreError;
}

const VIDEO = Buffer.concat([Buffer.from('\0\0\0\x20ftypisom', 'latin1'), Buffer.alloc(200_000, 7)]);

describe('putObject', () => {
  it('streams the file with its Content-Length and Content-Type, the digest signed when given', async () => {
    const h = await harness();
    const at = file('v.mp4', VIDEO);
    const result = await h.client.putObject(
      'kling/abc.mp4',
      { path: at, contentType: 'video/mp4', sha256: sha256(VIDEO) },
      h.deadline,
    );
    expect(result).toEqual({ size: VIDEO.length, etag: h.store.object('staging', 'kling/abc.mp4')!.etag });
    expect(h.store.object('staging', 'kling/abc.mp4')).toMatchObject({
      body: VIDEO,
      contentType: 'video/mp4',
    });
    const [put] = h.store.requests;
    expect(put).toMatchObject({ method: 'PUT', auth: 'header', status: 200, bytesReceived: VIDEO.length });
    expect(put!.headers['content-length']).toBe(String(VIDEO.length));
    expect(put!.headers['x-amz-content-sha256']).toBe(sha256(VIDEO));
    expect(put!.headers['user-agent']).toBe('kling-test');
  });

  it('sends UNSIGNED-PAYLOAD without a digest, and uploads an empty file', async () => {
    const h = await harness();
    await h.client.putObject(
      "r/it's 100% (a+b).mp4",
      { path: file('a.mp4', VIDEO), contentType: 'video/mp4' },
      h.deadline,
    );
    expect(h.store.keys('staging')).toEqual(["r/it's 100% (a+b).mp4"]);
    await h.client.putObject(
      'empty.mov',
      { path: file('e.mov', ''), contentType: 'video/quicktime' },
      h.deadline,
    );
    expect(h.store.requests.map((r) => r.headers['x-amz-content-sha256'])).toEqual([
      'UNSIGNED-PAYLOAD',
      'UNSIGNED-PAYLOAD',
    ]);
    expect(h.store.object('staging', 'empty.mov')).toMatchObject({
      body: Buffer.alloc(0),
      contentType: 'video/quicktime',
    });
  });

  it('is refused when the file no longer matches its digest (rewritten since it was hashed), without a retry', async () => {
    const h = await harness();
    const at = file('changed.mp4', VIDEO);
    const error = await refusal(
      h.client.putObject(
        'c.mp4',
        { path: at, contentType: 'video/mp4', sha256: sha256('earlier bytes') },
        h.deadline,
      ),
    );
    expect(error.kind).toBe('content-changed');
    expect(error.message).toMatch(
      /^Upload of s3:\/\/staging\/c\.mp4 failed \[XAmzContentSHA256Mismatch, HTTP 400\]/,
    );
    expect(error.message).toContain('The file changed while it was uploaded');
    expect(h.store.requests).toHaveLength(1);
  });

  it('retries SlowDown under its budget with backoff, re-reading the file, then succeeds', async () => {
    const h = await harness();
    h.store.inject({ operation: 'put', fault: { kind: 'slow-down' }, times: 2 });
    await h.client.putObject('s.mp4', { path: file('s.mp4', VIDEO), contentType: 'video/mp4' }, h.deadline);
    expect(h.store.requests.map((r) => [r.status, r.bytesReceived])).toEqual([
      [503, VIDEO.length],
      [503, VIDEO.length],
      [200, VIDEO.length],
    ]);
    expect(h.sleeps).toHaveLength(2);
    expect(h.warnings[0]).toMatch(
      /^Upload of s3:\/\/staging\/s\.mp4: the store asks to slow down \(SlowDown\), HTTP 503; retrying in .* \(attempt 2 of 8\)\.$/,
    );
  });

  it('gives up on SlowDown after the busy budget, naming it', async () => {
    const h = await harness();
    h.store.inject({ operation: 'put', fault: { kind: 'slow-down' }, times: Infinity });
    const error = await refusal(
      h.client.putObject('s.mp4', { path: file('s2.mp4', 'x'), contentType: 'video/mp4' }, h.deadline),
    );
    expect(error.kind).toBe('busy');
    expect(h.store.requests).toHaveLength(policy.staging.busyAttempts);
  });

  it('retries a 500 and a reset connection, and honours Retry-After', async () => {
    const h = await harness();
    h.store.inject({
      operation: 'put',
      fault: { kind: 'error', status: 500, code: 'InternalError', headers: { 'Retry-After': '2' } },
    });
    h.store.inject({ operation: 'put', fault: { kind: 'reset' } });
    await h.client.putObject('r.mp4', { path: file('r.mp4', VIDEO), contentType: 'video/mp4' }, h.deadline);
    expect(h.store.requests.map((r) => r.status)).toEqual([500, 0, 200]);
    expect(h.sleeps[0]).toBe(2000);
    expect(h.warnings[1]).toMatch(/network error \(reset\)/);
  });

  it('bounds each attempt by the upload timeout (a store that never answers), then by the failure budget', async () => {
    const h = await harness({ client: { limits: { ...policy.staging, uploadTimeoutMs: 150 } } });
    h.store.inject({ operation: 'put', fault: { kind: 'hang' }, times: Infinity });
    const error = await refusal(
      h.client.putObject('h.mp4', { path: file('h.mp4', 'x'), contentType: 'video/mp4' }, h.deadline),
    );
    expect(error.message).toMatch(/network error \(timeout\)\. Detail: "no answer within 150 ms"/);
    expect(h.store.requests).toHaveLength(policy.staging.failureAttempts);
  });

  it("never outlives the caller's deadline, and stops at once on the abort signal with its reason", async () => {
    const h = await harness();
    h.store.inject({ operation: 'put', fault: { kind: 'hang' }, times: Infinity });
    const at = file('d.mp4', 'x');
    const started = performance.now();
    await expect(
      h.client.putObject('d.mp4', { path: at, contentType: 'video/mp4' }, Date.now() + 200),
    ).rejects.toBeInstanceOf(DeadlineError);
    expect(performance.now() - started).toBeLessThan(2000);

    const controller = new AbortController();
    const cancelled = await harness({ client: { signal: controller.signal } });
    cancelled.store.inject({ operation: 'put', fault: { kind: 'hang' } });
    const pending = cancelled.client.putObject(
      'd.mp4',
      { path: at, contentType: 'video/mp4' },
      cancelled.deadline,
    );
    while (cancelled.store.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort(new CancelledError('SIGTERM'));
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
  });

  it('streams the body without a redirect mode that would make undici hold it all (nodejs/undici#4058)', async () => {
    const seen: RequestInit[] = [];
    const recording: FetchLike = (url, init) => (seen.push(init), fetch(url, init));
    const h = await harness({ client: { fetch: recording } });
    await h.client.putObject('a.mp4', { path: file('rec.mp4', VIDEO), contentType: 'video/mp4' }, h.deadline);
    await h.client.headObject('a.mp4', h.deadline);
    expect(seen.map((init) => [init.method, init.redirect])).toEqual([
      ['PUT', 'error'],
      ['HEAD', 'manual'],
    ]);
    expect(Buffer.isBuffer(seen[0]!.body)).toBe(false);
  });

  it('reads an answer only up to the cap', async () => {
    const huge: FetchLike = () =>
      Promise.resolve(new Response('x'.repeat(policy.staging.maxAnswerBytes + 1), { status: 400 }));
    const h = await harness({ client: { fetch: huge } });
    const error = await refusal(
      h.client.putObject('big.mp4', { path: file('big.mp4', 'x'), contentType: 'video/mp4' }, h.deadline),
    );
    expect(error.message).toMatch(/far larger than any answer of an S3 store/);
  });
});

describe('headObject', () => {
  it('gives the size, type and ETag of an object, undefined for a missing one', async () => {
    const h = await harness();
    h.store.seed('staging', 'k/a.mp4', VIDEO, 'video/mp4');
    expect(await h.client.headObject('k/a.mp4', h.deadline)).toEqual({
      size: VIDEO.length,
      contentType: 'video/mp4',
      etag: h.store.object('staging', 'k/a.mp4')!.etag,
    });
    expect(await h.client.headObject('k/missing.mp4', h.deadline)).toBe('missing');
  });

  it('takes 403 as "not known to exist": without s3:ListBucket S3 answers that for a missing key', async () => {
    const writer: StoreKey = {
      accessKeyId: 'AKIAWRITER0000000001',
      secretAccessKey: 'w',
      allow: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
    };
    const h = await harness({ store: { keys: [writer] }, credentials: writer });
    expect(await h.client.headObject('k/missing.mp4', h.deadline)).toBe('refused');
    expect(h.store.requests.map((r) => r.status)).toEqual([403]);
  });

  it('fails at once on a region answer, naming the right region (x-amz-bucket-region)', async () => {
    const h = await harness({ store: { buckets: [{ name: 'staging', region: 'eu-west-1' }] } });
    const error = await refusal(h.client.headObject('k.mp4', h.deadline));
    expect(error.kind).toBe('wrong-region');
    expect(error.rightRegion).toBe('eu-west-1');
    expect(error.message).toBe(
      `Look-up of s3://staging/k.mp4 failed [HTTP 400]: the bucket is in eu-west-1, not us-east-1. Sign for eu-west-1: set the region to eu-west-1. (request id ${error.requestId})`,
    );
  });
});

describe('presignGet', () => {
  it('makes a URL the store serves, masked (with its signature) before it is returned', async () => {
    const h = await harness();
    h.store.seed('staging', 'k/a.mp4', VIDEO, 'video/mp4');
    const presigned = await h.client.presignGet('k/a.mp4', 3_600_000);
    expect(presigned.lifetimeSeconds).toBe(3600);
    expect(presigned.limitedBy).toBeUndefined();
    expect(h.masked).toEqual(expect.arrayContaining([presigned.url, presigned.signature]));
    expect(new URL(presigned.url).searchParams.get('X-Amz-Signature')).toBe(presigned.signature);
    const answer = await fetch(presigned.url);
    expect(answer.status).toBe(200);
    expect(Buffer.from(await answer.arrayBuffer()).equals(VIDEO)).toBe(true);
    const odd = "k/it's 100% (a+b) é.mp4";
    h.store.seed('staging', odd, VIDEO);
    expect((await fetch((await h.client.presignGet(odd, 60_000)).url)).status).toBe(200);
  });

  it('expires when its lifetime has passed on the store’s clock', async () => {
    const h = await harness();
    h.store.seed('staging', 'a.mp4', VIDEO);
    const presigned = await h.client.presignGet('a.mp4', 60_000);
    h.store.setClockOffsetMs(61_000);
    expect((await fetch(presigned.url)).status).toBe(403);
  });

  it("is cut to S3's 7 days, and never outlives the credentials", async () => {
    const h = await harness();
    const week = await h.client.presignGet('a.mp4', 30 * 24 * 3_600_000);
    expect([week.lifetimeSeconds, week.limitedBy]).toEqual([604_800, 'maximum']);
    expect(new URL(week.url).searchParams.get('X-Amz-Expires')).toBe('604800');

    const expiresAtMs = Date.now() + 20 * 60_000;
    const temporary = { ...TEST_KEY, sessionToken: 'token+/=', expiresAtMs };
    const t = await harness({ store: { keys: [temporary] }, credentials: temporary });
    const short = await t.client.presignGet('a.mp4', 3_600_000);
    expect(short.limitedBy).toBe('credentials');
    expect(short.expiresAtMs).toBeLessThanOrEqual(expiresAtMs);
    expect(short.lifetimeSeconds).toBeGreaterThan(19 * 60);
    expect(new URL(short.url).searchParams.get('X-Amz-Security-Token')).toBe('token+/=');
    t.store.seed('staging', 'a.mp4', VIDEO);
    expect((await fetch(short.url)).status).toBe(200);
  });

  it('masks the credentials when the client is made, the token as a URL carries it too', async () => {
    const temporary = { ...TEST_KEY, sessionToken: 'to+ken/==' };
    const h = await harness({ credentials: temporary });
    expect(h.masked).toEqual([
      TEST_KEY.accessKeyId,
      TEST_KEY.secretAccessKey,
      'to+ken/==',
      'to%2Bken%2F%3D%3D',
    ]);
    await h.client.presignGet('a.mp4', 1000);
  });
});

describe('deleteObject', () => {
  it('deletes, and takes an object already gone (404 NoSuchKey, as GCS answers) as deleted', async () => {
    const h = await harness();
    h.store.seed('staging', 'a.mp4', VIDEO);
    await h.client.deleteObject('a.mp4', h.deadline);
    expect(h.store.keys('staging')).toEqual([]);
    await h.client.deleteObject('a.mp4', h.deadline);
    h.store.inject({ operation: 'delete', fault: { kind: 'error', status: 404, code: 'NoSuchKey' } });
    await h.client.deleteObject('a.mp4', h.deadline);
  });

  it('names s3:DeleteObject when the key may not delete', async () => {
    const writer: StoreKey = {
      accessKeyId: 'AKIANODELETE00000001',
      secretAccessKey: 'w',
      allow: ['s3:PutObject'],
    };
    const h = await harness({ store: { keys: [writer] }, credentials: writer });
    const error = await refusal(h.client.deleteObject('kling/a.mp4', h.deadline));
    expect(error.message).toMatch(
      /^Delete of s3:\/\/staging\/kling\/a\.mp4 failed \[AccessDenied, HTTP 403\]: access denied\./,
    );
    expect(error.message).toContain('Give the key s3:DeleteObject on arn:aws:s3:::staging/kling/*');
  });
});

describe("the store's refusals, each named with what to fix", () => {
  const put = (h: Harness, key = 'kling/a.mp4') =>
    refusal(h.client.putObject(key, { path: file('p.mp4', VIDEO), contentType: 'video/mp4' }, h.deadline));

  it('NoSuchBucket', async () => {
    const h = await harness({ bucket: 'no-such' });
    const error = await put(h);
    expect(error.kind).toBe('no-such-bucket');
    expect(error.message).toMatch(
      /^Upload of s3:\/\/no-such\/kling\/a\.mp4 failed \[NoSuchBucket, HTTP 404\]: no bucket named no-such on http:\/\/127\.0\.0\.1:\d+\. Store said: "The specified bucket does not exist"\. Check the bucket name and the endpoint, or create the bucket\./,
    );
  });

  it('AccessDenied on upload names s3:PutObject on the prefix', async () => {
    const reader: StoreKey = {
      accessKeyId: 'AKIAREADER0000000001',
      secretAccessKey: 'r',
      allow: ['s3:GetObject'],
    };
    const h = await harness({ store: { keys: [reader] }, credentials: reader });
    const error = await put(h);
    expect(error.kind).toBe('access-denied');
    expect(error.message).toContain('Give the key s3:PutObject on arn:aws:s3:::staging/kling/*');
  });

  it('a wrong region (AuthorizationHeaderMalformed) names the right one, before the body is sent', async () => {
    const h = await harness({ store: { buckets: [{ name: 'staging', region: 'eu-central-1' }] } });
    const error = await put(h);
    expect([error.kind, error.code, error.rightRegion]).toEqual([
      'wrong-region',
      'AuthorizationHeaderMalformed',
      'eu-central-1',
    ]);
    expect(error.withAdvice('Set staging_region: eu-central-1.')).toMatch(
      /failed \[AuthorizationHeaderMalformed, HTTP 400\]: the bucket is in eu-central-1, not us-east-1\. Store said: ".*"\. Set staging_region: eu-central-1\./,
    );
  });

  it('a PermanentRedirect (301): the look-up names the region from x-amz-bucket-region; an upload is not redirected', async () => {
    const h = await harness();
    const redirect = {
      kind: 'error',
      status: 301,
      code: 'PermanentRedirect',
      headers: { 'x-amz-bucket-region': 'ap-south-1', Location: 'https://elsewhere.example/' },
    } as const;
    h.store.inject({ fault: redirect, times: 2 });
    const lookUp = await refusal(h.client.headObject('kling/a.mp4', h.deadline));
    expect([lookUp.kind, lookUp.rightRegion]).toEqual(['wrong-region', 'ap-south-1']);
    const upload = await put(h);
    expect(upload.kind).toBe('wrong-region');
    expect(upload.message).toMatch(/the store answered with a redirect: the bucket is in another region/);
    expect(h.store.requests).toHaveLength(2);
  });

  it("RequestTimeTooSkewed names the runner's clock", async () => {
    const h = await harness({ clockOffsetMs: 20 * 60_000 });
    const error = await put(h);
    expect(error.kind).toBe('clock-skew');
    expect(error.message).toMatch(
      /the runner's clock differs from the store's by more than 15 minutes \(request time \d{8}T\d{6}Z, store time .*Z\)/,
    );
    expect(error.message).toContain('NTP');
  });

  it('InvalidAccessKeyId, with the session-token hint for a temporary key', async () => {
    const h = await harness({ credentials: { accessKeyId: 'AKIANOTKNOWN00000001', secretAccessKey: 'x' } });
    expect((await put(h)).message).toContain('Check AWS_ACCESS_KEY_ID: it must be a key of this store');
    const temporary: StoreKey = {
      accessKeyId: 'ASIATEMP000000000001',
      secretAccessKey: 't',
      sessionToken: 'tok',
    };
    const t = await harness({
      store: { keys: [temporary] },
      credentials: { accessKeyId: 'ASIATEMP000000000001', secretAccessKey: 't' },
    });
    expect((await put(t)).message).toContain('temporary key (ASIA…): set AWS_SESSION_TOKEN');
  });

  it('SignatureDoesNotMatch names the secret, and shows nothing of the string to sign', async () => {
    const h = await harness({ credentials: { ...TEST_KEY, secretAccessKey: 'wrong-secret-value' } });
    const error = await put(h);
    expect(error.kind).toBe('signature');
    expect(error.message).toContain('Check AWS_SECRET_ACCESS_KEY');
    for (const leak of [
      'AWS4-HMAC-SHA256',
      'wrong-secret-value',
      TEST_KEY.accessKeyId,
      'aws4_request',
      'x-amz-date',
    ])
      expect(error.message).not.toContain(leak);
  });

  it('ExpiredToken and InvalidToken', async () => {
    const temporary: StoreKey = {
      accessKeyId: 'ASIATEMP000000000002',
      secretAccessKey: 't',
      sessionToken: 'issued-token',
      expiresAtMs: Date.now() - 1,
    };
    const expired = await harness({ store: { keys: [temporary] }, credentials: temporary });
    const error = await put(expired);
    expect([error.kind, error.code]).toEqual(['token-expired', 'ExpiredToken']);
    expect(error.message).toContain('Get fresh credentials before this step');
    const forged = await harness({
      store: { keys: [{ ...temporary, expiresAtMs: Date.now() + 3_600_000 }] },
      credentials: { ...temporary, sessionToken: 'other-token' },
    });
    expect((await put(forged)).kind).toBe('token-invalid');
  });

  it('an error message never carries a credential, even one the store echoes', async () => {
    const h = await harness();
    h.store.inject({
      fault: {
        kind: 'error',
        status: 403,
        code: 'AccessDenied',
        message: `key ${TEST_KEY.secretAccessKey} refused`,
      },
    });
    const error = await put(h);
    expect(error.message).not.toContain(TEST_KEY.secretAccessKey);
    expect(error.message).toContain('Store said: "key *** refused"');
  });

  it('server text is quoted: it cannot form a workflow command or break the line', async () => {
    const h = await harness();
    h.store.inject({
      fault: {
        kind: 'error',
        status: 400,
        code: 'Weird\n::error::x',
        message: 'line\n::set-output name=x::y',
      },
    });
    const error = await put(h);
    expect(error.message).not.toMatch(/\n/);
    expect(error.message).toContain('line\\n::set-output');
  });
});

describe('stageFile', () => {
  it('uploads under <prefix>/<sha256>.<ext> once, skips an object already there, and presigns it', async () => {
    const h = await harness();
    const at = file('stage.MP4', VIDEO);
    const toStage = { path: at, sha256: sha256(VIDEO), extension: 'MP4', contentType: 'video/mp4' };
    const first = await stageFile(h.client, 'kling/staging', toStage, {
      lifetimeMs: 600_000,
      deadlineMs: h.deadline,
    });
    expect(first).toMatchObject({
      key: `kling/staging/${sha256(VIDEO)}.mp4`,
      uploaded: true,
      lifetimeSeconds: 600,
    });
    const again = await stageFile(h.client, 'kling/staging', toStage, {
      lifetimeMs: 600_000,
      deadlineMs: h.deadline,
    });
    expect(again.uploaded).toBe(false);
    expect(h.store.requests.map((r) => `${r.method} ${r.status}`)).toEqual([
      'HEAD 404',
      'PUT 200',
      'HEAD 200',
    ]);
    const fetched = await fetch(again.url);
    expect([fetched.status, fetched.headers.get('content-type')]).toEqual([200, 'video/mp4']);
  });

  it('a look-up refused (403): after the upload, checks the key may read what the API will fetch', async () => {
    const writer: StoreKey = {
      accessKeyId: 'AKIAWRITER0000000002',
      secretAccessKey: 'writer-secret-0000000000',
      allow: ['s3:PutObject', 's3:DeleteObject'],
    };
    const h = await harness({ store: { keys: [writer] }, credentials: writer });
    const toStage = {
      path: file('w.mp4', VIDEO),
      sha256: sha256(VIDEO),
      extension: 'mp4',
      contentType: 'video/mp4',
    };
    const error = await refusal(
      stageFile(h.client, 'k', toStage, { lifetimeMs: 600_000, deadlineMs: h.deadline }),
    );
    expect(error.kind).toBe('access-denied');
    expect(error.message).toMatch(
      /^Read of s3:\/\/staging\/k\/[0-9a-f]{64}\.mp4 failed \[HTTP 403\]: access denied\. Give the key s3:GetObject on arn:aws:s3:::staging\/k\/\* \(the API fetches the video through a presigned GET/,
    );
    expect(h.store.requests.map((r) => `${r.method} ${r.status}`)).toEqual([
      'HEAD 403',
      'PUT 200',
      'HEAD 403',
    ]);
    // With s3:GetObject but no s3:ListBucket, the look-up is refused all the same, and the check passes.
    const reader = { ...writer, allow: ['s3:PutObject', 's3:GetObject'] } satisfies StoreKey;
    const r = await harness({ store: { keys: [reader] }, credentials: reader });
    const staged = await stageFile(r.client, 'k', toStage, { lifetimeMs: 600_000, deadlineMs: r.deadline });
    expect(staged.uploaded).toBe(true);
    expect(r.store.requests.map((q) => `${q.method} ${q.status}`)).toEqual([
      'HEAD 403',
      'PUT 200',
      'HEAD 200',
    ]);
  });

  it('fails before sending the file when the look-up shows the bucket is in another region', async () => {
    const h = await harness({ store: { buckets: [{ name: 'staging', region: 'eu-west-1' }] } });
    const toStage = {
      path: file('r.mp4', VIDEO),
      sha256: sha256(VIDEO),
      extension: 'mp4',
      contentType: 'video/mp4',
    };
    const error = await refusal(
      stageFile(h.client, '', toStage, { lifetimeMs: 60_000, deadlineMs: h.deadline }),
    );
    expect(error.rightRegion).toBe('eu-west-1');
    expect(h.store.requests.map((r) => r.method)).toEqual(['HEAD']);
  });
});
