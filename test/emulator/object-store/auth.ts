/**
 * Header and presigned-URL authentication as S3 performs it, on the store's clock: the errors S3
 * answers, in the order it checks (scope, key and token, clock, signature).
 */
import {
  ALGORITHM,
  canonicalRequest,
  parseAmzDate,
  parseAuthorization,
  parseCredential,
  queryPairs,
  sameSignature,
  scopeOf,
  signature,
  signingKey,
  stringToSign,
  UNSIGNED_PAYLOAD,
  type CredentialScope,
  type RawRequest,
} from './sigv4.ts';
import type { S3Error } from './answer.ts';
import type { StoreKey, StoreRequest } from './types.ts';

const MAX_SKEW_MS = 15 * 60_000;
const MAX_PRESIGN_SECONDS = 604_800;

export type Authenticated = { key: StoreKey; payloadHash: string };

export class Authenticator {
  readonly #keys: ReadonlyMap<string, StoreKey>;
  readonly #now: number;

  /** `now`: the store's clock at the request. */
  constructor(keys: ReadonlyMap<string, StoreKey>, now: number) {
    this.#keys = keys;
    this.#now = now;
  }

  /** Header or query authentication; the error S3 would answer otherwise. */
  authenticate(raw: RawRequest, region: string, record: StoreRequest): Authenticated | S3Error {
    const query = new Map(queryPairs(raw.rawQuery));
    if (query.has('X-Amz-Algorithm') || query.has('X-Amz-Signature'))
      return this.#fromQuery(raw, query, region, record);
    const header = raw.headers.get('authorization')?.[0];
    if (header) return this.#fromHeader(raw, header, region, record);
    return { status: 403, code: 'AccessDenied', message: 'Access Denied' };
  }

