/**
 * Every way a request to the store can fail, classified in one place from S3's XML error body (Code,
 * Message, RequestId, Region), the status and S3's headers, or from the transport. Each message names
 * the store's code and what to fix; none quotes a credential, a signature or a presigned URL (S3's
 * SignatureDoesNotMatch body carries the string to sign and more: only its Message is read, and
 * redacted). Advice names no action input: the caller can add that (`withAdvice`, `rightRegion`).
 */
import { quoteExternal } from '../net/external-text.ts';
import type { TransportFailure } from '../net/network-error.ts';

/** `read`: the check that the API's fetch of a presigned GET will be allowed. */
export type StoreOperation = 'upload' | 'look-up' | 'delete' | 'read';

/**
 * The IAM action each operation needs (GCS and R2 keys: write or read access to the bucket); `read`
 * is what the API's fetch of a presigned URL needs.
 */
const PERMISSION: Record<StoreOperation, string> = {
  upload: 's3:PutObject',
  'look-up': 's3:GetObject',
  delete: 's3:DeleteObject',
  read: 's3:GetObject',
};

export type StoreErrorKind =
  | 'no-such-bucket'
  | 'access-denied'
  | 'wrong-region'
  | 'clock-skew'
  | 'unknown-key'
  | 'signature'
  | 'token-expired'
  | 'token-invalid'
  | 'content-changed'
  | 'busy'
  | 'server'
  | 'transport'
  | 'refused'
  | 'unexpected';

/** S3's error body: `<Error><Code>…</Code><Message>…</Message>…</Error>`. */
export interface ErrorBody {
  code?: string;
  message?: string;
  requestId?: string;
  region?: string;
  endpoint?: string;
  requestTime?: string;
  serverTime?: string;
}

/** What one failed request showed; `what` is the object as s3://bucket/key. */
export interface StoreFailure {
  operation: StoreOperation;
  what: string;
  bucket: string;
  /** The region the request was signed for. */
  region: string;
  /** An S3-compatible store's origin; undefined for Amazon S3. */
  endpoint?: string;
  /** The resource an IAM policy must allow: arn:aws:s3:::bucket/prefix/*. */
  resource: string;
  /** The key id is temporary (ASIA…): it needs its session token. */
  temporaryKey?: boolean;
  usedSessionToken?: boolean;
  status?: number;
  body?: ErrorBody;
  /** x-amz-bucket-region: where the bucket really is. */
  bucketRegion?: string;
  requestId?: string;
  retryAfterMs?: number;
  transport?: TransportFailure;
  /** The network stack's words for a transport failure. */
  detail?: string;
  /** The answer was larger than any error body and was not read further. */
  tooLarge?: boolean;
  /** An upload was answered with a redirect (not followed, not read). */
  redirected?: boolean;
}

export interface StoreClassification {
  kind: StoreErrorKind;
  retryable: boolean;
  meaning: string;
  advice: string;
}

const RETRIED = 'The action retried with backoff; re-run the job if it persists.';
const CLOCK_ADVICE =
  "Fix the runner's clock (NTP time sync on a self-hosted runner); S3 refuses requests more than 15 minutes off.";

/** Retryable codes S3 documents ("retry the request"). */
const BUSY_CODES = new Set(['SlowDown', 'ServiceUnavailable', 'RequestLimitExceeded', 'TooManyRequests']);
const SERVER_CODES = new Set(['InternalError', 'RequestTimeout', 'OperationAborted']);

