/**
 * A fake of the GitHub Actions cache service v2 (the Twirp `CacheService` on the results service
 * origin) and of the Azure blob storage its signed URLs point to, on one loopback server. It is driven
 * by the real `@actions/cache` client (`saveCache` / `restoreCache` with `ACTIONS_CACHE_SERVICE_V2`),
 * so it checks what the client sends: the runtime token, snake_case proto JSON, the committed blob
 * size at finalize, and it answers like GitHub: an entry is (scope, key, version); a key is immutable
 * (a second CreateCacheEntry is a Twirp 409 `already_exists`); a lookup needs the same version (a hash
 * of the paths and the compression method) and tries the exact key, then the key and each restore key
 * as a prefix (newest first), in the current ref's scope first, then the readable scopes after it.
 *
 * Scopes, as GitHub does it: the client sends no ref; the runtime token carries the cache scopes in its
 * `ac` claim (a JSON list of `{Scope, Permission}`, 1 = read, 2 = write). A run on a ref gets read and
 * write on its own ref, and read on the base ref (pull requests) and on the default branch. So a cache
 * saved on `refs/heads/main` is visible to a PR, and one saved on a PR ref is not visible to main.
 * Simplification: `env({ ref, baseRef })` mints that token; this fake signs and verifies it itself
 * (GitHub's is signed by the token service), and it does not model eviction, the 10 GB quota,
 * per-entry expiry, or a pending reservation ever timing out.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import {
  constants as zlibConstants,
  gunzipSync,
  gzipSync,
  zstdCompressSync,
  zstdDecompressSync,
} from 'node:zlib';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  assertBlockId,
  base64url,
  committedHeaders,
  jsonReply,
  parseBlockList,
  requireInt64,
  requireString,
  safeEqual,
  SasSigner,
  sendReply,
  storageErrorReply,
  StorageError,
  unsupportedBlobRequest,
  uploadAt,
  checkBlockBody,
  storageHeaders,
  storageReply,
  twirpBody,
  twirpCodeOf,
  twirpErrorReply,
  TwirpError,
  type Json,
  type Reply,
} from './twirp-blob.ts';
import { listen, parseJsonOrText, readBody } from './loopback-server.ts';

export type CacheTwirpMethod = 'CreateCacheEntry' | 'FinalizeCacheEntryUpload' | 'GetCacheEntryDownloadURL';
export type CacheBlobMethod = 'PutBlob' | 'PutBlock' | 'PutBlockList' | 'GetBlob' | 'GetBlobProperties';

export interface CacheEntry {
  id: number;
  key: string;
  version: string;
  /** The ref whose scope the entry was written in, e.g. `refs/heads/main`. */
  scope: string;
  /** Set at FinalizeCacheEntryUpload; an entry without it is reserved, not restorable. */
  finalized: boolean;
  size: number;
  blob: Buffer;
  createdAt: string;
}

export type CacheFault =
  /** Connection refused: the listener is closed (open keep-alive connections are dropped too). */
  | { kind: 'down' }
  /** Answer with this status (Twirp JSON or Azure XML); every call unless `times` is given. */
  | { kind: 'status'; status: number; method?: CacheTwirpMethod | CacheBlobMethod; times?: number }
  /** Accept the request and never answer it (until `clearFaults()` or `close()`). */
  | { kind: 'hang'; method?: CacheTwirpMethod | CacheBlobMethod; times?: number };

export interface CacheCall {
  method: CacheTwirpMethod | CacheBlobMethod | 'Unknown';
  /** The parsed Twirp body; for blob requests a summary. */
  body: unknown;
  /** 0 when the request was left hanging. */
  status: number;
}

export interface CacheEnvOptions {
  /** GITHUB_REF of the run; read-write scope. Default: the service's default branch. */
  ref?: string;
  /** GITHUB_BASE_REF of a pull request, as a full ref (`refs/heads/main`); read-only scope. */
  baseRef?: string;
}

interface TokenScope {
  Scope: string;
  Permission: number;
}

const SERVICE = 'github.actions.results.api.v1.CacheService';
const TWIRP_PREFIX = `/twirp/${SERVICE}/`;
const TWIRP_METHODS: readonly string[] = [
  'CreateCacheEntry',
  'FinalizeCacheEntryUpload',
  'GetCacheEntryDownloadURL',
];
const BLOB_PREFIX = '/devstoreaccount1/actions-cache/';
const READ = 1;
const WRITE = 2;

/** A reserved entry's blob while it is being written. */
interface PendingBlob {
  entry: CacheEntry;
  staged: Map<string, Buffer>;
  committed?: Buffer;
}

