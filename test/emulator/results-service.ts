/**
 * A faithful fake of the GitHub Actions results service (artifact v4+ Twirp API) and of the Azure
 * blob storage its signed URLs point to, on one loopback server. It is driven by the real
 * `@actions/artifact` client, so it checks what the client sends instead of taking shortcuts: the
 * runtime token and the backend ids in every body, block order from the committed block list (not
 * arrival order), the committed size and sha256 at finalize, and a 409 for a duplicate live name.
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  assertBlockId,
  base64url,
  committedHeaders,
  jsonReply,
  optionalString,
  parseBlockList,
  requireInt64,
  requireString,
  SasSigner,
  sendReply,
  storageErrorReply,
  StorageError,
  storageHeaders,
  storageReply,
  twirpBody,
  twirpErrorReply,
  TwirpError,
  unsupportedBlobRequest,
  uploadAt,
  checkBlockBody,
  type BlockListEntry,
  type Json,
  type Reply,
} from './twirp-blob.ts';
import { closeServer, listen, parseJsonOrText, readBody } from './loopback-server.ts';

export interface StoredArtifact {
  id: number;
  name: string;
  runId: string;
  jobId: string;
  size: number;
  /** Hex sha256 of the blob, the form `uploadArtifact` returns as `digest`. */
  sha256: string;
  blob: Buffer;
  /** RFC 3339, from CreateArtifact's `expires_at` (retention days), when one was sent. */
  expiresAt?: string;
  mimeType: string;
  version: number;
  deleted: boolean;
  createdAt: string;
}

export type TwirpMethod =
  'CreateArtifact' | 'FinalizeArtifact' | 'ListArtifacts' | 'DeleteArtifact' | 'GetSignedArtifactURL';
export type BlobMethod = 'UploadBlock' | 'CommitBlockList' | 'DownloadBlob';

export type ResultsFault = {
  method: TwirpMethod | 'UploadBlock' | 'CommitBlockList';
  status: number;
  /**
   * Twirp methods answer it as JSON (default `{"code":"unavailable","msg":…}`). Blob methods answer a
   * string as-is and anything else as JSON; by default an Azure XML StorageError.
   */
  body?: unknown;
  /** How many of the next calls of that method fail; 1 by default. */
  times?: number;
};

export interface ResultsCall {
  method: TwirpMethod | BlobMethod | 'Unknown';
  /** The parsed Twirp body; for blob requests a summary (block id and length, or the block list). */
  body: unknown;
  status: number;
}

const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.ArtifactService/';
const TWIRP_METHODS: readonly string[] = [
  'CreateArtifact',
  'FinalizeArtifact',
  'ListArtifacts',
  'DeleteArtifact',
  'GetSignedArtifactURL',
];
// Path-style blob URL: Azure's client reads /account/container/blob from IP hosts and needs all three.
const BLOB_PREFIX = '/devstoreaccount1/actions-results/';
// Same set the client rejects; the real backend rejects them too.
const INVALID_NAME_CHARACTERS = ['"', ':', '<', '>', '|', '*', '?', '\r', '\n', '\\', '/'];

/** An artifact between CreateArtifact and FinalizeArtifact, with its blob being written. */
interface PendingUpload {
  name: string;
  runId: string;
  jobId: string;
  mimeType: string;
  version: number;
  expiresAt?: string;
  blobPath: string;
  staged: Map<string, Buffer>;
  committedBlocks: Map<string, Buffer>;
  committed?: Buffer;
}

export class ResultsService {
  readonly url: string;
  readonly runtimeToken: string;
  readonly runId: string;
  readonly jobId: string;

  private readonly server: Server;
  private readonly sas: SasSigner;
  private readonly stored: StoredArtifact[] = [];
  private readonly blobPaths = new Map<number, string>();
  private readonly pending = new Map<string, PendingUpload>();
  private readonly recorded: ResultsCall[] = [];
  private readonly faults: Required<ResultsFault>[] = [];
  private nextArtifactId = 1;

  private constructor(server: Server, url: string, runId: string, jobId: string) {
    this.server = server;
    this.runId = runId;
    this.jobId = jobId;
    this.url = url;
    this.sas = new SasSigner(this.url);
    this.runtimeToken = mintRuntimeToken(runId, jobId);
  }