export function classifyStoreFailure(f: StoreFailure): StoreClassification {
  const code = f.body?.code;
  const status = f.status;
  const rightRegion = regionOf(f);
  if (f.transport)
    return {
      kind: 'transport',
      retryable: f.transport !== 'forbidden' && f.transport !== 'proxy' && f.transport !== 'bad-port',
      meaning: `network error (${f.transport})`,
      advice:
        f.transport === 'dns' || f.transport === 'refused' || f.transport === 'tls'
          ? `Check the store's address${f.endpoint ? ` (${f.endpoint})` : ' and region'} and the runner's network or proxy.`
          : RETRIED,
    };
  if (f.tooLarge)
    return {
      kind: 'unexpected',
      retryable: false,
      meaning: 'the answer is far larger than any answer of an S3 store (it was not read further)',
      advice: `Check the store's address${f.endpoint ? ` (${f.endpoint})` : ''}: something other than an S3 API answered.`,
    };
  if (f.redirected)
    return {
      kind: 'wrong-region',
      retryable: false,
      meaning: 'the store answered with a redirect: the bucket is in another region, or at another address',
      advice: f.endpoint
        ? "Check the store's endpoint and region."
        : "Set the region to the bucket's region.",
    };
  if (rightRegion && rightRegion !== f.region && pointsElsewhere(f))
    return {
      kind: 'wrong-region',
      retryable: false,
      meaning: `the bucket is in ${rightRegion}, not ${f.region}`,
      advice: `Sign for ${rightRegion}: set the region to ${rightRegion}.`,
    };
  switch (code) {
    case 'NoSuchBucket':
      return {
        kind: 'no-such-bucket',
        retryable: false,
        meaning: `no bucket named ${f.bucket} on ${storeName(f)}`,
        advice: `Check the bucket name${f.endpoint ? ' and the endpoint' : ' and the region'}, or create the bucket.`,
      };
    case 'AccessDenied':
    case 'AllAccessDisabled':
      return {
        kind: 'access-denied',
        retryable: false,
        meaning: 'access denied',
        advice: accessAdvice(f),
      };
    case 'RequestTimeTooSkewed':
      return {
        kind: 'clock-skew',
        retryable: false,
        meaning: `the runner's clock differs from the store's by more than 15 minutes${skewNote(f.body)}`,
        advice: CLOCK_ADVICE,
      };
    case 'InvalidAccessKeyId':
      return {
        kind: 'unknown-key',
        retryable: false,
        meaning: `${storeName(f)} does not know this access key id`,
        advice:
          f.temporaryKey && !f.usedSessionToken
            ? 'This is a temporary key (ASIA…): set AWS_SESSION_TOKEN with it, as configure-aws-credentials does.'
            : `Check AWS_ACCESS_KEY_ID: it must be a key of this store${f.endpoint ? ' (an R2 or GCS HMAC key id for those stores)' : ''}, not deleted or deactivated.`,
      };
    case 'SignatureDoesNotMatch':
      return {
        kind: 'signature',
        retryable: false,
        meaning: 'the request signature does not match',
        advice: `Check AWS_SECRET_ACCESS_KEY (the secret of that key id, without stray characters)${f.endpoint ? ", and the store's region (auto for R2)" : ''}.`,
      };
    case 'ExpiredToken':
    case 'TokenRefreshRequired':
      return {
        kind: 'token-expired',
        retryable: false,
        meaning: 'the session credentials expired',
        advice:
          'Get fresh credentials before this step (configure-aws-credentials: a longer role-duration-seconds, or run it again right before).',
      };
    case 'InvalidToken':
      return {
        kind: 'token-invalid',
        retryable: false,
        meaning: 'the session token is not valid',
        advice:
          'Set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from the same credentials (an S3-compatible store takes no session token).',
      };
    case 'XAmzContentSHA256Mismatch':
    case 'BadDigest':
      return {
        kind: 'content-changed',
        retryable: false,
        meaning: 'the bytes the store received do not match the digest sent with them',
        advice: 'The file changed while it was uploaded: let the step that writes it finish first.',
      };
    case 'AuthorizationHeaderMalformed':
    case 'AuthorizationQueryParametersError':
      return {
        kind: 'refused',
        retryable: false,
        meaning: 'the store refused the signature’s form',
        advice: `Check the region${f.endpoint ? ' (auto for R2)' : ''} and, for an S3-compatible store, that it speaks Signature Version 4.`,
      };
  }
  if (code && BUSY_CODES.has(code))
    return {
      kind: 'busy',
      retryable: true,
      meaning: `the store asks to slow down (${code})`,
      advice: RETRIED,
    };
  if (code && SERVER_CODES.has(code))
    return { kind: 'server', retryable: true, meaning: `the store failed (${code})`, advice: RETRIED };
  if (status === 503 || status === 429)
    return { kind: 'busy', retryable: true, meaning: `the store is busy (HTTP ${status})`, advice: RETRIED };
  if (status !== undefined && status >= 500)
    return { kind: 'server', retryable: true, meaning: `server error (HTTP ${status})`, advice: RETRIED };
  if (status === 403)
    // A HEAD answer has no body: 403 is all there is.
    return { kind: 'access-denied', retryable: false, meaning: 'access denied', advice: accessAdvice(f) };
  if (status === 404 && !code)
    return {
      kind: 'no-such-bucket',
      retryable: false,
      meaning: `not found on ${storeName(f)}`,
      advice: `Check the bucket name${f.endpoint ? ' and the endpoint' : ' and the region'}.`,
    };
  if (status !== undefined && status >= 300 && status < 400)
    return {
      kind: 'wrong-region',
      retryable: false,
      meaning: `the store redirects (HTTP ${status}): the bucket is elsewhere`,
      advice: f.endpoint ? "Check the store's endpoint." : "Set the region to the bucket's region.",
    };
  return {
    kind: status !== undefined && status >= 400 ? 'refused' : 'unexpected',
    retryable: false,
    meaning: code ? `the store refused (${quoteExternal(code, 60)})` : `unexpected HTTP ${status ?? '?'}`,
    advice: f.endpoint
      ? `Check the store's endpoint (${f.endpoint}) and region.`
      : 'Check the bucket and region.',
  };
}

