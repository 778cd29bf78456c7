// The object-store emulator over real HTTP on 127.0.0.1: it accepts what the action's signer
// (aws4fetch) signs, and refuses what S3 would refuse, checked by its own SigV4 implementation.
import { request as httpRequest } from 'node:http';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { signHeaders, presign, EMPTY_PAYLOAD, UNSIGNED_PAYLOAD } from '../../src/s3/sign.ts';
import { readCredentials, type Credentials } from '../../src/s3/credentials.ts';
import { ObjectStore, TEST_KEY, type ObjectStoreOptions, type StoreKey } from './object-store.ts';
import { presignUrl, uriEncode, canonicalUri, canonicalQuery } from './object-store/sigv4.ts';

const stores: ObjectStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

async function start(options: ObjectStoreOptions = {}): Promise<ObjectStore> {
  const store = await ObjectStore.start(options);
  stores.push(store);
  return store;
}

interface Sent {
  method: 'PUT' | 'GET' | 'HEAD' | 'DELETE';
  path: string;
  body?: Buffer;
  headers?: Record<string, string>;
  credentials?: Credentials;
  region?: string;
  atMs?: number;
  payloadHash?: string;
  /** Changes the signed headers before sending (a tampered request). */
  tamper?: (headers: Record<string, string>) => void;
}

/** One request signed by the action's signer, sent with fetch; the answer and the XML's Code. */
async function send(store: ObjectStore, sent: Sent) {
  const url = `${store.url}${sent.path}`;
  const body = sent.body;
  const payloadHash =
    sent.payloadHash ?? (body ? createHash('sha256').update(body).digest('hex') : EMPTY_PAYLOAD);
  const headers = await signHeaders(
    { credentials: sent.credentials ?? TEST_KEY, region: sent.region ?? 'us-east-1', cache: new Map() },
    { method: sent.method, url, headers: sent.headers ?? {}, payloadHash },
    sent.atMs ?? store.now(),
  );
  sent.tamper?.(headers);
  const response = await fetch(url, { method: sent.method, headers, ...(body ? { body } : {}) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, code: /<Code>([^<]*)</.exec(text)?.[1] };
}

const put = (store: ObjectStore, key: string, body: Buffer, extra: Partial<Sent> = {}) =>
  send(store, {
    method: 'PUT',
    path: `/staging/${key}`,
    body,
    headers: { 'content-type': 'video/mp4' },
    ...extra,
  });

describe('objects', () => {
  it('stores a PUT with its Content-Type and serves it back by GET, HEAD, and removes it by DELETE', async () => {
    const store = await start();
    const body = Buffer.from('a small video');
    const stored = await put(store, 'renders/a.mp4', body);
    expect(stored.status).toBe(200);
    expect(stored.headers.get('etag')).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
    expect(store.object('staging', 'renders/a.mp4')).toMatchObject({ body, contentType: 'video/mp4' });

    const got = await send(store, { method: 'GET', path: '/staging/renders/a.mp4' });
    expect(got).toMatchObject({ status: 200, text: 'a small video' });
    expect(got.headers.get('content-type')).toBe('video/mp4');
    const head = await send(store, { method: 'HEAD', path: '/staging/renders/a.mp4' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(body.length));

    expect((await send(store, { method: 'DELETE', path: '/staging/renders/a.mp4' })).status).toBe(204);
    expect(store.keys('staging')).toEqual([]);
    // Deleting what is gone is not an error in S3.
    expect((await send(store, { method: 'DELETE', path: '/staging/renders/a.mp4' })).status).toBe(204);
  });

  it('answers Range requests: from-to, from, suffix; 416 beyond the end', async () => {
    const store = await start();
    store.seed('staging', 'k', Buffer.from('0123456789'));
    const range = async (value: string) => {
      const r = await send(store, { method: 'GET', path: '/staging/k', headers: { range: value } });
      return [r.status, r.text, r.headers.get('content-range')];
    };
    expect(await range('bytes=2-5')).toEqual([206, '2345', 'bytes 2-5/10']);
    expect(await range('bytes=7-')).toEqual([206, '789', 'bytes 7-9/10']);
    expect(await range('bytes=-3')).toEqual([206, '789', 'bytes 7-9/10']);
    expect((await range('bytes=10-'))[0]).toBe(416);
  });

  it('keys with spaces, plus and percent signs, quotes and unicode are signed and stored as they are', async () => {
    const store = await start();
    const key = "a b/c+d/é ü (1)/it's 100%*!~.mp4";
    const path = `/staging/${key.split('/').map(uriEncode).join('/')}`;
    expect((await send(store, { method: 'PUT', path, body: Buffer.from('x') })).status).toBe(200);
    expect(store.keys('staging')).toEqual([key]);
  });

  it('refuses an unknown bucket with NoSuchBucket', async () => {
    const store = await start();
    const answer = await send(store, { method: 'PUT', path: '/nope/k', body: Buffer.from('x') });
    expect(answer).toMatchObject({ status: 404, code: 'NoSuchBucket' });
    expect(answer.text).toContain('<BucketName>nope</BucketName>');
  });

  it('serves virtual-hosted requests (<bucket>.<suffix>) as well as path-style ones', async () => {
    const store = await start({ virtualHostSuffix: 's3.test' });
    store.seed('staging', 'v/a.mp4', Buffer.from('hosted'));
    const port = new URL(store.url).port;
    const url = presignUrl({
      origin: `http://staging.s3.test:${port}`,
      method: 'GET',
      path: '/v/a.mp4',
      ...TEST_KEY,
      region: 'us-east-1',
      atMs: store.now(),
      expiresSeconds: 60,
    });
    const target = new URL(url);
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: `${target.pathname}${target.search}`,
          headers: { host: target.host },
        },
        (response) => {
          let text = '';
          response.on('data', (c: Buffer) => (text += c.toString()));
          response.on('end', () => resolve({ status: response.statusCode!, text }));
        },
      )
        .on('error', reject)
        .end();
    });
    expect(answer).toEqual({ status: 200, text: 'hosted' });
  });
});

