/**
 * What the results-service and cache-service fakes share: GitHub's Twirp JSON conventions (errors,
 * proto3 JSON fields) and the Azure blob storage their signed URLs point to (SAS-like signatures,
 * block lists, XML errors). Each fake keeps only its own service's methods.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const STORAGE_VERSION = '2025-01-05';
const SAS_LIFETIME_MS = 60 * 60 * 1000;

export type Json = Record<string, unknown>;

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
  recordedBody: unknown;
}

/** A refusal thrown inside a handler; the subclass picks the wire format it is answered in. */
abstract class HandlerError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, msg: string) {
    super(msg);
    this.status = status;
    this.code = code;
  }
}

/** Becomes a Twirp JSON error. */
export class TwirpError extends HandlerError {}

/** Becomes an Azure XML StorageError. */
export class StorageError extends HandlerError {}

/** Signs blob URLs like a SAS: the signature covers path, permissions and expiry, so none can be altered. */
export class SasSigner {
  readonly #key = randomBytes(32);
  readonly #origin: string;

  constructor(origin: string) {
    this.#origin = origin;
  }

  url(blobPath: string, permissions: string): string {
    const expiry = new Date(Date.now() + SAS_LIFETIME_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const query = new URLSearchParams({
      sv: STORAGE_VERSION,
      se: expiry,
      sr: 'b',
      sp: permissions,
      sig: this.#signature(blobPath, permissions, expiry),
    });
    return `${this.#origin}${blobPath}?${query.toString()}`;
  }

  /** Throws the StorageError Azure answers for a URL that was altered, expired or lacks `permission`. */
  verify(url: URL, permission: string): void {
    const sig = url.searchParams.get('sig');
    const permissions = url.searchParams.get('sp') ?? '';
    const expiry = url.searchParams.get('se') ?? '';
    const expected = Buffer.from(this.#signature(url.pathname, permissions, expiry));
    if (sig === null || !safeEqual(Buffer.from(sig), expected))
      throw new StorageError(403, 'AuthenticationFailed', 'Signature did not match.');
    if (!(Date.parse(expiry) > Date.now()))
      throw new StorageError(403, 'AuthenticationFailed', 'Signed expiry time has passed.');
    if (!permissions.includes(permission))
      throw new StorageError(
        403,
        'AuthorizationPermissionMismatch',
        `The SAS does not grant permission '${permission}'.`,
      );
  }

  #signature(blobPath: string, permissions: string, expiry: string): string {
    return createHmac('sha256', this.#key).update(`${permissions}\n${expiry}\n${blobPath}`).digest('base64');
  }
}

// ---- Requests and replies ----

export function sendReply(request: IncomingMessage, response: ServerResponse, reply: Reply): void {
  response.writeHead(reply.status, {
    ...reply.headers,
    'content-length': String(Buffer.byteLength(reply.body)),
  });
  response.end(request.method === 'HEAD' ? undefined : reply.body);
}

export function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---- Twirp ----

/**
 * A Twirp request's JSON body, after the checks every Twirp service makes: a JSON content type, an
 * object, and proto field names (snake_case; a camelCase key means a different client or a bug).
 */
export function twirpBody(request: IncomingMessage, recordedBody: unknown): Json {
  if (!(request.headers['content-type'] ?? '').startsWith('application/json'))
    throw new TwirpError(404, 'bad_route', `unexpected Content-Type: ${request.headers['content-type']}`);
  if (typeof recordedBody !== 'object' || recordedBody === null || Array.isArray(recordedBody))
    throw new TwirpError(400, 'malformed', 'the request body is not a JSON object');
  const body = recordedBody as Json;
  const camel = Object.keys(body).find((key) => /[A-Z]/.test(key));
  if (camel !== undefined)
    throw new TwirpError(400, 'malformed', `unknown field ${camel} (expected snake_case)`);
  return body;
}

export function requireString(body: Json, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '')
    throw new TwirpError(400, 'invalid_argument', `${field} is required and must be a string`);
  return value;
}

/** Wrapper types (StringValue) are bare strings in proto3 JSON. */
export function optionalString(body: Json, field: string): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new TwirpError(400, 'invalid_argument', `${field} must be a string`);
  return value;
}

/** Proto3 JSON writes int64 as a decimal string and accepts a number when parsing. */
export function requireInt64(body: Json, field: string): number {
  const value = body[field];
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d+$/.test(text))
    throw new TwirpError(400, 'invalid_argument', `${field} must be a non-negative int64`);
  return Number(text);
}

export function jsonReply(status: number, recordedBody: unknown, payload: unknown): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
    recordedBody,
  };
}