const REGION_CODES = new Set([
  'AuthorizationHeaderMalformed',
  'PermanentRedirect',
  'TemporaryRedirect',
  'IllegalLocationConstraintException',
]);

/**
 * The answer is about the bucket's region: a region code, or a redirect or a bodiless 400 (HEAD).
 * Not any answer with x-amz-bucket-region: some stores send it on every answer.
 */
function pointsElsewhere(f: StoreFailure): boolean {
  const code = f.body?.code;
  if (code) return REGION_CODES.has(code);
  return f.status === 301 || f.status === 307 || f.status === 400;
}

function accessAdvice(f: StoreFailure): string {
  const permission = PERMISSION[f.operation];
  const lookUp =
    f.operation === 'look-up'
      ? ' (s3:ListBucket too, to tell a missing object from a forbidden one)'
      : f.operation === 'read'
        ? ' (the API fetches the video through a presigned GET, which needs it)'
        : '';
  return f.endpoint
    ? `Give the key ${permission} on ${f.resource}${lookUp}: on R2 or GCS, object read and write access to the bucket.`
    : `Allow ${permission} on ${f.resource}${lookUp} in the IAM policy of the role or user, and check the bucket policy.`;
}

function storeName(f: StoreFailure): string {
  return f.endpoint ?? `Amazon S3 (${f.region})`;
}

