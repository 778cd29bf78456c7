/**
 * One bucket of an S3-compatible store: upload a file streamed from disk, look an object up, presign
 * a GET for the API to fetch, delete. Every request is signed (SigV4), bounded by a timeout and the
 * caller's deadline and signal, read up to a cap, and retried under the one retry discipline.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parseRetryAfter } from '../net/backoff.ts';
import { AnswerTooLargeError, DeadlineError, readCapped, type FetchLike } from '../net/http.ts';
import { readNetworkError } from '../net/network-error.ts';
import { withRetries, type Budget, type Classify, type RetryContext } from '../net/retry.ts';
import { credentialSecrets, isTemporaryKey, type Credentials } from './credentials.ts';
import {
  OPERATION_LABEL,
  parseErrorBody,
  redact,
  StoreError,
  type StoreFailure,
  type StoreOperation,
} from './errors.ts';
import { objectName, objectUrl, type StoreAddress } from './location.ts';
import { EMPTY_PAYLOAD, presign, signHeaders, UNSIGNED_PAYLOAD, type Signing } from './sign.ts';

export interface StoreLimits {
  /** One HEAD or DELETE (also capped by the caller's deadline). */
  requestTimeoutMs: number;
  /** One upload attempt, body included. */
  uploadTimeoutMs: number;
  /** Error bodies are a few hundred bytes; a larger answer is not read further. */
  maxAnswerBytes: number;
  /** Tries while the store asks to slow down (SlowDown, 503). */
  busyAttempts: number;
  /** Tries after a server error or a network failure. */
  failureAttempts: number;
  /** S3's longest presigned lifetime: 7 days. */
  maxPresignSeconds: number;
  /** Bytes read from the file at a time while uploading. */
  readChunkBytes: number;
}

export interface S3ClientOptions extends RetryContext {
  fetch: FetchLike;
  address: StoreAddress;
  credentials: Credentials;
  /** Called with each secret before it could be printed: credentials, presigned URLs, signatures. */
  mask: (secret: string) => void;
  userAgent: string;
  limits: StoreLimits;
}

export interface LocalFile {
  path: string;
  contentType: string;
  /**
   * The file's SHA-256 (hex), when the caller hashed it: signed as the payload hash, so the store
   * refuses bytes that differ (a file rewritten since). Without it the body goes UNSIGNED-PAYLOAD.
   */
  sha256?: string;
}

export interface ObjectInfo {
  size: number;
  contentType?: string;
  etag?: string;
}

export interface PresignedUrl {
  /** A bearer secret: masked already through `mask`. */
  url: string;
  /** The signature alone, masked too (a log may show the URL encoded or cut). */
  signature: string;
  expiresAtMs: number;
  lifetimeSeconds: number;
  /** Set when the lifetime asked for was cut: to S3's 7 days, or to the credentials' own expiry. */
  limitedBy?: 'maximum' | 'credentials';
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

export class S3Client {
  readonly #options: S3ClientOptions;
  readonly #signing: Signing;
  readonly #secrets: string[];
  readonly #busy: Budget;
  readonly #failing: Budget;