  static async start(options: { runId?: string; jobId?: string } = {}): Promise<ResultsService> {
    const server = createServer();
    const url = await listen(server);
    const service = new ResultsService(
      server,
      url,
      options.runId ?? '8675309001',
      options.jobId ?? '8675309002',
    );
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      void service.handle(request, response);
    });
    return service;
  }

  /** What a child process needs to reach this service; the runner also ends the URL with a slash. */
  env(): Record<string, string> {
    return { ACTIONS_RUNTIME_TOKEN: this.runtimeToken, ACTIONS_RESULTS_URL: `${this.url}/` };
  }

  /** Finalized artifacts, deleted ones included (flagged). */
  get artifacts(): readonly StoredArtifact[] {
    return [...this.stored];
  }

  get calls(): readonly ResultsCall[] {
    return [...this.recorded];
  }

  inject(fault: ResultsFault): void {
    // A fault that can never fire would make a test pass for the wrong reason.
    if (fault.times !== undefined && !(fault.times >= 1))
      throw new TypeError(`fault times must be at least 1, got ${fault.times}`);
    this.faults.push({ ...fault, body: fault.body, times: fault.times ?? 1 });
  }

  /** The live (finalized, not deleted) artifact of that name in this service's run. */
  artifactByName(name: string): StoredArtifact | undefined {
    return this.liveArtifact(this.runId, name);
  }

  async close(): Promise<void> {
    await closeServer(this.server);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    let method: ResultsCall['method'] = 'Unknown';
    let reply: Reply;
    try {
      const body = await readBody(request);
      if (url.pathname.startsWith(TWIRP_PREFIX)) {
        const name = url.pathname.slice(TWIRP_PREFIX.length);
        if (TWIRP_METHODS.includes(name)) method = name as TwirpMethod;
        reply = this.handleTwirp(method, request, body);
      } else if (url.pathname.startsWith(BLOB_PREFIX)) {
        method = blobMethodOf(request.method, url);
        reply = this.handleBlob(method, request, url, body);
      } else {
        reply = twirpErrorReply(null, new TwirpError(404, 'bad_route', `no handler for ${url.pathname}`));
      }
    } catch (error) {
      reply = twirpErrorReply(
        null,
        new TwirpError(500, 'internal', `fake results service: ${String(error)}`),
      );
    }
    this.recorded.push({ method, body: reply.recordedBody, status: reply.status });
    sendReply(request, response, reply);
  }

  /** Returns and uses up the next injected fault for a method, if any. */
  private takeFault(method: ResultsCall['method']): Required<ResultsFault> | undefined {
    const index = this.faults.findIndex((fault) => fault.method === method && fault.times > 0);
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    fault.times -= 1;
    if (fault.times === 0) this.faults.splice(index, 1);
    return fault;
  }

  // ---- Twirp ----

  private handleTwirp(method: ResultsCall['method'], request: IncomingMessage, raw: Buffer): Reply {
    const recordedBody = parseJsonOrText(raw);
    try {
      // Twirp routes only POST to known methods; anything else is bad_route.
      if (method === 'Unknown' || request.method !== 'POST')
        throw new TwirpError(404, 'bad_route', `no handler for ${request.method} ${request.url}`);
      const fault = this.takeFault(method);
      if (fault) return faultTwirpReply(recordedBody, fault);
      if (request.headers.authorization !== `Bearer ${this.runtimeToken}`)
        throw new TwirpError(401, 'unauthenticated', 'missing or invalid runtime token');
      const body = twirpBody(request, recordedBody);
      return jsonReply(200, recordedBody, this.dispatchTwirp(method as TwirpMethod, body));
    } catch (error) {
      if (error instanceof TwirpError) return twirpErrorReply(recordedBody, error);
      throw error;
    }
  }

  private dispatchTwirp(method: TwirpMethod, body: Json): Json {
    switch (method) {
      case 'CreateArtifact':
        return this.createArtifact(body);
      case 'FinalizeArtifact':
        return this.finalizeArtifact(body);
      case 'ListArtifacts':
        return this.listArtifacts(body);
      case 'DeleteArtifact':
        return this.deleteArtifact(body);
      case 'GetSignedArtifactURL':
        return this.getSignedArtifactUrl(body);
    }
  }

  /** Backend ids in the body must be the ones the runtime token grants. */
  private assertTokenIds(body: Json, checkJob: boolean): void {
    if (body['workflow_run_backend_id'] !== this.runId)
      throw new TwirpError(
        403,
        'permission_denied',
        'workflow_run_backend_id does not match the runtime token',
      );
    if (checkJob && body['workflow_job_run_backend_id'] !== this.jobId)
      throw new TwirpError(
        403,
        'permission_denied',
        'workflow_job_run_backend_id does not match the runtime token',
      );
  }

  private createArtifact(body: Json): Json {
    this.assertTokenIds(body, true);
    const name = requireString(body, 'name');
    assertValidName(name);
    const expiresAt = optionalTimestamp(body, 'expires_at');
    if (expiresAt !== undefined && Date.parse(expiresAt) <= Date.now())
      throw new TwirpError(400, 'invalid_argument', 'expires_at must be in the future');
    if (this.liveArtifact(this.runId, name))
      throw new TwirpError(
        409,
        'already_exists',
        'an artifact with this name already exists on the workflow run',
      );
    const mimeType = optionalString(body, 'mime_type') ?? 'application/zip';
    const version = body['version'] === undefined ? 0 : Number(body['version']);
    // A pending upload of the same name (an attempt that never finalized) is replaced, not a conflict.
    for (const [path, upload] of this.pending)
      if (upload.runId === this.runId && upload.name === name) this.pending.delete(path);
    const extension = mimeType === 'application/zip' ? '.zip' : extname(name);
    const blobPath = `${BLOB_PREFIX}${randomUUID()}${extension}`;
    const upload: PendingUpload = {
      name,
      runId: this.runId,
      jobId: this.jobId,
      mimeType,
      version,
      blobPath,
      staged: new Map(),
      committedBlocks: new Map(),
    };
    if (expiresAt !== undefined) upload.expiresAt = expiresAt;
    this.pending.set(blobPath, upload);
    return { ok: true, signed_upload_url: this.sas.url(blobPath, 'cw') };
  }

  private finalizeArtifact(body: Json): Json {
    this.assertTokenIds(body, true);
    const name = requireString(body, 'name');
    const upload = [...this.pending.values()].find(
      (candidate) =>
        candidate.runId === this.runId && candidate.jobId === this.jobId && candidate.name === name,
    );
    if (!upload)
      throw new TwirpError(404, 'not_found', `no artifact named ${name} is being uploaded by this job`);
    if (!upload.committed)
      throw new TwirpError(
        412,
        'failed_precondition',
        `no block list has been committed for artifact ${name}`,
      );
    const blob = upload.committed;
    const size = requireInt64(body, 'size');
    if (size !== blob.length)
      throw new TwirpError(
        400,
        'invalid_argument',
        `size ${size} does not match the uploaded blob (${blob.length})`,
      );
    const sha256 = createHash('sha256').update(blob).digest('hex');
    const hash = optionalString(body, 'hash');
    if (hash !== `sha256:${sha256}`)
      throw new TwirpError(
        400,
        'invalid_argument',
        `hash ${hash} does not match the uploaded blob (sha256:${sha256})`,
      );
    const artifact: StoredArtifact = {
      id: this.nextArtifactId++,
      name,
      runId: upload.runId,
      jobId: upload.jobId,
      size,
      sha256,
      blob,
      mimeType: upload.mimeType,
      version: upload.version,
      deleted: false,
      createdAt: new Date().toISOString(),
    };
    if (upload.expiresAt !== undefined) artifact.expiresAt = upload.expiresAt;
    this.pending.delete(upload.blobPath);
    this.stored.push(artifact);
    this.blobPaths.set(artifact.id, upload.blobPath);
    return { ok: true, artifact_id: String(artifact.id) };
  }

  private listArtifacts(body: Json): Json {
    this.assertTokenIds(body, true);
    const nameFilter = optionalString(body, 'name_filter');
    const idFilter = body['id_filter'] === undefined ? undefined : requireInt64(body, 'id_filter');
    const artifacts = this.stored
      .filter((artifact) => !artifact.deleted && artifact.runId === this.runId)
      .filter((artifact) => nameFilter === undefined || artifact.name === nameFilter)
      .filter((artifact) => idFilter === undefined || artifact.id === idFilter)
      .map((artifact) => ({
        workflow_run_backend_id: artifact.runId,
        workflow_job_run_backend_id: artifact.jobId,
        database_id: String(artifact.id),
        name: artifact.name,
        size: String(artifact.size),
        created_at: artifact.createdAt,
        digest: `sha256:${artifact.sha256}`,
      }));
    return { artifacts };
  }

  private deleteArtifact(body: Json): Json {
    const artifact = this.artifactInBody(body);
    artifact.deleted = true;
    return { ok: true, artifact_id: String(artifact.id) };
  }

  private getSignedArtifactUrl(body: Json): Json {
    const artifact = this.artifactInBody(body);
    return { signed_url: this.sas.url(this.blobPaths.get(artifact.id)!, 'r') };
  }

  /**
   * Delete and GetSignedArtifactURL name the artifact by the ids ListArtifacts returned, so the job id
   * is the uploading job's (possibly another job of the run), not necessarily the token's.
   */
  private artifactInBody(body: Json): StoredArtifact {
    this.assertTokenIds(body, false);
    const name = requireString(body, 'name');
    const artifact = this.liveArtifact(this.runId, name);
    if (!artifact || artifact.jobId !== body['workflow_job_run_backend_id'])
      throw new TwirpError(404, 'not_found', `artifact not found: ${name}`);
    return artifact;
  }

  private liveArtifact(runId: string, name: string): StoredArtifact | undefined {
    return this.stored.find(
      (artifact) => !artifact.deleted && artifact.runId === runId && artifact.name === name,
    );
  }

  // ---- Blob storage ----

  private handleBlob(method: ResultsCall['method'], request: IncomingMessage, url: URL, body: Buffer): Reply {
    let recordedBody: unknown = { length: body.length };
    try {
      if (method === 'Unknown') throw unsupportedBlobRequest(request, url);
      const fault = this.takeFault(method);
      if (fault) return faultBlobReply(recordedBody, fault);
      this.sas.verify(url, method === 'DownloadBlob' ? 'r' : 'w');
      switch (method) {
        case 'UploadBlock':
          recordedBody = { blockId: url.searchParams.get('blockid'), length: body.length };
          return this.uploadBlock(request, url, body, recordedBody);
        case 'CommitBlockList':
          recordedBody = { blockIds: parseBlockList(body.toString('utf8')).map((entry) => entry.id) };
          return this.commitBlockList(request, url, body, recordedBody);
        default:
          return this.downloadBlob(url);
      }
    } catch (error) {
      if (error instanceof StorageError) return storageErrorReply(recordedBody, error);
      throw error;
    }
  }

  private uploadBlock(request: IncomingMessage, url: URL, body: Buffer, recordedBody: unknown): Reply {
    const upload = uploadAt(this.pending, url);
    const blockId = url.searchParams.get('blockid') ?? '';
    assertBlockId(blockId, [...upload.staged.keys(), ...upload.committedBlocks.keys()]);
    checkBlockBody(request, body);
    upload.staged.set(blockId, body);
    return storageReply(201, recordedBody, { 'x-ms-request-server-encrypted': 'true' });
  }

  private commitBlockList(request: IncomingMessage, url: URL, body: Buffer, recordedBody: unknown): Reply {
    const upload = uploadAt(this.pending, url);
    const contentType = request.headers['x-ms-blob-content-type'];
    if (contentType !== upload.mimeType)
      throw new StorageError(
        400,
        'InvalidHeaderValue',
        `x-ms-blob-content-type ${String(contentType)} is not the artifact's mime_type ${upload.mimeType}`,
      );
    const blocks = parseBlockList(body.toString('utf8')).map((entry) => {
      const block = resolveBlock(upload, entry);
      if (!block)
        throw new StorageError(400, 'InvalidBlockList', `The specified block list is invalid (${entry.id}).`);
      return [entry.id, block] as const;
    });
    // Azure drops uncommitted blocks on commit; the committed ones can be reused by a later commit.
    upload.committedBlocks = new Map(blocks);
    upload.staged.clear();
    upload.committed = Buffer.concat(blocks.map(([, block]) => block));
    return storageReply(201, recordedBody, committedHeaders());
  }

  private downloadBlob(url: URL): Reply {
    const artifact = this.stored.find((candidate) => this.blobPaths.get(candidate.id) === url.pathname);
    if (!artifact || artifact.deleted)
      throw new StorageError(404, 'BlobNotFound', 'The specified blob does not exist.');
    const headers: Record<string, string> = { 'content-type': artifact.mimeType };
    if (artifact.mimeType !== 'application/zip')
      headers['content-disposition'] = `attachment; filename="${artifact.name}"`;
    return { status: 200, headers, body: artifact.blob, recordedBody: { id: artifact.id } };
  }
}