/** Where the store says the bucket is: x-amz-bucket-region, the body's <Region>, or a redirect's endpoint. */
function regionOf(f: StoreFailure): string | undefined {
  const fromEndpoint = /\.s3[.-](?:dualstack\.)?([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com/.exec(
    f.body?.endpoint ?? '',
  )?.[1];
  const region = f.bucketRegion ?? f.body?.region ?? fromEndpoint;
  return region && /^[a-z0-9-]{1,64}$/.test(region) ? region : undefined;
}

function skewNote(body: ErrorBody | undefined): string {
  if (!body?.requestTime || !body.serverTime) return '';
  return ` (request time ${quoteExternal(body.requestTime, 40)}, store time ${quoteExternal(body.serverTime, 40)})`;
}

/** A request to the store that failed; the message names the code, what it means and what to do. */
export class StoreError extends Error {
  readonly kind: StoreErrorKind;
  readonly retryable: boolean;
  readonly operation: StoreOperation;
  readonly status: number | undefined;
  /** The store's error code (`AccessDenied`), when it sent one. */
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;
  /** Where the bucket really is, when the store said (wrong-region). */
  readonly rightRegion: string | undefined;
  readonly transport: TransportFailure | undefined;
  /** The message without its advice, for a caller with better advice (naming an input). */
  readonly summary: string;
  /** What went wrong, in a phrase: "the store asks to slow down (SlowDown)". */
  readonly meaning: string;
  readonly advice: string;

  constructor(failure: StoreFailure, options?: { cause?: unknown }) {
    const c = classifyStoreFailure(failure);
    const summary = describe(failure, c);
    super(`${summary} ${c.advice}${requestIdNote(failure)}`, options);
    this.name = 'StoreError';
    this.kind = c.kind;
    this.retryable = c.retryable;
    this.operation = failure.operation;
    this.status = failure.status;
    this.code = failure.body?.code;
    this.requestId = failure.body?.requestId ?? failure.requestId;
    this.retryAfterMs = failure.retryAfterMs;
    this.rightRegion = c.kind === 'wrong-region' ? regionOf(failure) : undefined;
    this.transport = failure.transport;
    this.summary = summary;
    this.meaning = c.meaning;
    this.advice = c.advice;
  }

  withAdvice(advice: string): string {
    return `${this.summary} ${advice}${this.requestId ? ` (request id ${quoteExternal(this.requestId, 80)})` : ''}`;
  }
}

/** How messages and retry notices begin: "Upload of s3://bucket/key". */
export const OPERATION_LABEL: Record<StoreOperation, string> = {
  upload: 'Upload of',
  'look-up': 'Look-up of',
  delete: 'Delete of',
  read: 'Read of',
};

function describe(f: StoreFailure, c: StoreClassification): string {
  const where = [
    f.body?.code ? quoteExternal(f.body.code, 60) : undefined,
    f.status ? `HTTP ${f.status}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  const said = f.transport
    ? f.detail
      ? ` Detail: "${quoteExternal(f.detail)}".`
      : ''
    : f.body?.message
      ? ` Store said: "${quoteExternal(f.body.message)}".`
      : '';
  return `${OPERATION_LABEL[f.operation]} ${f.what} failed${where ? ` [${where}]` : ''}: ${c.meaning}.${said}`;
}

function requestIdNote(f: StoreFailure): string {
  const id = f.body?.requestId ?? f.requestId;
  return id ? ` (request id ${quoteExternal(id, 80)})` : '';
}

/**
 * The flat fields of S3's <Error> document. Only these are read: SignatureDoesNotMatch also carries
 * <StringToSign>, <CanonicalRequest> and <SignatureProvided>, which no message may show.
 */
export function parseErrorBody(text: string): ErrorBody | undefined {
  if (!/<Error[\s>]/.test(text)) return undefined;
  const field = (name: string) => {
    const match = new RegExp(`<${name}>([^<]{0,2000})</${name}>`).exec(text);
    return match ? decodeXml(match[1]!).trim() : undefined;
  };
  const body: ErrorBody = {};
  for (const [key, name] of [
    ['code', 'Code'],
    ['message', 'Message'],
    ['requestId', 'RequestId'],
    ['region', 'Region'],
    ['endpoint', 'Endpoint'],
    ['requestTime', 'RequestTime'],
    ['serverTime', 'ServerTime'],
  ] as const) {
    const value = field(name);
    if (value) body[key] = value;
  }
  return body;
}

function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (entity: string, name: string) => {
    const lower = name.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(Number.parseInt(lower.slice(2), 16) % 0x110000);
    if (lower.startsWith('#')) return String.fromCodePoint(Number(lower.slice(1)) % 0x110000);
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[lower] ?? entity;
  });
}

/**
 * Server text with any of `secrets` (a key id echoed back, say) cut out. Shorter values are left:
 * no real credential is that short, and cutting common words would garble the message.
 */
export function redact(text: string | undefined, secrets: readonly string[]): string | undefined {
  if (text === undefined) return undefined;
  let out = text;
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join('***');
  return out;
}