  #fromHeader(
    raw: RawRequest,
    header: string,
    region: string,
    record: StoreRequest,
  ): Authenticated | S3Error {
    const parsed = parseAuthorization(header);
    const scope = parsed && parseCredential(parsed.credential);
    if (!parsed || !scope)
      return malformed(
        `The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`,
      );
    record.accessKeyId = scope.accessKeyId;
    const amzDate = raw.headers.get('x-amz-date')?.[0] ?? '';
    const atMs = parseAmzDate(amzDate);
    if (Number.isNaN(atMs))
      return {
        status: 403,
        code: 'AccessDenied',
        message: 'AWS authentication requires a valid Date or x-amz-date header',
      };
    const payloadHash = raw.headers.get('x-amz-content-sha256')?.[0];
    if (!payloadHash)
      return {
        status: 400,
        code: 'InvalidRequest',
        message: 'Missing required header for this request: x-amz-content-sha256',
      };
    if (payloadHash !== UNSIGNED_PAYLOAD && !/^[0-9a-f]{64}$/.test(payloadHash))
      return payloadHash.startsWith('STREAMING-')
        ? {
            status: 501,
            code: 'NotImplemented',
            message: `${payloadHash} (aws-chunked uploads) is not supported`,
          }
        : {
            status: 400,
            code: 'InvalidArgument',
            message: 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, or a valid sha256 value.',
          };
    const checked = this.#checkScope(scope, amzDate, region, 'header');
    if (checked) return checked;
    const key = this.#keys.get(scope.accessKeyId);
    const token = raw.headers.get('x-amz-security-token')?.[0];
    const keyProblem = this.#checkKey(key, token, atMs, scope.accessKeyId);
    if (keyProblem) return keyProblem;
    const unsigned = [...raw.headers.keys()].filter(
      (name) => (name.startsWith('x-amz-') || name === 'host') && !parsed.signedHeaders.includes(name),
    );
    if (unsigned.length > 0)
      return {
        status: 403,
        code: 'AccessDenied',
        message: 'There were headers present in the request which were not signed',
        fields: [['HeadersNotSigned', unsigned.join(', ')]],
      };
    const mismatch = verify(raw, parsed.signedHeaders, payloadHash, amzDate, scope, key!, parsed.signature);
    if (mismatch) return mismatch;
    return { key: key!, payloadHash };
  }

  #fromQuery(
    raw: RawRequest,
    query: Map<string, string>,
    region: string,
    record: StoreRequest,
  ): Authenticated | S3Error {
    const queryError = (message: string): S3Error => ({
      status: 400,
      code: 'AuthorizationQueryParametersError',
      message,
    });
    if (query.get('X-Amz-Algorithm') !== ALGORITHM)
      return queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    const scope = parseCredential(query.get('X-Amz-Credential') ?? '');
    if (!scope)
      return queryError(
        `Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`,
      );
    record.accessKeyId = scope.accessKeyId;
    const amzDate = query.get('X-Amz-Date') ?? '';
    const atMs = parseAmzDate(amzDate);
    if (Number.isNaN(atMs))
      return queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    const expires = query.get('X-Amz-Expires') ?? '';
    if (!/^\d+$/.test(expires)) return queryError('X-Amz-Expires should be a number');
    if (Number(expires) > MAX_PRESIGN_SECONDS)
      return queryError('X-Amz-Expires must be less than a week (in seconds) that is 604800');
    if (Number(expires) < 1) return queryError('X-Amz-Expires must be non-negative');
    const signedHeaders = (query.get('X-Amz-SignedHeaders') ?? '').split(';');
    if (!signedHeaders.includes('host')) return queryError('X-Amz-SignedHeaders must contain host');
    const signatureProvided = query.get('X-Amz-Signature') ?? '';
    const checked = this.#checkScope(scope, amzDate, region, 'query');
    if (checked) return checked;
    const key = this.#keys.get(scope.accessKeyId);
    const keyProblem = this.#checkKey(key, query.get('X-Amz-Security-Token'), this.#now, scope.accessKeyId);
    if (keyProblem) return keyProblem;
    const now = this.#now;
    const expiresAtMs = atMs + Number(expires) * 1000;
    if (now > expiresAtMs)
      return {
        status: 403,
        code: 'AccessDenied',
        message: 'Request has expired',
        fields: [
          ['X-Amz-Expires', expires],
          ['Expires', new Date(expiresAtMs).toISOString()],
          ['ServerTime', new Date(now).toISOString()],
        ],
      };
    if (atMs > now + MAX_SKEW_MS)
      return { status: 403, code: 'AccessDenied', message: 'Request is not valid yet' };
    const payloadHash = raw.headers.get('x-amz-content-sha256')?.[0] ?? UNSIGNED_PAYLOAD;
    const mismatch = verify(raw, signedHeaders, payloadHash, amzDate, scope, key!, signatureProvided);
    if (mismatch) return mismatch;
    return { key: key!, payloadHash };
  }

  /** Region, service, date: the scope must fit the bucket and the request. */
  #checkScope(
    scope: CredentialScope,
    amzDate: string,
    region: string,
    mode: 'header' | 'query',
  ): S3Error | undefined {
    const prefix =
      mode === 'header'
        ? 'The authorization header is malformed;'
        : 'Error parsing the X-Amz-Credential parameter;';
    const code = mode === 'header' ? 'AuthorizationHeaderMalformed' : 'AuthorizationQueryParametersError';
    if (scope.region !== region)
      return {
        status: 400,
        code,
        message: `${prefix} the region '${scope.region}' is wrong; expecting '${region}'`,
        fields: [['Region', region]],
        headers: { 'x-amz-bucket-region': region },
      };
    if (scope.service !== 's3')
      return {
        status: 400,
        code,
        message: `${prefix} incorrect service "${scope.service}". This endpoint belongs to "s3".`,
      };
    if (scope.terminator !== 'aws4_request')
      return {
        status: 400,
        code,
        message: `${prefix} incorrect terminal "${scope.terminator}". This endpoint uses "aws4_request".`,
      };
    if (scope.date !== amzDate.slice(0, 8))
      return {
        status: 400,
        code,
        message: `${prefix} Invalid credential date "${scope.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
      };
    if (mode === 'header') {
      const now = this.#now;
      const atMs = parseAmzDate(amzDate);
      if (Math.abs(atMs - now) > MAX_SKEW_MS)
        return {
          status: 403,
          code: 'RequestTimeTooSkewed',
          message: 'The difference between the request time and the current time is too large.',
          fields: [
            ['RequestTime', amzDate],
            ['ServerTime', new Date(now).toISOString()],
            ['MaxAllowedSkewMilliseconds', String(MAX_SKEW_MS)],
          ],
        };
    }
    return undefined;
  }

  /** The key exists, and the session token is the one issued with it, unexpired. */
  #checkKey(
    key: StoreKey | undefined,
    token: string | undefined,
    atMs: number,
    accessKeyId: string,
  ): S3Error | undefined {
    const unknown: S3Error = {
      status: 403,
      code: 'InvalidAccessKeyId',
      message: 'The AWS Access Key Id you provided does not exist in our records.',
      fields: [['AWSAccessKeyId', accessKeyId]],
    };
    if (!key) return unknown;
    // A temporary key without its token is unknown to S3; a token that is not this key's is invalid.
    if (key.sessionToken !== undefined && token === undefined) return unknown;
    if (token !== undefined && token !== key.sessionToken)
      return {
        status: 400,
        code: 'InvalidToken',
        message: 'The provided token is malformed or otherwise invalid.',
      };
    if (key.expiresAtMs !== undefined && Math.max(atMs, this.#now) >= key.expiresAtMs)
      return { status: 400, code: 'ExpiredToken', message: 'The provided token has expired.' };
    return undefined;
  }
}

/** Checks the signature; SignatureDoesNotMatch carries what S3's does (the client must not show it). */
function verify(
  raw: RawRequest,
  signedHeaders: string[],
  payloadHash: string,
  amzDate: string,
  scope: CredentialScope,
  key: StoreKey,
  provided: string,
): S3Error | undefined {
  const canonical = canonicalRequest(raw, signedHeaders, payloadHash);
  const toSign = stringToSign(amzDate, scopeOf(scope), canonical);
  const expected = signature(
    signingKey(key.secretAccessKey, scope.date, scope.region, scope.service),
    toSign,
  );
  if (sameSignature(expected, provided)) return undefined;
  return {
    status: 403,
    code: 'SignatureDoesNotMatch',
    message:
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    fields: [
      ['AWSAccessKeyId', key.accessKeyId],
      ['StringToSign', toSign],
      ['SignatureProvided', provided],
      ['CanonicalRequest', canonical],
    ],
  };
}

function malformed(message: string): S3Error {
  return { status: 400, code: 'AuthorizationHeaderMalformed', message };
}