// ---- Helpers ----

/** A JWT the client can decode (it does not verify the signature); scp carries run and job ids. */
function mintRuntimeToken(runId: string, jobId: string): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url({ typ: 'JWT', alg: 'HS256' });
  const payload = base64url({
    // The client scans every space-separated scope for Actions.Results, so include another one too.
    scp: `Actions.GenericRead:00000000-0000-0000-0000-000000000000 Actions.UploadArtifacts:${runId}:${jobId} Actions.Results:${runId}:${jobId}`,
    iss: 'vstoken.actions.githubusercontent.com',
    aud: 'vso:00000000-0000-0000-0000-000000000000',
    nbf: now - 60,
    exp: now + 6 * 60 * 60,
  });
  const signature = createHmac('sha256', randomBytes(32)).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

function blobMethodOf(httpMethod: string | undefined, url: URL): ResultsCall['method'] {
  const comp = url.searchParams.get('comp');
  if (httpMethod === 'PUT' && comp === 'block') return 'UploadBlock';
  if (httpMethod === 'PUT' && comp === 'blocklist') return 'CommitBlockList';
  if (httpMethod === 'GET' && comp === null) return 'DownloadBlob';
  return 'Unknown';
}

/** Timestamp is an RFC 3339 string in proto3 JSON. */
function optionalTimestamp(body: Json, field: string): string | undefined {
  const value = optionalString(body, field);
  if (value !== undefined && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value))
    throw new TwirpError(400, 'invalid_argument', `${field} must be an RFC 3339 UTC timestamp`);
  return value;
}