describe('header authentication', () => {
  it('refuses a tampered signature, or a request changed after signing, with SignatureDoesNotMatch', async () => {
    const store = await start();
    const flipped = await put(store, 'a.mp4', Buffer.from('x'), {
      tamper: (h) => {
        h['authorization'] = h['authorization']!.replace(/Signature=(.)/, (_m, c: string) =>
          c === '0' ? 'Signature=1' : 'Signature=0',
        );
      },
    });
    expect(flipped).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    // Like S3, the answer carries the string to sign and the canonical request.
    expect(flipped.text).toContain('<StringToSign>AWS4-HMAC-SHA256');
    const otherDate = await put(store, 'a.mp4', Buffer.from('x'), {
      tamper: (h) =>
        void (h['x-amz-date'] = h['x-amz-date']!.replace(/\d{2}Z$/, (s) => (s === '00Z' ? '01Z' : '00Z'))),
    });
    expect(otherDate.code).toBe('SignatureDoesNotMatch');
    const wrongSecret = await put(store, 'a.mp4', Buffer.from('x'), {
      credentials: { ...TEST_KEY, secretAccessKey: 'not-the-secret' },
    });
    expect(wrongSecret.code).toBe('SignatureDoesNotMatch');
    expect(store.keys('staging')).toEqual([]);
  });

  it('refuses an unknown key id with InvalidAccessKeyId, and a request with no signature with AccessDenied', async () => {
    const store = await start();
    const unknown = await put(store, 'a.mp4', Buffer.from('x'), {
      credentials: { ...TEST_KEY, accessKeyId: 'AKIAUNKNOWN' },
    });
    expect(unknown).toMatchObject({ status: 403, code: 'InvalidAccessKeyId' });
    const anonymous = await fetch(`${store.url}/staging/a.mp4`, { method: 'PUT', body: 'x' });
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).toContain('<Code>AccessDenied</Code>');
  });

  it('refuses a clock more than 15 minutes off with RequestTimeTooSkewed, and takes one 14 minutes off', async () => {
    const store = await start();
    const skewed = await put(store, 'a.mp4', Buffer.from('x'), { atMs: store.now() + 16 * 60_000 });
    expect(skewed).toMatchObject({ status: 403, code: 'RequestTimeTooSkewed' });
    expect(skewed.text).toMatch(/<RequestTime>\d{8}T\d{6}Z<\/RequestTime><ServerTime>/);
    expect((await put(store, 'a.mp4', Buffer.from('x'), { atMs: store.now() - 14 * 60_000 })).status).toBe(
      200,
    );
  });

  it("refuses the wrong region with AuthorizationHeaderMalformed naming the bucket's region", async () => {
    const store = await start({ buckets: [{ name: 'staging', region: 'eu-west-1' }] });
    const answer = await put(store, 'a.mp4', Buffer.from('x'), { region: 'us-east-1' });
    expect(answer).toMatchObject({ status: 400, code: 'AuthorizationHeaderMalformed' });
    expect(answer.text).toContain("the region 'us-east-1' is wrong; expecting 'eu-west-1'");
    expect(answer.text).toContain('<Region>eu-west-1</Region>');
    expect(answer.headers.get('x-amz-bucket-region')).toBe('eu-west-1');
    const head = await send(store, { method: 'HEAD', path: '/staging/a.mp4', region: 'us-east-1' });
    expect([head.status, head.text, head.headers.get('x-amz-bucket-region')]).toEqual([400, '', 'eu-west-1']);
  });

  it('checks x-amz-content-sha256 against the body, and takes UNSIGNED-PAYLOAD', async () => {
    const store = await start();
    const wrong = await put(store, 'a.mp4', Buffer.from('the real bytes'), {
      payloadHash: createHash('sha256').update('other bytes').digest('hex'),
    });
    expect(wrong).toMatchObject({ status: 400, code: 'XAmzContentSHA256Mismatch' });
    expect(store.keys('staging')).toEqual([]);
    const unsigned = await put(store, 'a.mp4', Buffer.from('the real bytes'), {
      payloadHash: UNSIGNED_PAYLOAD,
    });
    expect(unsigned.status).toBe(200);
  });

  it("refuses aws-chunked uploads (the AWS SDK's default checksums) as R2 and MinIO do some of them", async () => {
    const store = await start();
    const answer = await put(store, 'a.mp4', Buffer.from('x'), {
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    });
    expect(answer).toMatchObject({ status: 501, code: 'NotImplemented' });
  });

  it('refuses x-amz-* headers that were not signed', async () => {
    const store = await start();
    const answer = await put(store, 'a.mp4', Buffer.from('x'), {
      tamper: (h) => void (h['x-amz-meta-late'] = '1'),
    });
    expect(answer).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(answer.text).toContain('<HeadersNotSigned>x-amz-meta-late</HeadersNotSigned>');
  });

  it('refuses a PUT without Content-Length', async () => {
    const store = await start();
    const url = `${store.url}/staging/a.mp4`;
    const headers = await signHeaders(
      { credentials: TEST_KEY, region: 'us-east-1', cache: new Map() },
      { method: 'PUT', url, headers: {}, payloadHash: UNSIGNED_PAYLOAD },
      store.now(),
    );
    // A stream of unknown length goes chunked, with no Content-Length.
    const body = new ReadableStream({ pull: (c) => (c.enqueue(Buffer.from('x')), c.close()) });
    const response = await fetch(url, { method: 'PUT', headers, body, duplex: 'half' });
    expect(response.status).toBe(411);
    expect(await response.text()).toContain('<Code>MissingContentLength</Code>');
  });
});

