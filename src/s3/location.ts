/**
 * Where objects go: `s3://bucket/prefix`, the store's endpoint and region, and the URL of one object.
 * Pure functions, so values are checked before any request. Problems are phrases about the value
 * ("it has no bucket"); the caller names the input they came from.
 */
import { isForbiddenAddress, isLoopbackHost } from '../net/address.ts';

export interface BucketLocation {
  bucket: string;
  /** No leading or trailing slash; '' for the bucket's root. */
  prefix: string;
}

/** What the caller could write instead, when a value looks like another way of naming a bucket. */
export interface Suggestion {
  url: string;
  /** The store's origin, for a bucket that is not on Amazon S3. */
  endpoint?: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string; suggestion?: Suggestion };

const AMAZON_HOST = /^(?:(.+)\.)?s3(?:[.-](?:dualstack\.)?([a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$/;
/** Keys end in a 64-hex digest and an extension; S3 allows 1024 bytes in all. */
const MAX_PREFIX_BYTES = 512;

/** Parses `s3://bucket/prefix` (trailing slashes ignored). */
export function parseS3Url(raw: string): Checked<BucketLocation> {
  const value = raw.trim();
  if (value === '') return fail('it is empty; give s3://bucket/prefix');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') return fromHttpUrl(value);
  if (scheme === 'gs')
    return fail('it is a gs:// URL; Google Cloud Storage is reached through its S3-compatible API', {
      url: `s3://${value.slice('gs://'.length)}`.replace(/\/+$/, ''),
      endpoint: 'https://storage.googleapis.com',
    });
  if (scheme === 'arn') {
    const arn = /^arn:aws[a-z-]*:s3:::(.+)$/.exec(value);
    return fail(
      'it is an ARN; give s3://bucket/prefix',
      arn ? { url: `s3://${arn[1]!.replace(/\/?\*?$/, '')}` } : undefined,
    );
  }
  if (scheme !== 's3') return fail('it must start with s3:// (s3://bucket/prefix)');
  if (!value.startsWith('s3://')) return fail('it must start with s3:// in lower case (s3://bucket/prefix)');
  const rest = value.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  // Never quote the value back: s3://KEY:SECRET@bucket must not reach a log.
  if (bucket.includes('@') || bucket.includes(':'))
    return fail('it must not carry credentials or a port; they come from the AWS_* variables');
  if (bucket === '') return fail('it has no bucket (s3://bucket/prefix)');
  const bucketProblem = bucketNameProblem(bucket);
  if (bucketProblem) return fail(bucketProblem);
  const prefixProblem = keyPrefixProblem(prefix);
  if (prefixProblem) return fail(prefixProblem);
  return { ok: true, value: { bucket, prefix } };
}

/**
 * S3's naming rules (and GCS's underscores): 3–63 characters (GCS allows 222 with dots), lower-case
 * letters, digits, dots, hyphens, starting and ending with a letter or digit, not an IP address.
 */
export function bucketNameProblem(bucket: string): string | undefined {
  const max = bucket.includes('.') ? 222 : 63;
  if (bucket.length < 3 || bucket.length > max)
    return `the bucket name must be 3 to 63 characters long (it has ${bucket.length})`;
  if (/[A-Z]/.test(bucket)) return 'bucket names are lower case';
  if (!/^[a-z0-9._-]+$/.test(bucket))
    return 'the bucket name may hold only lower-case letters, digits, dots, hyphens and underscores';
  if (!/^[a-z0-9].*[a-z0-9]$/.test(bucket))
    return 'the bucket name must start and end with a letter or digit';
  if (bucket.includes('..')) return 'the bucket name must not hold two dots in a row';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return 'the bucket name must not be an IP address';
  return undefined;
}

function keyPrefixProblem(prefix: string): string | undefined {
  if (prefix === '') return undefined;
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(prefix)) return 'the prefix must not hold control characters';
  if (/[?#\\]/.test(prefix)) return 'the prefix must not hold ?, # or \\';
  const segments = prefix.split('/');
  if (segments.some((s) => s === '')) return 'the prefix must not hold an empty path segment (//)';
  if (segments.some((s) => s === '.' || s === '..')) return 'the prefix must not hold . or .. segments';
  if (Buffer.byteLength(prefix) > MAX_PREFIX_BYTES)
    return `the prefix must be at most ${MAX_PREFIX_BYTES} bytes long`;
  return undefined;
}

/** An https URL of a bucket: say what the s3:// form (and endpoint) would be. */
function fromHttpUrl(value: string): Checked<BucketLocation> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail('it must be s3://bucket/prefix, not a URL');
  }
  const path = decodeSafely(url.pathname).replace(/^\/+|\/+$/g, '');
  const amazon = AMAZON_HOST.exec(url.hostname);
  const problem = 'it is an https URL; give the bucket as s3://bucket/prefix';
  if (amazon?.[1]) return fail(problem, { url: joinS3(amazon[1], path) });
  const [first = '', ...others] = path.split('/');
  if (amazon) return fail(problem, first ? { url: joinS3(first, others.join('/')) } : undefined);
  if (url.username || url.password) return fail(`${problem}, with no credentials in it`);
  return fail(
    `${problem}, and the store's address as its endpoint`,
    first ? { url: joinS3(first, others.join('/')), endpoint: url.origin } : undefined,
  );
}

function joinS3(bucket: string, prefix: string): string {
  return prefix ? `s3://${bucket}/${prefix}` : `s3://${bucket}`;
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function fail(
  problem: string,
  suggestion?: Suggestion,
): { ok: false; problem: string; suggestion?: Suggestion } {
  return suggestion ? { ok: false, problem, suggestion } : { ok: false, problem };
}

/**
 * An S3-compatible store's address: its origin only (the bucket goes in the s3:// URL), https, or
 * http on loopback (a local store in tests: anywhere else the signature and the video would cross
 * the network in the clear).
 */
export function parseEndpoint(raw: string): Checked<string> {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return fail('it must be an absolute https URL, e.g. https://<account>.r2.cloudflarestorage.com');
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname))
    return fail('it must use https (http only on loopback, for a local store)');
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return fail(`it uses the ${url.protocol} scheme; it must be an https URL`);
  if (url.username || url.password)
    return fail('it must not carry credentials; they come from the AWS_* variables');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isForbiddenAddress(host)) return fail(`it points at a link-local or cloud metadata address (${host})`);
  if (url.search || url.hash) return fail('it must not hold a query or a fragment');
  const path = url.pathname.replace(/\/+$/, '');
  if (path !== '') {
    const [bucket = '', ...rest] = path.slice(1).split('/');
    return fail("it must be the store's origin only; the bucket goes in s3://bucket/prefix", {
      url: joinS3(decodeSafely(bucket), decodeSafely(rest.join('/'))),
      endpoint: url.origin,
    });
  }
  return { ok: true, value: url.origin };
}