function assertValidName(name: string): void {
  const bad = INVALID_NAME_CHARACTERS.find((character) => name.includes(character));
  if (bad !== undefined)
    throw new TwirpError(
      400,
      'invalid_argument',
      `artifact name contains an invalid character: ${JSON.stringify(bad)}`,
    );
}

function resolveBlock(upload: PendingUpload, entry: BlockListEntry): Buffer | undefined {
  if (entry.kind === 'Committed') return upload.committedBlocks.get(entry.id);
  if (entry.kind === 'Uncommitted') return upload.staged.get(entry.id);
  return upload.staged.get(entry.id) ?? upload.committedBlocks.get(entry.id);
}

function faultTwirpReply(recordedBody: unknown, fault: Required<ResultsFault>): Reply {
  const payload = fault.body ?? {
    code: 'unavailable',
    msg: `injected ${fault.status} fault on ${fault.method}`,
  };
  return jsonReply(fault.status, recordedBody, payload);
}

function faultBlobReply(recordedBody: unknown, fault: Required<ResultsFault>): Reply {
  if (fault.body === undefined)
    return storageErrorReply(
      recordedBody,
      new StorageError(fault.status, 'ServerBusy', `injected ${fault.status} fault on ${fault.method}`),
    );
  const isText = typeof fault.body === 'string';
  return {
    status: fault.status,
    headers: { ...storageHeaders(), 'content-type': isText ? 'application/xml' : 'application/json' },
    body: isText ? (fault.body as string) : JSON.stringify(fault.body),
    recordedBody,
  };
}