describe('session tokens', () => {
  const TEMPORARY: StoreKey = {
    accessKeyId: 'ASIATEMPORARY0000001',
    secretAccessKey: 'temporary-secret',
    sessionToken: 'FwoGZXIvYXdzE+token/with=odd+chars',
    expiresAtMs: Date.now() + 3600_000,
  };

  it('takes the token issued with the key, and refuses a wrong, missing or expired one', async () => {
    const store = await start({ keys: [TEMPORARY] });
    expect((await put(store, 'a.mp4', Buffer.from('x'), { credentials: TEMPORARY })).status).toBe(200);
    const wrong = await put(store, 'a.mp4', Buffer.from('x'), {
      credentials: { ...TEMPORARY, sessionToken: 'other' },
    });
    expect(wrong).toMatchObject({ status: 400, code: 'InvalidToken' });
    const { sessionToken: _none, ...withoutToken } = TEMPORARY;
    expect((await put(store, 'a.mp4', Buffer.from('x'), { credentials: withoutToken })).code).toBe(
      'InvalidAccessKeyId',
    );
    store.setClockOffsetMs(3600_000);
    const expired = await put(store, 'a.mp4', Buffer.from('x'), {
      credentials: TEMPORARY,
      atMs: store.now(),
    });
    expect(expired).toMatchObject({ status: 400, code: 'ExpiredToken' });
  });

  it('env() gives the AWS_* variables of a key, as the action reads them', async () => {
    const store = await start({ keys: [TEMPORARY], region: 'eu-north-1' });
    const env = store.env();
    expect(env).toEqual({
      AWS_ACCESS_KEY_ID: TEMPORARY.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEMPORARY.secretAccessKey,
      AWS_SESSION_TOKEN: TEMPORARY.sessionToken,
      AWS_CREDENTIAL_EXPIRATION: new Date(TEMPORARY.expiresAtMs!).toISOString(),
      AWS_REGION: 'eu-north-1',
    });
    expect(readCredentials(env, Date.now())).toEqual({ ok: true, credentials: TEMPORARY });
  });

  it('refuses a token sent with a long-term key', async () => {
    const store = await start();
    const answer = await put(store, 'a.mp4', Buffer.from('x'), {
      credentials: { ...TEST_KEY, sessionToken: 'stray' },
    });
    expect(answer.code).toBe('InvalidToken');
  });

  it('checks the token in a presigned URL too', async () => {
    const store = await start({ keys: [TEMPORARY] });
    store.seed('staging', 'a.mp4', Buffer.from('video'));
    const good = store.presign({
      method: 'GET',
      bucket: 'staging',
      key: 'a.mp4',
      expiresSeconds: 60,
      credentials: TEMPORARY,
    });
    expect((await fetch(good)).status).toBe(200);
    const forged = store.presign({
      method: 'GET',
      bucket: 'staging',
      key: 'a.mp4',
      expiresSeconds: 60,
      credentials: { ...TEMPORARY, sessionToken: 'forged' },
    });
    const answer = await fetch(forged);
    expect(answer.status).toBe(400);
    expect(await answer.text()).toContain('<Code>InvalidToken</Code>');
  });
});