export function twirpErrorReply(recordedBody: unknown, error: TwirpError): Reply {
  return jsonReply(error.status, recordedBody, { code: error.code, msg: error.message });
}

/** The Twirp error code a status is the canonical answer of. */
export function twirpCodeOf(status: number): string {
  const codes: Record<number, string> = {
    400: 'invalid_argument',
    401: 'unauthenticated',
    403: 'permission_denied',
    404: 'not_found',
    409: 'already_exists',
    412: 'failed_precondition',
    429: 'resource_exhausted',
    500: 'internal',
    503: 'unavailable',
    504: 'deadline_exceeded',
  };
  return codes[status] ?? 'unknown';
}

// ---- Azure blob storage ----

/** What Azure answers a request that no blob operation matches. */
export function unsupportedBlobRequest(request: IncomingMessage, url: URL): StorageError {
  return new StorageError(
    400,
    'UnsupportedHttpVerb',
    `unsupported blob request ${request.method} ${url.search}`,
  );
}

/** The upload a (verified) signed URL points to; finalizing ends the URL's use. */
export function uploadAt<T>(pending: ReadonlyMap<string, T>, url: URL): T {
  const upload = pending.get(url.pathname);
  if (!upload) throw new StorageError(403, 'AuthenticationFailed', 'This upload URL is no longer valid.');
  return upload;
}

/**
 * Throws what Azure answers a block whose body does not match its Content-MD5; structured
 * (CRC64-framed) bodies would not be the raw bytes, and neither client sends them.
 */
export function checkBlockBody(request: IncomingMessage, body: Buffer): void {
  if (request.headers['x-ms-structured-body'])
    throw new StorageError(400, 'UnsupportedHeader', 'x-ms-structured-body is not supported by this fake');
  const md5 = request.headers['content-md5'];
  if (typeof md5 === 'string' && md5 !== createHash('md5').update(body).digest('base64'))
    throw new StorageError(
      400,
      'Md5Mismatch',
      'The MD5 value specified in the request did not match the body.',
    );
}

/** Azure: a block id is base64 of at most 64 bytes, and all ids of one blob have the same length. */
export function assertBlockId(blockId: string, existing: readonly string[]): void {
  const decoded = Buffer.from(blockId, 'base64');
  if (blockId === '' || decoded.length > 64 || decoded.toString('base64') !== blockId)
    throw new StorageError(
      400,
      'InvalidQueryParameterValue',
      `Value for one of the query parameters is invalid: blockid=${blockId}`,
    );
  if (existing.some((id) => id.length !== blockId.length))
    throw new StorageError(
      400,
      'InvalidBlobOrBlock',
      'The specified blob or block content is invalid (block id length differs).',
    );
}

export interface BlockListEntry {
  kind: 'Latest' | 'Committed' | 'Uncommitted';
  id: string;
}

/** `<BlockList><Latest>id</Latest>…</BlockList>`, in document order: that order is the blob's. */
export function parseBlockList(xml: string): BlockListEntry[] {
  if (!/<BlockList>[\s\S]*<\/BlockList>/.test(xml))
    throw new StorageError(400, 'InvalidXmlDocument', 'XML specified is not syntactically valid.');
  return [...xml.matchAll(/<(Latest|Committed|Uncommitted)>([^<]*)<\/\1>/g)].map((match) => ({
    kind: match[1] as BlockListEntry['kind'],
    id: unescapeXml(match[2]!),
  }));
}

/** The headers every Azure storage response carries. */
export function storageHeaders(): Record<string, string> {
  return { 'x-ms-request-id': randomUUID(), 'x-ms-version': STORAGE_VERSION, date: new Date().toUTCString() };
}

/** What Azure answers to a committed blob (Put Blob, Put Block List). */
export function committedHeaders(): Record<string, string> {
  return {
    etag: `"0x${randomBytes(8).toString('hex').toUpperCase()}"`,
    'last-modified': new Date().toUTCString(),
    'x-ms-request-server-encrypted': 'true',
  };
}

export function storageReply(status: number, recordedBody: unknown, headers: Record<string, string>): Reply {
  return { status, headers: { ...storageHeaders(), ...headers }, body: '', recordedBody };
}

export function storageErrorReply(recordedBody: unknown, error: StorageError): Reply {
  const body =
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${error.code}</Code>` +
    `<Message>${escapeXml(error.message)}</Message></Error>`;
  return {
    status: error.status,
    headers: { ...storageHeaders(), 'content-type': 'application/xml', 'x-ms-error-code': error.code },
    body,
    recordedBody,
  };
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
