/**
 * AWS Signature Version 4 through aws4fetch's signer: about 11 KB, no dependencies, Web Crypto only,
 * and the signer Cloudflare documents for R2. The signer alone is used: requests go through our own
 * fetch, retry discipline and limits, not through its client (which retries by itself). No checksum
 * headers are added, unlike the AWS SDK's defaults that R2 and MinIO refuse.
 */
import { AwsV4Signer } from 'aws4fetch';
import type { Credentials } from './credentials.ts';

/** x-amz-content-sha256 for a body that is streamed without hashing it first (S3, R2, MinIO, GCS take it). */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** SHA-256 of no bytes: the payload hash of HEAD and DELETE. */
export const EMPTY_PAYLOAD = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface Signing {
  credentials: Credentials;
  region: string;
  /** Derived signing keys, one per day, reused between requests. */
  cache: Map<string, ArrayBuffer>;
}

/** 20240101T000000Z */
function amzDate(nowMs: number): string {
  return new Date(nowMs).toISOString().replace(/[:-]|\.\d{3}/g, '');
}

function signer(
  signing: Signing,
  fields: { method: string; url: string; headers?: Record<string, string> },
  nowMs: number,
  signQuery: boolean,
) {
  const { credentials } = signing;
  return new AwsV4Signer({
    ...fields,
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    service: 's3',
    region: signing.region,
    cache: signing.cache,
    datetime: amzDate(nowMs),
    signQuery,
  });
}

/** The request's headers with X-Amz-Date, the payload hash, the session token and Authorization added. */
export async function signHeaders(
  signing: Signing,
  request: { method: string; url: string; headers: Record<string, string>; payloadHash: string },
  nowMs: number,
): Promise<Record<string, string>> {
  const headers = { ...request.headers, 'x-amz-content-sha256': request.payloadHash };
  const signed = await signer(
    signing,
    { method: request.method, url: request.url, headers },
    nowMs,
    false,
  ).sign();
  return Object.fromEntries(signed.headers);
}

/** A presigned URL (query authentication) valid for `expiresSeconds` from `nowMs`, and its signature. */
export async function presign(
  signing: Signing,
  request: { method: 'GET'; url: string; expiresSeconds: number },
  nowMs: number,
): Promise<{ url: string; signature: string }> {
  const url = new URL(request.url);
  url.searchParams.set('X-Amz-Expires', String(request.expiresSeconds));
  const signed = await signer(signing, { method: request.method, url: url.toString() }, nowMs, true).sign();
  return { url: signed.url.toString(), signature: signed.url.searchParams.get('X-Amz-Signature') ?? '' };
}