describe('presigned URLs', () => {
  it("take the action signer's URL until X-Amz-Expires has passed on the store's clock, then AccessDenied", async () => {
    let now = Date.parse('2025-03-01T12:00:00Z');
    const store = await start({ now: () => now });
    store.seed('staging', 'v.mp4', Buffer.from('video'), 'video/mp4');
    const { url } = await presign(
      { credentials: TEST_KEY, region: 'us-east-1', cache: new Map() },
      { method: 'GET', url: `${store.url}/staging/v.mp4`, expiresSeconds: 600 },
      now,
    );
    now += 599_000;
    const fresh = await fetch(url);
    expect([fresh.status, await fresh.text(), fresh.headers.get('content-type')]).toEqual([
      200,
      'video',
      'video/mp4',
    ]);
    now += 2_000;
    const late = await fetch(url);
    expect(late.status).toBe(403);
    const text = await late.text();
    expect(text).toContain('<Code>AccessDenied</Code><Message>Request has expired</Message>');
    expect(text).toContain('<X-Amz-Expires>600</X-Amz-Expires>');
  });

  it('refuses a tampered URL: another key, a longer lifetime, a flipped signature', async () => {
    const store = await start();
    store.seed('staging', 'a.mp4', Buffer.from('a'));
    store.seed('staging', 'b.mp4', Buffer.from('b'));
    const url = store.presign({ method: 'GET', bucket: 'staging', key: 'a.mp4', expiresSeconds: 60 });
    for (const tampered of [
      url.replace('/a.mp4', '/b.mp4'),
      url.replace('X-Amz-Expires=60', 'X-Amz-Expires=6000'),
      url.replace(/X-Amz-Signature=(.)/, (_m, c: string) => `X-Amz-Signature=${c === 'a' ? 'b' : 'a'}`),
    ]) {
      const answer = await fetch(tampered);
      expect(answer.status, tampered).toBe(403);
      expect(await answer.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    }
    expect((await fetch(url)).status).toBe(200);
  });

  it('refuses a GET URL used for a PUT, more than 7 days of life, and the wrong region', async () => {
    const store = await start({ buckets: [{ name: 'staging', region: 'eu-west-1' }] });
    store.seed('staging', 'a.mp4', Buffer.from('a'));
    const get = store.presign({ method: 'GET', bucket: 'staging', key: 'a.mp4', expiresSeconds: 60 });
    expect((await fetch(get, { method: 'PUT', body: 'x' })).status).toBe(403);
    const week = store.presign({ method: 'GET', bucket: 'staging', key: 'a.mp4', expiresSeconds: 604_801 });
    const tooLong = await fetch(week);
    expect([tooLong.status, await tooLong.text()]).toEqual([
      400,
      expect.stringContaining('less than a week'),
    ]);
    const region = store.presign({
      method: 'GET',
      bucket: 'staging',
      key: 'a.mp4',
      expiresSeconds: 60,
      region: 'us-east-1',
    });
    const wrong = await fetch(region);
    expect([wrong.status, await wrong.text()]).toEqual([
      400,
      expect.stringContaining('<Region>eu-west-1</Region>'),
    ]);
  });

  it('a presigned PUT stores the body (the bench’s plain PUT)', async () => {
    const store = await start();
    const url = store.presign({ method: 'PUT', bucket: 'staging', key: 'p.mp4', expiresSeconds: 60 });
    const answer = await fetch(url, {
      method: 'PUT',
      body: 'plain',
      headers: { 'content-type': 'video/mp4' },
    });
    expect(answer.status).toBe(200);
    expect(store.object('staging', 'p.mp4')).toMatchObject({
      body: Buffer.from('plain'),
      contentType: 'video/mp4',
    });
  });
});

describe('permissions per key', () => {
  const WRITER: StoreKey = {
    accessKeyId: 'AKIAWRITERONLY000001',
    secretAccessKey: 'writer-secret',
    allow: ['s3:PutObject'],
    prefix: 'renders/',
  };

  it('refuses each action the key lacks with AccessDenied, and keys outside its prefix', async () => {
    const store = await start({ keys: [TEST_KEY, WRITER] });
    store.seed('staging', 'renders/a.mp4', Buffer.from('a'));
    const as = { credentials: WRITER };
    expect((await put(store, 'renders/b.mp4', Buffer.from('b'), as)).status).toBe(200);
    expect((await put(store, 'other/b.mp4', Buffer.from('b'), as)).code).toBe('AccessDenied');
    expect((await send(store, { method: 'GET', path: '/staging/renders/a.mp4', ...as })).code).toBe(
      'AccessDenied',
    );
    expect((await send(store, { method: 'DELETE', path: '/staging/renders/a.mp4', ...as })).code).toBe(
      'AccessDenied',
    );
    expect(store.keys('staging')).toEqual(['renders/a.mp4', 'renders/b.mp4']);
  });

  it('answers a missing key 404 NoSuchKey with s3:ListBucket, 403 without it (as S3 does)', async () => {
    const reader: StoreKey = {
      accessKeyId: 'AKIAREADER0000000001',
      secretAccessKey: 'r',
      allow: ['s3:GetObject'],
    };
    const store = await start({ keys: [TEST_KEY, reader] });
    expect((await send(store, { method: 'GET', path: '/staging/missing' })).code).toBe('NoSuchKey');
    expect((await send(store, { method: 'GET', path: '/staging/missing', credentials: reader })).code).toBe(
      'AccessDenied',
    );
    expect(
      (await send(store, { method: 'HEAD', path: '/staging/missing', credentials: reader })).status,
    ).toBe(403);
  });
});

describe('faults and the request log', () => {
  it('answers SlowDown `times` times on its operation only, once the body is read, then works', async () => {
    const store = await start();
    store.inject({ operation: 'put', fault: { kind: 'slow-down' }, times: 2 });
    expect((await send(store, { method: 'HEAD', path: '/staging/a.mp4' })).status).toBe(404);
    const first = await put(store, 'a.mp4', Buffer.from('x'));
    expect(first).toMatchObject({ status: 503, code: 'SlowDown' });
    expect((await put(store, 'a.mp4', Buffer.from('x'))).code).toBe('SlowDown');
    expect((await put(store, 'a.mp4', Buffer.from('x'))).status).toBe(200);
    expect(store.requests.map((r) => [r.operation, r.status, r.code, r.bytesReceived])).toEqual([
      ['head', 404, 'NoSuchKey', 0],
      ['put', 503, 'SlowDown', 1],
      ['put', 503, 'SlowDown', 1],
      ['put', 200, undefined, 1],
    ]);
    expect(store.requests[1]).toMatchObject({
      auth: 'header',
      accessKeyId: TEST_KEY.accessKeyId,
      bucket: 'staging',
      key: 'a.mp4',
    });
  });

  it('answers any error given, with its headers', async () => {
    const store = await start();
    store.inject({
      fault: { kind: 'error', status: 500, code: 'InternalError', headers: { 'Retry-After': '3' } },
    });
    const answer = await send(store, { method: 'DELETE', path: '/staging/a' });
    expect([answer.status, answer.code, answer.headers.get('retry-after')]).toEqual([
      500,
      'InternalError',
      '3',
    ]);
  });

  it('hangs until the client gives up, and resets when asked', async () => {
    const store = await start();
    store.inject({ operation: 'head', fault: { kind: 'hang' } });
    store.inject({ operation: 'head', fault: { kind: 'reset' } });
    const url = `${store.url}/staging/a`;
    const sign = () =>
      signHeaders(
        { credentials: TEST_KEY, region: 'us-east-1', cache: new Map() },
        { method: 'HEAD', url, headers: {}, payloadHash: EMPTY_PAYLOAD },
        store.now(),
      );
    await expect(
      fetch(url, { method: 'HEAD', headers: await sign(), signal: AbortSignal.timeout(200) }),
    ).rejects.toThrow();
    await expect(fetch(url, { method: 'HEAD', headers: await sign() })).rejects.toThrow(/fetch failed/);
    expect(store.requests.map((r) => r.status)).toEqual([0, 0]);
  });

  it('reads a PUT body slowly (slow-body), then stores it', async () => {
    const store = await start();
    store.inject({ operation: 'put', fault: { kind: 'slow-body', bytesPerSecond: 100_000 } });
    const started = performance.now();
    expect((await put(store, 'a.mp4', Buffer.alloc(30_000))).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(store.object('staging', 'a.mp4')!.body.length).toBe(30_000);
  });

  it('close() is prompt while a request hangs', async () => {
    const store = await start();
    store.inject({ fault: { kind: 'hang' } });
    const pending = send(store, { method: 'GET', path: '/staging/a' }).catch((e: unknown) => e);
    while (store.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    const started = performance.now();
    await store.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
  });
});

describe('the SigV4 canonical forms (AWS documentation examples)', () => {
  it('encodes the path once per segment, keeping / and unreserved characters', () => {
    expect(canonicalUri('/bucket/a%20b/c+d/%C3%A9~_.-')).toBe('/bucket/a%20b/c%2Bd/%C3%A9~_.-');
  });

  it('sorts the query by name, encodes names and values, and leaves the signature out', () => {
    expect(canonicalQuery('prefix=somePrefix&marker=someMarker&max-keys=20&X-Amz-Signature=abc')).toBe(
      'marker=someMarker&max-keys=20&prefix=somePrefix',
    );
    expect(canonicalQuery('acl')).toBe('acl=');
  });

  it("reproduces AWS's presigned GET example (examplebucket, test.txt, 2013-05-24)", () => {
    // From "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)".
    const url = presignUrl({
      origin: 'https://examplebucket.s3.amazonaws.com',
      method: 'GET',
      path: '/test.txt',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      region: 'us-east-1',
      atMs: Date.parse('2013-05-24T00:00:00Z'),
      expiresSeconds: 86400,
    });
    expect(new URL(url).searchParams.get('X-Amz-Signature')).toBe(
      'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    );
  });
});