/**
 * A signing region: Amazon's (`eu-west-1`), `auto` (R2, GCS) or an S3-compatible store's own name.
 * Amazon S3 itself (no endpoint) needs the bucket's real region.
 */
export function regionProblem(region: string, onAmazon: boolean): string | undefined {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(region))
    return 'the region must be a name such as eu-west-1 (lower-case letters, digits and hyphens)';
  if (onAmazon && region === 'auto')
    return '`auto` is for Cloudflare R2 or Google Cloud Storage; Amazon S3 needs the bucket’s region, such as eu-west-1';
  if (onAmazon && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))
    return 'Amazon S3 regions look like eu-west-1; for another store, give its endpoint too';
  return undefined;
}

/** A bucket on a store: Amazon S3 for the region when `endpoint` is undefined. */
export interface StoreAddress {
  bucket: string;
  region: string;
  /** An S3-compatible store's origin (parseEndpoint), addressed path-style. */
  endpoint?: string;
}

/**
 * The URL of `key`. Amazon S3: virtual-hosted (`bucket.s3.region.amazonaws.com`), path-style when the
 * bucket name is not a plain host label (dots break the wildcard TLS certificate). Custom endpoints:
 * path-style, which every S3-compatible store (R2, GCS, MinIO) serves.
 */
export function objectUrl(address: StoreAddress, key: string): string {
  const path = encodeKey(key);
  if (address.endpoint) return `${address.endpoint}/${encodeSegment(address.bucket)}/${path}`;
  const domain = address.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  const host = `s3.${address.region}.${domain}`;
  return /^[a-z0-9-]+$/.test(address.bucket)
    ? `https://${address.bucket}.${host}/${path}`
    : `https://${host}/${address.bucket}/${path}`;
}

/** `prefix/name`, or `name` at the bucket's root. */
export function objectKey(prefix: string, name: string): string {
  return prefix ? `${prefix}/${name}` : name;
}

/** How the object is named in messages: never its URL, which may carry a signature. */
export function objectName(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** Each segment encoded as SigV4's canonical URI has it (RFC 3986 unreserved left as they are). */
function encodeKey(key: string): string {
  return key.split('/').map(encodeSegment).join('/');
}

function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