  constructor(options: S3ClientOptions) {
    this.#options = options;
    this.#signing = { credentials: options.credentials, region: options.address.region, cache: new Map() };
    this.#secrets = credentialSecrets(options.credentials);
    for (const secret of this.#secrets) options.mask(secret);
    this.#busy = { name: 'store-busy', attempts: options.limits.busyAttempts };
    this.#failing = { name: 'store-failure', attempts: options.limits.failureAttempts };
  }

  /** s3://bucket/key: how messages name an object. */
  name(key: string): string {
    return objectName(this.#options.address.bucket, key);
  }

  /** Uploads the file as `key`, streamed from disk (memory flat in its size), with its Content-Type. */
  async putObject(
    key: string,
    file: LocalFile,
    deadlineMs: number,
  ): Promise<{ size: number; etag?: string }> {
    const url = objectUrl(this.#options.address, key);
    const payloadHash = file.sha256 ?? UNSIGNED_PAYLOAD;
    return this.#retrying('upload', key, deadlineMs, async () => {
      const { size } = await stat(file.path);
      const headers = await this.#sign('PUT', url, payloadHash, {
        'content-type': file.contentType,
        'content-length': String(size),
      });
      // A new stream per attempt; closed whatever happens to the request.
      const body =
        size === 0
          ? undefined
          : createReadStream(file.path, {
              start: 0,
              end: size - 1,
              highWaterMark: this.#options.limits.readChunkBytes,
            });
      try {
        const answer = await this.#exchange('upload', key, deadlineMs, {
          method: 'PUT',
          url,
          headers,
          body: body ?? '',
          timeoutMs: this.#options.limits.uploadTimeoutMs,
        });
        if (answer.status !== 200) throw this.#failure('upload', key, answer);
        const etag = answer.headers.get('etag') ?? undefined;
        return etag ? { size, etag } : { size };
      } finally {
        body?.destroy();
      }
    });
  }

  /**
   * The object's size and type; `missing` (404), or `refused`: 403, which S3 answers for a missing key
   * when the credentials lack s3:ListBucket (a HEAD answer has no body, so the upload that follows
   * names any real refusal). A region redirect fails at once.
   */
  async headObject(key: string, deadlineMs: number): Promise<ObjectInfo | 'missing' | 'refused'> {
    return this.#retrying('look-up', key, deadlineMs, async () => {
      const answer = await this.#head('look-up', key, deadlineMs);
      if (answer.status === 200) {
        const contentType = answer.headers.get('content-type') ?? undefined;
        const etag = answer.headers.get('etag') ?? undefined;
        return {
          size: Number(answer.headers.get('content-length') ?? NaN),
          ...(contentType ? { contentType } : {}),
          ...(etag ? { etag } : {}),
        };
      }
      const error = this.#failure('look-up', key, answer);
      if (error.kind === 'wrong-region' || error.retryable) throw error;
      if (answer.status === 404) return 'missing';
      if (answer.status >= 400 && answer.status < 500) return 'refused';
      throw error;
    });
  }

  /**
   * Whether the credentials may read `key`, which exists: what the API's fetch through a presigned GET
   * needs (s3:GetObject). Fails with the store's answer when they may not.
   */
  async checkReadable(key: string, deadlineMs: number): Promise<void> {
    await this.#retrying('read', key, deadlineMs, async () => {
      const answer = await this.#head('read', key, deadlineMs);
      if (answer.status !== 200) throw this.#failure('read', key, answer);
    });
  }

  /**
   * A GET URL anyone holding it may use until it expires: `lifetimeMs` from now, at most S3's 7 days
   * and never past the credentials' expiry. The URL and its signature are masked before returning.
   */
  async presignGet(key: string, lifetimeMs: number): Promise<PresignedUrl> {
    const nowMs = this.#options.clock.now();
    const { maxPresignSeconds } = this.#options.limits;
    let seconds = Math.max(1, Math.ceil(lifetimeMs / 1000));
    let limitedBy: PresignedUrl['limitedBy'];
    if (seconds > maxPresignSeconds) [seconds, limitedBy] = [maxPresignSeconds, 'maximum'];
    const expiresAtMs = this.#options.credentials.expiresAtMs;
    if (expiresAtMs !== undefined) {
      const left = Math.floor((expiresAtMs - nowMs) / 1000);
      if (left < seconds) [seconds, limitedBy] = [Math.max(1, left), 'credentials'];
    }
    const signed = await presign(
      this.#signing,
      { method: 'GET', url: objectUrl(this.#options.address, key), expiresSeconds: seconds },
      nowMs,
    );
    this.#options.mask(signed.url);
    this.#options.mask(signed.signature);
    return {
      url: signed.url,
      signature: signed.signature,
      expiresAtMs: nowMs + seconds * 1000,
      lifetimeSeconds: seconds,
      ...(limitedBy ? { limitedBy } : {}),
    };
  }

  /** Deletes `key`; an object already gone (404 NoSuchKey, as GCS answers) counts as deleted. */
  async deleteObject(key: string, deadlineMs: number): Promise<void> {
    const url = objectUrl(this.#options.address, key);
    await this.#retrying('delete', key, deadlineMs, async () => {
      const headers = await this.#sign('DELETE', url, EMPTY_PAYLOAD);
      const answer = await this.#exchange('delete', key, deadlineMs, {
        method: 'DELETE',
        url,
        headers,
        timeoutMs: this.#options.limits.requestTimeoutMs,
      });
      if (answer.status === 204 || answer.status === 200) return;
      const error = this.#failure('delete', key, answer);
      if (answer.status === 404 && (error.code === undefined || error.code === 'NoSuchKey')) return;
      throw error;
    });
  }

  async #head(operation: StoreOperation, key: string, deadlineMs: number): Promise<Answer> {
    const url = objectUrl(this.#options.address, key);
    const headers = await this.#sign('HEAD', url, EMPTY_PAYLOAD);
    return this.#exchange(operation, key, deadlineMs, {
      method: 'HEAD',
      url,
      headers,
      timeoutMs: this.#options.limits.requestTimeoutMs,
    });
  }

  /** How a failure is retried: passing ones (busy, 5xx, network) under their budget and the deadline. */
  readonly classify: Classify = (error) => {
    if (!(error instanceof StoreError) || !error.retryable) return { retry: false };
    const status = error.status ? `HTTP ${error.status}` : undefined;
    return {
      retry: true,
      reason: status ? `${error.meaning}, ${status}` : error.meaning,
      retryAfterMs: error.retryAfterMs,
      budget: error.kind === 'busy' ? this.#busy : this.#failing,
    };
  };

  #retrying<T>(
    operation: StoreOperation,
    key: string,
    deadlineMs: number,
    attempt: () => Promise<T>,
  ): Promise<T> {
    return withRetries(
      { operation: `${OPERATION_LABEL[operation]} ${this.name(key)}`, classify: this.classify, deadlineMs },
      attempt,
      this.#options,
    );
  }

  #sign(method: string, url: string, payloadHash: string, headers: Record<string, string> = {}) {
    return signHeaders(
      this.#signing,
      { method, url, headers: { ...headers, 'user-agent': this.#options.userAgent }, payloadHash },
      this.#options.clock.now(),
    );
  }

  /** One request, no retries, no redirects: bounded by the timeout, the deadline and the signal. */
  async #exchange(
    operation: StoreOperation,
    key: string,
    deadlineMs: number,
    request: {
      method: 'PUT' | 'HEAD' | 'DELETE';
      url: string;
      headers: Record<string, string>;
      body?: NodeJS.ReadableStream | string;
      timeoutMs: number;
    },
  ): Promise<Answer> {
    const { signal } = this.#options;
    const remainingMs = deadlineMs - this.#options.clock.now();
    if (remainingMs <= 0) throw new DeadlineError(`${OPERATION_LABEL[operation]} ${this.name(key)}`);
    const limitMs = Math.min(request.timeoutMs, remainingMs);
    const timeout = AbortSignal.timeout(limitMs);
    try {
      const init: RequestInit = {
        method: request.method,
        headers: request.headers,
        // A body: 'error', since any other mode makes undici before 8.6 tee the body to replay it
        // on a redirect, holding the whole file in memory (nodejs/undici#4058). The look-up before
        // an upload reads a region redirect in full ('manual').
        redirect: request.body === undefined ? 'manual' : 'error',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      };
      // undici streams an async iterable (a file stream) with the Content-Length given.
      if (request.body !== undefined)
        Object.assign(init, { body: request.body as unknown as RequestInit['body'], duplex: 'half' });
      const response = await this.#options.fetch(request.url, init);
      const text =
        request.method === 'HEAD' ? '' : await readCapped(response, this.#options.limits.maxAnswerBytes);
      return { status: response.status, headers: response.headers, text };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof AnswerTooLargeError)
        throw new StoreError({ ...this.#facts(operation, key), tooLarge: true }, { cause: error });
      if (timeout.aborted) {
        if (limitMs < request.timeoutMs)
          throw new DeadlineError(`${OPERATION_LABEL[operation]} ${this.name(key)}`);
        const detail = `no answer within ${limitMs} ms`;
        throw new StoreError(
          { ...this.#facts(operation, key), transport: 'timeout', detail },
          { cause: error },
        );
      }
      const { failure, detail } = readNetworkError(error);
      if (/^unexpected redirect$/.test(detail))
        throw new StoreError({ ...this.#facts(operation, key), redirected: true }, { cause: error });
      throw new StoreError(
        { ...this.#facts(operation, key), transport: failure, detail: redact(detail, this.#secrets) },
        { cause: error },
      );
    }
  }

  #failure(operation: StoreOperation, key: string, answer: Answer): StoreError {
    const body = parseErrorBody(answer.text);
    if (body?.message) body.message = redact(body.message, this.#secrets);
    const bucketRegion = answer.headers.get('x-amz-bucket-region') ?? undefined;
    const requestId = answer.headers.get('x-amz-request-id') ?? undefined;
    const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'), this.#options.clock.now());
    return new StoreError({
      ...this.#facts(operation, key),
      status: answer.status,
      ...(body ? { body } : {}),
      ...(bucketRegion ? { bucketRegion } : {}),
      ...(requestId ? { requestId } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }

  #facts(operation: StoreOperation, key: string): StoreFailure {
    const { address, credentials } = this.#options;
    const folder = key.includes('/') ? `${key.slice(0, key.lastIndexOf('/'))}/*` : '*';
    return {
      operation,
      what: this.name(key),
      bucket: address.bucket,
      region: address.region,
      ...(address.endpoint ? { endpoint: address.endpoint } : {}),
      resource: `arn:aws:s3:::${address.bucket}/${folder}`,
      temporaryKey: isTemporaryKey(credentials),
      usedSessionToken: credentials.sessionToken !== undefined,
    };
  }
}
