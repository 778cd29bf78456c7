/**
 * An S3-compatible object store on 127.0.0.1 for tests, the bench and the demo. It checks what S3
 * checks, with its own SigV4 implementation (object-store/sigv4.ts, node:crypto only): header and
 * presigned (query) authentication, the date against its injectable clock (15 minutes of skew;
 * X-Amz-Expires), the region, session tokens, per-key permissions, and x-amz-content-sha256 against
 * the body unless UNSIGNED-PAYLOAD. It serves PUT, GET (Range), HEAD and DELETE of objects, path-style
 * (virtual-hosted too, with `virtualHostSuffix`), answers errors in S3's XML shape, takes injected
 * faults and logs every request.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { closeServer, decodeSegment, handleRequests, listen } from './loopback-server.ts';
import { Answer, type S3Error } from './object-store/answer.ts';
import { Authenticator } from './object-store/auth.ts';
import {
  presignUrl,
  queryPairs,
  UNSIGNED_PAYLOAD,
  uriEncode,
  type RawRequest,
} from './object-store/sigv4.ts';
import type {
  ObjectStoreOptions,
  Operation,
  S3Action,
  StoredObject,
  StoreFault,
  StoreFaultRule,
  StoreKey,
  StoreRequest,
} from './object-store/types.ts';

export type * from './object-store/types.ts';

export const TEST_KEY: StoreKey = {
  accessKeyId: 'AKIAEMULATOR0000TEST',
  secretAccessKey: 'emulator/secret+key/0123456789abcdefABCDEF',
};

const ALL_ACTIONS: S3Action[] = ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:ListBucket'];
const ACTION_OF: Record<Operation, S3Action> = {
  put: 's3:PutObject',
  get: 's3:GetObject',
  head: 's3:GetObject',
  delete: 's3:DeleteObject',
};

interface Bucket {
  name: string;
  region: string;
  objects: Map<string, StoredObject>;
}

export class ObjectStore {
  /** 'http://127.0.0.1:PORT', the endpoint for path-style requests. */
  readonly url: string;
  readonly region: string;
  readonly #server: Server;
  readonly #buckets = new Map<string, Bucket>();
  readonly #keys = new Map<string, StoreKey>();
  readonly #faults: { operation?: Operation; fault: StoreFault; left: number }[] = [];
  readonly #requests: StoreRequest[] = [];
  readonly #now: () => number;
  readonly #virtualHostSuffix: string | undefined;
  readonly #closing = new AbortController();
  #offsetMs = 0;

  private constructor(server: Server, url: string, options: ObjectStoreOptions) {
    this.#server = server;
    this.url = url;
    this.region = options.region ?? 'us-east-1';
    for (const spec of options.buckets ?? ['staging']) {
      const { name, region = this.region } = typeof spec === 'string' ? { name: spec } : spec;
      this.#buckets.set(name, { name, region, objects: new Map() });
    }
    for (const key of options.keys ?? [TEST_KEY]) this.#keys.set(key.accessKeyId, key);
    this.#now = options.now ?? Date.now;
    this.#virtualHostSuffix = options.virtualHostSuffix;
    handleRequests(server, 'object store emulator', (request, response) => this.#handle(request, response));
  }

  static async start(options: ObjectStoreOptions = {}): Promise<ObjectStore> {
    const server = createServer();
    return new ObjectStore(server, await listen(server), options);
  }

  /** The store's "now": its clock plus the offset. */
  now(): number {
    return this.#now() + this.#offsetMs;
  }

  /** Moves the store's clock (a runner whose clock is off, a presigned URL that expires). */
  setClockOffsetMs(ms: number): void {
    this.#offsetMs = ms;
  }

  addKey(key: StoreKey): void {
    this.#keys.set(key.accessKeyId, key);
  }

  /**
   * The AWS_* variables a step sets to use `key` (default the first) here, as
   * configure-aws-credentials sets them; AWS_REGION is the store's region.
   */
  env(key: StoreKey = [...this.#keys.values()][0]!): Record<string, string> {
    return {
      AWS_ACCESS_KEY_ID: key.accessKeyId,
      AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
      ...(key.sessionToken ? { AWS_SESSION_TOKEN: key.sessionToken } : {}),
      ...(key.expiresAtMs !== undefined
        ? { AWS_CREDENTIAL_EXPIRATION: new Date(key.expiresAtMs).toISOString() }
        : {}),
      AWS_REGION: this.region,
    };
  }

  /** Every request received, in arrival order. */
  get requests(): readonly StoreRequest[] {
    return this.#requests;
  }

  inject(rule: StoreFaultRule): void {
    this.#faults.push({
      ...(rule.operation ? { operation: rule.operation } : {}),
      fault: rule.fault,
      left: rule.times ?? 1,
    });
  }

  object(bucket: string, key: string): StoredObject | undefined {
    return this.#buckets.get(bucket)?.objects.get(key);
  }

  /** Every key in the bucket, sorted. */
  keys(bucket: string): string[] {
    return [...(this.#buckets.get(bucket)?.objects.keys() ?? [])].sort();
  }

  /** Stores an object directly, as if uploaded earlier. */
  seed(bucket: string, key: string, body: Buffer, contentType = 'binary/octet-stream'): void {
    const target = this.#buckets.get(bucket);
    if (!target) throw new Error(`no bucket ${bucket}`);
    target.objects.set(key, stored(body, contentType, this.now()));
  }

  /**
   * A presigned URL (path-style) made by the store's own signer: for a baseline PUT, or a URL that
   * is wrong on purpose. `atMs` defaults to the store's now.
   */
  presign(options: {
    method: 'GET' | 'PUT';
    bucket: string;
    key: string;
    expiresSeconds: number;
    credentials?: StoreKey;
    region?: string;
    atMs?: number;
  }): string {
    const credentials = options.credentials ?? [...this.#keys.values()][0]!;
    const path = `/${uriEncode(options.bucket)}/${options.key.split('/').map(uriEncode).join('/')}`;
    return presignUrl({
      origin: this.url,
      method: options.method,
      path,
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
      region: options.region ?? this.#buckets.get(options.bucket)?.region ?? this.region,
      atMs: options.atMs ?? this.now(),
      expiresSeconds: options.expiresSeconds,
    });
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    await closeServer(this.#server);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = request.url ?? '/';
    const q = target.indexOf('?');
    const rawPath = q === -1 ? target : target.slice(0, q);
    const rawQuery = q === -1 ? '' : target.slice(q + 1);
    const method = request.method ?? 'GET';
    const host = request.headers.host ?? '';
    const { bucket: bucketName, key } = this.#address(host, rawPath);
    const operation = key === undefined ? undefined : operationOf(method);
    const record: StoreRequest = {
      method,
      host,
      path: rawPath,
      query: Object.fromEntries(queryPairs(rawQuery)),
      headers: { ...request.headers },
      ...(operation ? { operation } : {}),
      ...(bucketName !== undefined ? { bucket: bucketName } : {}),
      ...(key !== undefined ? { key } : {}),
      auth: rawQuery.includes('X-Amz-Signature=')
        ? 'query'
        : request.headers.authorization
          ? 'header'
          : 'none',
      status: 0,
      bytesReceived: 0,
      atMs: performance.now(),
    };
    this.#requests.push(record);
    const answer = new Answer(request, response, record, this.#closing.signal);

    if (bucketName === undefined || key === undefined || !operation)
      return answer.error({
        status: 501,
        code: 'NotImplemented',
        message: 'This emulator serves object PUT, GET, HEAD and DELETE only.',
      });
    const bucket = this.#buckets.get(bucketName);
    if (!bucket)
      return answer.error({
        status: 404,
        code: 'NoSuchBucket',
        message: 'The specified bucket does not exist',
        fields: [['BucketName', bucketName]],
      });
    const raw: RawRequest = { method, rawPath, rawQuery, headers: headerValues(request) };
    const auth = new Authenticator(this.#keys, this.now()).authenticate(raw, bucket.region, record);
    if ('status' in auth) return answer.error(auth);
    const refusal = this.#authorize(auth.key, operation, key);
    if (refusal) return answer.error(refusal);

    const fault = this.#takeFault(operation);
    if (fault?.kind === 'hang') return answer.hang();
    if (fault?.kind === 'reset') return answer.reset();
    if (fault?.kind === 'slow-down' || fault?.kind === 'error') {
      await answer.readBody();
      return answer.error(
        fault.kind === 'slow-down'
          ? { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' }
          : {
              status: fault.status,
              code: fault.code,
              message: fault.message ?? fault.code,
              headers: fault.headers ?? {},
            },
      );
    }
    const rate = fault?.kind === 'slow-body' ? fault.bytesPerSecond : undefined;
    switch (operation) {
      case 'put':
        return this.#put(answer, bucket, key, auth.payloadHash, rate);
      case 'get':
      case 'head':
        return this.#get(answer, bucket, key, auth.key, rate);
      case 'delete':
        bucket.objects.delete(key);
        return answer.empty(204);
    }
  }

  #address(host: string, rawPath: string): { bucket?: string; key?: string } {
    const hostname = host.replace(/:\d+$/, '');
    const suffix = this.#virtualHostSuffix;
    if (suffix && hostname.endsWith(`.${suffix}`)) {
      const key = decodeSegment(rawPath.slice(1));
      return { bucket: hostname.slice(0, -suffix.length - 1), ...(key ? { key } : {}) };
    }
    const [, bucket, ...rest] = rawPath.split('/');
    if (!bucket) return {};
    const key = decodeSegment(rest.join('/'));
    return { bucket: decodeSegment(bucket), ...(key ? { key } : {}) };
  }

  #takeFault(operation: Operation): StoreFault | undefined {
    const rule = this.#faults.find(
      (r) => r.left > 0 && (r.operation === undefined || r.operation === operation),
    );
    if (!rule) return undefined;
    rule.left -= 1;
    return rule.fault;
  }

  #authorize(key: StoreKey, operation: Operation, objectKey: string): S3Error | undefined {
    const allowed = new Set(key.allow ?? ALL_ACTIONS);
    const inPrefix = key.prefix === undefined || objectKey.startsWith(key.prefix);
    if (!allowed.has(ACTION_OF[operation]) || !inPrefix)
      return { status: 403, code: 'AccessDenied', message: 'Access Denied' };
    return undefined;
  }

  async #put(answer: Answer, bucket: Bucket, key: string, payloadHash: string, rate: number | undefined) {
    const declared = answer.request.headers['content-length'];
    if (declared === undefined)
      return answer.error({
        status: 411,
        code: 'MissingContentLength',
        message: 'You must provide the Content-Length HTTP header.',
      });
    const body = await answer.readBody(rate, payloadHash !== UNSIGNED_PAYLOAD);
    if (!body) return;
    if (body.bytes.length !== Number(declared))
      return answer.error({
        status: 400,
        code: 'IncompleteBody',
        message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.',
      });
    if (payloadHash !== UNSIGNED_PAYLOAD && body.sha256 !== payloadHash)
      return answer.error({
        status: 400,
        code: 'XAmzContentSHA256Mismatch',
        message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
        fields: [
          ['ClientComputedContentSHA256', payloadHash],
          ['S3ComputedContentSHA256', body.sha256 ?? ''],
        ],
      });
    const contentType = answer.request.headers['content-type'] ?? 'binary/octet-stream';
    const object = stored(body.bytes, contentType, this.now());
    bucket.objects.set(key, object);
    answer.empty(200, { ETag: object.etag });
  }

  async #get(answer: Answer, bucket: Bucket, key: string, credentials: StoreKey, rate: number | undefined) {
    const object = bucket.objects.get(key);
    // Without s3:ListBucket, S3 will not say whether a key exists: a missing one is 403, not 404.
    if (!object)
      return answer.error(
        (credentials.allow ?? ALL_ACTIONS).includes('s3:ListBucket')
          ? {
              status: 404,
              code: 'NoSuchKey',
              message: 'The specified key does not exist.',
              fields: [['Key', key]],
            }
          : { status: 403, code: 'AccessDenied', message: 'Access Denied' },
      );
    const size = object.body.length;
    const range = parseRange(answer.request.headers.range, size);
    if (range === 'unsatisfiable')
      return answer.error({
        status: 416,
        code: 'InvalidRange',
        message: 'The requested range is not satisfiable',
        headers: { 'Content-Range': `bytes */${size}` },
      });
    const [from, to] = range ?? [0, size - 1];
    const headers: Record<string, string | number> = {
      'Content-Type': object.contentType,
      'Content-Length': to - from + 1,
      ETag: object.etag,
      'Last-Modified': new Date(object.lastModifiedMs).toUTCString(),
      'Accept-Ranges': 'bytes',
      ...(range ? { 'Content-Range': `bytes ${from}-${to}/${size}` } : {}),
    };
    await answer.bytes(range ? 206 : 200, headers, object.body.subarray(from, to + 1), rate);
  }
}

function operationOf(method: string): Operation | undefined {
  return ({ PUT: 'put', GET: 'get', HEAD: 'head', DELETE: 'delete' } as const)[method as 'PUT'];
}

function stored(body: Buffer, contentType: string, nowMs: number): StoredObject {
  return {
    body,
    contentType,
    etag: `"${createHash('md5').update(body).digest('hex')}"`,
    lastModifiedMs: nowMs,
  };
}

/** Lower-case name → every value as sent (rawHeaders keeps repeats apart). */
function headerValues(request: IncomingMessage): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i]!.toLowerCase();
    map.set(name, [...(map.get(name) ?? []), request.rawHeaders[i + 1]!]);
  }
  return map;
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n`; undefined for none or an unreadable one (S3 ignores those). */
function parseRange(
  header: string | undefined,
  size: number,
): [number, number] | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return [Math.max(0, size - n), size - 1];
  }
  const from = Number(m[1]);
  const to = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (from >= size || to < from) return 'unsatisfiable';
  return [from, to];
}
