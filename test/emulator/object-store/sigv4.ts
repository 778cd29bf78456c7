/**
 * AWS Signature Version 4 as S3 checks it, written from AWS's specification ("Signature Version 4
 * signing process", "Authenticating requests: Using query parameters") with node:crypto alone. It
 * shares no code with the action's signer (aws4fetch), so a bug in one is caught by the other.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** One request as it arrived: the raw path and query, and every header value as sent. */
export interface RawRequest {
  method: string;
  /** The request target's path, still percent-encoded. */
  rawPath: string;
  /** The request target's query without `?`, still encoded; '' when none. */
  rawQuery: string;
  /** Lower-case name → values in arrival order. */
  headers: Map<string, string[]>;
}

/** RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4's UriEncode. */
export function uriEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decode(text: string, plusIsSpace: boolean): string {
  const spaced = plusIsSpace ? text.replace(/\+/g, ' ') : text;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** S3 signs the path as sent, each segment decoded once and encoded again (no normalisation). */
export function canonicalUri(rawPath: string): string {
  return rawPath
    .split('/')
    .map((segment) => uriEncode(decode(segment, false)))
    .join('/');
}

/** The query's decoded pairs, in order. */
export function queryPairs(rawQuery: string): [string, string][] {
  if (rawQuery === '') return [];
  return rawQuery
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq === -1
        ? [decode(part, true), '']
        : [decode(part.slice(0, eq), true), decode(part.slice(eq + 1), true)];
    });
}

/** Pairs encoded, sorted by name then value, joined; `X-Amz-Signature` left out (presigned URLs). */
export function canonicalQuery(rawQuery: string): string {
  return queryPairs(rawQuery)
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([n1, v1], [n2, v2]) => (n1 < n2 ? -1 : n1 > n2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** `name:value` lines for the signed headers: values trimmed, inner runs of spaces collapsed. */
export function canonicalHeaders(headers: Map<string, string[]>, signed: string[]): string {
  return signed
    .map((name) => {
      const values = (headers.get(name) ?? []).map((v) => v.trim().replace(/ +/g, ' '));
      return `${name}:${values.join(',')}\n`;
    })
    .join('');
}

export function canonicalRequest(request: RawRequest, signedHeaders: string[], payloadHash: string): string {
  return [
    request.method,
    canonicalUri(request.rawPath),
    canonicalQuery(request.rawQuery),
    canonicalHeaders(request.headers, signedHeaders),
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
}

/** HMAC chain: "AWS4"+secret → date → region → service → "aws4_request". */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}

export function signature(key: Buffer, toSign: string): string {
  return createHmac('sha256', key).update(toSign).digest('hex');
}

/** Constant-time comparison of two hex signatures. */
export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `AKID/20240101/region/s3/aws4_request` */
export interface CredentialScope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
}

export function parseCredential(text: string): CredentialScope | undefined {
  const parts = text.split('/');
  if (parts.length !== 5) return undefined;
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  return { accessKeyId, date, region, service, terminator };
}

export function scopeOf(c: CredentialScope): string {
  return [c.date, c.region, c.service, c.terminator].join('/');
}

/** `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` */
export function parseAuthorization(
  header: string,
): { credential: string; signedHeaders: string[]; signature: string } | undefined {
  if (!header.startsWith(`${ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) return undefined;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const sig = fields.get('Signature');
  if (!credential || !signedHeaders || !sig) return undefined;
  return { credential, signedHeaders: signedHeaders.split(';'), signature: sig };
}

/** 20240101T000000Z → ms since epoch, or NaN. */
export function parseAmzDate(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

export function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/**
 * A presigned URL made the way the specification describes, for tests that need one the action did
 * not make (a plain PUT in the bench, an expired or tampered URL).
 */
export function presignUrl(options: {
  origin: string;
  method: string;
  /** Path as it goes on the wire: `/bucket/key`, encoded. */
  path: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
  atMs: number;
  expiresSeconds: number;
}): string {
  const amzDate = formatAmzDate(options.atMs);
  const scope = `${amzDate.slice(0, 8)}/${options.region}/s3/aws4_request`;
  const params: [string, string][] = [
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', `${options.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(options.expiresSeconds)],
    ['X-Amz-SignedHeaders', 'host'],
    ...(options.sessionToken ? [['X-Amz-Security-Token', options.sessionToken] as [string, string]] : []),
  ];
  const rawQuery = params.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&');
  const host = new URL(options.origin).host;
  const request: RawRequest = {
    method: options.method,
    rawPath: options.path,
    rawQuery,
    headers: new Map([['host', [host]]]),
  };
  const toSign = stringToSign(amzDate, scope, canonicalRequest(request, ['host'], UNSIGNED_PAYLOAD));
  const key = signingKey(options.secretAccessKey, amzDate.slice(0, 8), options.region, 's3');
  return `${options.origin}${options.path}?${rawQuery}&X-Amz-Signature=${signature(key, toSign)}`;
}