type ActiveFault = Exclude<CacheFault, { kind: 'down' }> & { remaining: number };

export class CacheService {
  readonly url: string;
  readonly defaultBranch: string;
  readonly runId: string;
  readonly jobId: string;

  private readonly server: Server;
  private readonly port: number;
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();
  private readonly tokenKey = randomBytes(32);
  private readonly sas: SasSigner;
  private readonly stored: CacheEntry[] = [];
  private readonly pending = new Map<string, PendingBlob>();
  private readonly blobPaths = new Map<number, string>();
  private readonly recorded: CacheCall[] = [];
  private faults: ActiveFault[] = [];
  private listening = true;
  private nextId = 1;

  private constructor(server: Server, defaultBranch: string) {
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
    this.sas = new SasSigner(this.url);
    this.defaultBranch = defaultBranch;
    this.runId = '8675309101';
    this.jobId = '8675309102';
  }

  static async start(options: { defaultBranch?: string } = {}): Promise<CacheService> {
    const server = createServer();
    await listen(server);
    const service = new CacheService(server, options.defaultBranch ?? 'refs/heads/main');
    server.on('connection', (socket: Socket) => {
      service.sockets.add(socket);
      socket.on('close', () => service.sockets.delete(socket));
    });
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      void service.handle(request, response);
    });
    return service;
  }

  /**
   * What `@actions/cache` needs to use this service (v2). GITHUB_REF / GITHUB_BASE_REF are included for
   * the code under test; the client never sends them, the scopes travel in the token.
   */
  env(options: CacheEnvOptions = {}): Record<string, string> {
    const ref = options.ref ?? this.defaultBranch;
    const env: Record<string, string> = {
      ACTIONS_CACHE_SERVICE_V2: 'true',
      ACTIONS_RESULTS_URL: `${this.url}/`,
      ACTIONS_RUNTIME_TOKEN: this.token(options),
      GITHUB_REF: ref,
    };
    if (options.baseRef !== undefined) env['GITHUB_BASE_REF'] = options.baseRef.replace(/^refs\/heads\//, '');
    return env;
  }

  /** A runtime token for a run on `ref`: its `ac` claim lists the cache scopes, writable one first. */
  token(options: CacheEnvOptions = {}): string {
    const ref = options.ref ?? this.defaultBranch;
    const scopes: TokenScope[] = [{ Scope: ref, Permission: READ | WRITE }];
    for (const readable of [options.baseRef, this.defaultBranch])
      if (readable !== undefined && !scopes.some((scope) => scope.Scope === readable))
        scopes.push({ Scope: readable, Permission: READ });
    const now = Math.floor(Date.now() / 1000);
    const header = base64url({ typ: 'JWT', alg: 'HS256' });
    const payload = base64url({
      scp: `Actions.GenericRead:00000000-0000-0000-0000-000000000000 Actions.Results:${this.runId}:${this.jobId}`,
      ac: JSON.stringify(scopes),
      iss: 'vstoken.actions.githubusercontent.com',
      aud: 'vso:00000000-0000-0000-0000-000000000000',
      nbf: now - 60,
      exp: now + 6 * 60 * 60,
    });
    return `${header}.${payload}.${this.sign(`${header}.${payload}`)}`;
  }

  /** All entries, reserved (unfinalized) ones included, oldest first. */
  entries(): readonly CacheEntry[] {
    return [...this.stored];
  }

  /**
   * Changes what a finalized entry holds, as storage that went bad would: its archive is unpacked
   * (zstd or gzip, whichever the client used), `change` gets the tar and returns another, which is
   * packed the same way and served from then on.
   */
  alterArchive(key: string, change: (tar: Buffer) => Buffer): void {
    const entry = this.stored.find((candidate) => candidate.key === key && candidate.finalized);
    if (!entry) throw new Error(`no finalized cache entry ${key}`);
    const zstd = entry.blob.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    // The client writes zstd with --long=30: allow that window when reading it back.
    const tar = zstd
      ? zstdDecompressSync(entry.blob, { params: { [zlibConstants.ZSTD_d_windowLogMax]: 31 } })
      : gunzipSync(entry.blob);
    const changed = change(tar);
    entry.blob = zstd ? zstdCompressSync(changed) : gzipSync(changed);
    entry.size = entry.blob.length;
  }

  get calls(): readonly CacheCall[] {
    return [...this.recorded];
  }

  inject(fault: CacheFault): void {
    if (fault.kind === 'down') {
      if (!this.listening) return;
      this.listening = false;
      this.server.close();
      this.dropConnections();
      return;
    }
    if (fault.times !== undefined && !(fault.times >= 1))
      throw new TypeError(`fault times must be at least 1, got ${fault.times}`);
    this.faults.push({ ...fault, remaining: fault.times ?? Infinity });
  }

  /** Removes every fault: listens again on the same port after `down`, drops hanging requests. */
  async clearFaults(): Promise<void> {
    this.faults = [];
    this.dropHanging();
    if (!this.listening) {
      await listen(this.server, this.port);
      this.listening = true;
    }
  }

  async close(): Promise<void> {
    this.faults = [];
    this.dropConnections();
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve, reject) =>
      this.server.close((error) => (error ? reject(error) : resolve())),
    );
  }

  private dropHanging(): void {
    for (const response of this.hanging) response.destroy();
    this.hanging.clear();
  }

  private dropConnections(): void {
    this.dropHanging();
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
  }

  private sign(data: string): string {
    return createHmac('sha256', this.tokenKey).update(data).digest('base64url');
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    let method: CacheCall['method'] = 'Unknown';
    let reply: Reply | undefined;
    try {
      const body = await readBody(request);
      if (url.pathname.startsWith(TWIRP_PREFIX)) {
        const name = url.pathname.slice(TWIRP_PREFIX.length);
        if (TWIRP_METHODS.includes(name)) method = name as CacheTwirpMethod;
        reply = this.handleTwirp(method, request, body);
      } else if (url.pathname.startsWith(BLOB_PREFIX)) {
        method = blobMethodOf(request, url);
        reply = this.handleBlob(method, request, url, body);
      } else {
        reply = twirpErrorReply(null, new TwirpError(404, 'bad_route', `no handler for ${url.pathname}`));
      }
    } catch (error) {
      reply = twirpErrorReply(null, new TwirpError(500, 'internal', `fake cache service: ${String(error)}`));
    }
    if (reply === undefined) {
      this.recorded.push({ method, body: null, status: 0 });
      this.hanging.add(response);
      response.on('close', () => this.hanging.delete(response));
      return;
    }
    this.recorded.push({ method, body: reply.recordedBody, status: reply.status });
    sendReply(request, response, reply);
  }

  /** The next fault for a method: `undefined` for none, `'hang'`, or a status to answer. */
  private takeFault(method: CacheCall['method']): 'hang' | number | undefined {
    const fault = this.faults.find(
      (candidate) =>
        (candidate.method === undefined || candidate.method === method) && candidate.remaining > 0,
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.faults = this.faults.filter((candidate) => candidate !== fault);
    return fault.kind === 'hang' ? 'hang' : fault.status;
  }

  // ---- Twirp ----

  private handleTwirp(method: CacheCall['method'], request: IncomingMessage, raw: Buffer): Reply | undefined {
    const recordedBody = parseJsonOrText(raw);
    try {
      if (method === 'Unknown' || request.method !== 'POST')
        throw new TwirpError(404, 'bad_route', `no handler for ${request.method} ${request.url}`);
      const fault = this.takeFault(method);
      if (fault === 'hang') return undefined;
      if (fault !== undefined)
        throw new TwirpError(fault, twirpCodeOf(fault), `injected ${fault} fault on ${method}`);
      const scopes = this.scopesOf(request.headers.authorization);
      const body = twirpBody(request, recordedBody);
      return jsonReply(200, recordedBody, this.dispatchTwirp(method as CacheTwirpMethod, body, scopes));
    } catch (error) {
      if (error instanceof TwirpError) return twirpErrorReply(recordedBody, error);
      throw error;
    }
  }

  /** Verifies the bearer token and returns its cache scopes, in order. */
  private scopesOf(authorization: string | undefined): TokenScope[] {
    const unauthenticated = new TwirpError(401, 'unauthenticated', 'missing or invalid runtime token');
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    const [header, payload, signature] = token?.split('.') ?? [];
    if (header === undefined || payload === undefined || signature === undefined) throw unauthenticated;
    if (!safeEqual(Buffer.from(signature), Buffer.from(this.sign(`${header}.${payload}`))))
      throw unauthenticated;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Json;
    if (typeof claims['exp'] !== 'number' || claims['exp'] * 1000 <= Date.now()) throw unauthenticated;
    const ac = claims['ac'];
    if (typeof ac !== 'string') throw unauthenticated;
    return JSON.parse(ac) as TokenScope[];
  }

  private dispatchTwirp(method: CacheTwirpMethod, body: Json, scopes: TokenScope[]): Json {
    switch (method) {
      case 'CreateCacheEntry':
        return this.createCacheEntry(body, scopes);
      case 'FinalizeCacheEntryUpload':
        return this.finalizeCacheEntryUpload(body, scopes);
      case 'GetCacheEntryDownloadURL':
        return this.getCacheEntryDownloadUrl(body, scopes);
    }
  }

  private writeScope(scopes: TokenScope[]): string {
    const scope = scopes.find((candidate) => (candidate.Permission & WRITE) !== 0);
    if (!scope)
      throw new TwirpError(403, 'permission_denied', 'the runtime token has no writable cache scope');
    return scope.Scope;
  }

  private createCacheEntry(body: Json, scopes: TokenScope[]): Json {
    const key = requireString(body, 'key');
    const version = requireString(body, 'version');
    assertKey(key);
    const scope = this.writeScope(scopes);
    // Reserved or finalized, the (scope, key, version) is taken: GitHub answers a Twirp 409.
    if (this.stored.some((entry) => entry.scope === scope && entry.key === key && entry.version === version))
      throw new TwirpError(
        409,
        'already_exists',
        'cache entry with the same key, version, and scope already exists',
      );
    const entry: CacheEntry = {
      id: this.nextId++,
      key,
      version,
      scope,
      finalized: false,
      size: 0,
      blob: Buffer.alloc(0),
      createdAt: new Date().toISOString(),
    };
    const blobPath = `${BLOB_PREFIX}${randomUUID()}`;
    this.stored.push(entry);
    this.blobPaths.set(entry.id, blobPath);
    this.pending.set(blobPath, { entry, staged: new Map() });
    return { ok: true, signed_upload_url: this.sas.url(blobPath, 'cw') };
  }

  private finalizeCacheEntryUpload(body: Json, scopes: TokenScope[]): Json {
    const key = requireString(body, 'key');
    const version = requireString(body, 'version');
    const size = requireInt64(body, 'size_bytes');
    const scope = this.writeScope(scopes);
    const upload = [...this.pending.values()].find(
      ({ entry }) => entry.scope === scope && entry.key === key && entry.version === version,
    );
    if (!upload)
      throw new TwirpError(404, 'not_found', `no cache entry ${key} is being uploaded in ${scope}`);
    if (!upload.committed)
      throw new TwirpError(412, 'failed_precondition', `no blob has been committed for cache entry ${key}`);
    if (size !== upload.committed.length)
      throw new TwirpError(
        400,
        'invalid_argument',
        `size_bytes ${size} does not match the uploaded blob (${upload.committed.length})`,
      );
    Object.assign(upload.entry, { finalized: true, size, blob: upload.committed });
    this.pending.delete(this.blobPaths.get(upload.entry.id)!);
    return { ok: true, entry_id: String(upload.entry.id) };
  }

  private getCacheEntryDownloadUrl(body: Json, scopes: TokenScope[]): Json {
    const key = requireString(body, 'key');
    const version = requireString(body, 'version');
    const restoreKeys = body['restore_keys'] ?? [];
    if (!Array.isArray(restoreKeys) || !restoreKeys.every((candidate) => typeof candidate === 'string'))
      throw new TwirpError(400, 'invalid_argument', 'restore_keys must be a list of strings');
    const entry = this.lookup(
      scopes.filter((scope) => (scope.Permission & READ) !== 0).map((scope) => scope.Scope),
      key,
      restoreKeys,
      version,
    );
    // A miss is ok:false with empty fields (proto3 JSON omits them), not an error.
    if (!entry) return { ok: false };
    return {
      ok: true,
      signed_download_url: this.sas.url(this.blobPaths.get(entry.id)!, 'r'),
      matched_key: entry.key,
    };
  }

  /** Per readable scope in token order: exact key, then key and each restore key as a prefix, newest first. */
  private lookup(
    scopes: string[],
    key: string,
    restoreKeys: string[],
    version: string,
  ): CacheEntry | undefined {
    for (const scope of scopes) {
      const candidates = this.stored
        .filter((entry) => entry.finalized && entry.scope === scope && entry.version === version)
        .reverse();
      const exact = candidates.find((entry) => entry.key === key);
      if (exact) return exact;
      for (const prefix of [key, ...restoreKeys]) {
        const match = candidates.find((entry) => entry.key.startsWith(prefix));
        if (match) return match;
      }
    }
    return undefined;
  }

  // ---- Blob storage ----

  private handleBlob(
    method: CacheCall['method'],
    request: IncomingMessage,
    url: URL,
    body: Buffer,
  ): Reply | undefined {
    let recordedBody: unknown = { length: body.length };
    try {
      if (method === 'Unknown') throw unsupportedBlobRequest(request, url);
      const fault = this.takeFault(method);
      if (fault === 'hang') return undefined;
      if (fault !== undefined)
        throw new StorageError(fault, 'ServerBusy', `injected ${fault} fault on ${method}`);
      const reading = method === 'GetBlob' || method === 'GetBlobProperties';
      this.sas.verify(url, reading ? 'r' : 'w');
      if (reading) return this.readBlob(method, request, url);
      checkBlockBody(request, body);
      const upload = uploadAt(this.pending, url);
      switch (method) {
        case 'PutBlob':
          if (request.headers['x-ms-blob-type'] !== 'BlockBlob')
            throw new StorageError(400, 'InvalidHeaderValue', 'x-ms-blob-type must be BlockBlob');
          upload.committed = body;
          upload.staged.clear();
          return storageReply(201, recordedBody, committedHeaders());
        case 'PutBlock': {
          const blockId = url.searchParams.get('blockid') ?? '';
          assertBlockId(blockId, [...upload.staged.keys()]);
          recordedBody = { blockId, length: body.length };
          upload.staged.set(blockId, body);
          return storageReply(201, recordedBody, { 'x-ms-request-server-encrypted': 'true' });
        }
        default: {
          // Nothing is committed before a cache entry's one Put Block List: <Committed> names nothing.
          const ids = parseBlockList(body.toString('utf8'))
            .filter((entry) => entry.kind !== 'Committed')
            .map((entry) => entry.id);
          recordedBody = { blockIds: ids };
          const blocks = ids.map((id) => {
            const block = upload.staged.get(id);
            if (!block)
              throw new StorageError(400, 'InvalidBlockList', `The specified block list is invalid (${id}).`);
            return block;
          });
          upload.committed = Buffer.concat(blocks);
          upload.staged.clear();
          return storageReply(201, recordedBody, committedHeaders());
        }
      }
    } catch (error) {
      if (error instanceof StorageError) return storageErrorReply(recordedBody, error);
      throw error;
    }
  }

  /** GET (whole blob, or a `Range` / `x-ms-range` slice as the SDK asks for) and HEAD. */
  private readBlob(method: CacheCall['method'], request: IncomingMessage, url: URL): Reply {
    const entry = this.stored.find((candidate) => this.blobPaths.get(candidate.id) === url.pathname);
    if (!entry || !entry.finalized)
      throw new StorageError(404, 'BlobNotFound', 'The specified blob does not exist.');
    const headers: Record<string, string> = {
      ...storageHeaders(),
      'content-type': 'application/octet-stream',
      'x-ms-blob-type': 'BlockBlob',
      'accept-ranges': 'bytes',
      etag: `"0x${entry.id.toString(16).padStart(16, '0').toUpperCase()}"`,
      'last-modified': new Date(entry.createdAt).toUTCString(),
    };
    if (method === 'GetBlobProperties')
      return { status: 200, headers, body: entry.blob, recordedBody: { id: entry.id } };
    const range = request.headers['x-ms-range'] ?? request.headers.range;
    const match = typeof range === 'string' ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (typeof range === 'string' && !match)
      throw new StorageError(400, 'InvalidRange', `The range specified is invalid: ${range}`);
    if (!match) return { status: 200, headers, body: entry.blob, recordedBody: { id: entry.id } };
    const start = Number(match[1]);
    const end = match[2] === '' ? entry.size - 1 : Math.min(Number(match[2]), entry.size - 1);
    if (start >= entry.size || end < start)
      throw new StorageError(
        416,
        'InvalidRange',
        'The range specified is invalid for the current size of the resource.',
      );
    headers['content-range'] = `bytes ${start}-${end}/${entry.size}`;
    return {
      status: 206,
      headers,
      body: entry.blob.subarray(start, end + 1),
      recordedBody: { id: entry.id, range: [start, end] },
    };
  }
}

// ---- Helpers ----

function blobMethodOf(request: IncomingMessage, url: URL): CacheCall['method'] {
  const comp = url.searchParams.get('comp');
  if (request.method === 'PUT' && comp === null) return 'PutBlob';
  if (request.method === 'PUT' && comp === 'block') return 'PutBlock';
  if (request.method === 'PUT' && comp === 'blocklist') return 'PutBlockList';
  if (request.method === 'GET' && comp === null) return 'GetBlob';
  if (request.method === 'HEAD' && comp === null) return 'GetBlobProperties';
  return 'Unknown';
}

/** The client checks these too (ValidationError); the service refuses them as well. */
function assertKey(key: string): void {
  if (key.length > 512)
    throw new TwirpError(400, 'invalid_argument', 'key cannot be larger than 512 characters');
  if (key.includes(',')) throw new TwirpError(400, 'invalid_argument', 'key cannot contain commas');
}