// ---- Zip reading ----

interface YauzlEntry {
  fileName: string;
  crc32: number;
  uncompressedSize: number;
}
interface YauzlZipFile {
  readEntry(): void;
  openReadStream(
    entry: YauzlEntry,
    callback: (error: Error | null, stream?: NodeJS.ReadableStream) => void,
  ): void;
  close(): void;
  on(event: 'entry', listener: (entry: YauzlEntry) => void): this;
  on(event: 'end', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}
interface Yauzl {
  fromBuffer(
    buffer: Buffer,
    options: { lazyEntries: boolean },
    callback: (error: Error | null, zipFile?: YauzlZipFile) => void,
  ): void;
}

// yauzl is CommonJS without type declarations; load it through require so plain node runs this file too.
const yauzl = createRequire(import.meta.url)('yauzl') as Yauzl;

/**
 * Entry name → bytes for every file in a zip (directory entries are skipped). Each entry's CRC-32 is
 * checked, since yauzl itself only checks sizes.
 */
export function readZip(blob: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(blob, { lazyEntries: true }, (openError, zipFile) => {
      if (openError || !zipFile) return reject(openError ?? new Error('yauzl returned no zip file'));
      const entries = new Map<string, Buffer>();
      zipFile.on('error', reject);
      zipFile.on('end', () => resolve(entries));
      zipFile.on('entry', (entry) => {
        if (entry.fileName.endsWith('/')) return zipFile.readEntry();
        readEntry(zipFile, entry).then((bytes) => {
          entries.set(entry.fileName, bytes);
          zipFile.readEntry();
        }, reject);
      });
      zipFile.readEntry();
    });
  });
}

function readEntry(zipFile: YauzlZipFile, entry: YauzlEntry): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zipFile.openReadStream(entry, (error, stream) => {
      if (error || !stream) return reject(error ?? new Error(`yauzl could not open ${entry.fileName}`));
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', reject);
      stream.on('end', () => {
        const bytes = Buffer.concat(chunks);
        if (crc32(bytes) !== entry.crc32) reject(new Error(`CRC-32 mismatch in zip entry ${entry.fileName}`));
        else resolve(bytes);
      });
    });
  });
}
