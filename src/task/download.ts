/**
 * Result files to disk: streamed (never buffered whole), staged under a temporary name and renamed
 * when complete, checked against Content-Length, a size cap and the media's magic bytes, and resumed
 * (HTTP Range) or retried when the connection drops or stalls mid-body. Every URL, redirects
 * included, is checked before it is fetched; no credential is ever sent with it.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { resultUrlProblem } from '../net/address.ts';
import { quoteExternal } from '../net/external-text.ts';
import type { FetchLike } from '../net/http.ts';
import { PROXY_ADVICE, readNetworkError } from '../net/network-error.ts';
import { withRetries, type Budget, type Classify, type RetryContext } from '../net/retry.ts';
import { formatDuration } from '../runtime.ts';
import type { DownloadedFile, MediaKind, PlannedFile } from './files.ts';

export interface DownloadLimits {
  maxBytes: number;
  attempts: number;
  /** Per attempt: headers and body together. */
  attemptTimeoutMs: number;
  /** No byte for this long abandons the attempt. */
  stallMs: number;
  maxRedirects: number;
}

export interface DownloadContext extends RetryContext {
  fetch: FetchLike;
  deadlineMs: number;
  /** http result URLs are allowed (the API itself is on loopback). */
  allowHttp: boolean;
  limits: DownloadLimits;
}

export class DownloadError extends Error {
  readonly retryable: boolean;
  /** The step's deadline cut it short. */
  readonly deadline: boolean;
  constructor(message: string, retryable: boolean, options?: { cause?: unknown; deadline?: boolean }) {
    super(message, options);
    this.name = 'DownloadError';
    this.retryable = retryable;
    this.deadline = options?.deadline ?? false;
  }
}

/**
 * What a cut-short attempt left in `.part`, so the next one asks only for the rest (HTTP Range), and
 * `If-Range` makes the server send the whole file instead if it changed meanwhile.
 */
interface PartialFile {
  bytes: number;
  /** The first bytes, for the media check once the file is complete. */
  head: Buffer;
  /** The whole file's length, from the answer that started it. */
  total: number;
  /** A strong ETag, or Last-Modified. */
  validator: string;
}

type Progress = { partial?: PartialFile };

export async function downloadFile(file: PlannedFile, context: DownloadContext): Promise<DownloadedFile> {
  const label =
    file.role === 'source'
      ? `Download of the source video ${path.basename(file.path)}`
      : `Download of the ${file.kind} file for ${path.basename(file.path)}`;
  const refused = resultUrlProblem(file.url, context.allowHttp);
  if (refused)
    throw new DownloadError(
      `${label} refused: the ${file.role === 'source' ? 'video' : 'result'} URL ${refused.replace(/^it /, '')}.`,
      false,
    );
  await mkdir(path.dirname(file.path), { recursive: true });
  const progress: Progress = {};
  const budget: Budget = { name: 'download', attempts: context.limits.attempts };
  try {
    const bytes = await withRetries(
      { operation: label, classify: classifyDownload(budget, progress), deadlineMs: context.deadlineMs },
      () => attempt(file, context, progress),
      context,
    );
    return { ...file, bytes };
  } catch (error) {
    // Giving up (or cancelled between attempts): a kept part is of no use to anyone.
    if (progress.partial) await rm(`${file.path}.part`, { force: true });
    if (!(error instanceof DownloadError)) throw error;
    throw new DownloadError(`${label} failed: ${error.message}`, false, {
      cause: error,
      deadline: error.deadline,
    });
  }
}

function classifyDownload(budget: Budget, progress: Progress): Classify {
  return (error) => {
    if (!(error instanceof DownloadError) || !error.retryable) return { retry: false };
    const resume = progress.partial ? `; resuming after ${progress.partial.bytes} bytes` : '';
    return { retry: true, reason: `${error.message}${resume}`, budget };
  };
}

async function attempt(file: PlannedFile, context: DownloadContext, progress: Progress): Promise<number> {
  try {
    return await downloadOnce(file, context, progress);
  } catch (error) {
    if (context.signal?.aborted) throw context.signal.reason;
    throw error instanceof DownloadError ? error : connectionFailed(error);
  }
}

/** Bounds one attempt: its own timeout, the step's deadline, a stall, and cancellation. */
class AttemptLimits {
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout;
  readonly #stallMs: number;
  #stallTimer: NodeJS.Timeout | undefined;
  #cause: DownloadError | undefined;

  constructor(context: DownloadContext) {
    const remaining = context.deadlineMs - context.clock.now();
    const { attemptTimeoutMs, stallMs } = context.limits;
    const byDeadline = remaining < attemptTimeoutMs;
    const limitMs = Math.max(0, Math.min(attemptTimeoutMs, remaining));
    this.#timer = setTimeout(() => {
      this.#stop(
        byDeadline
          ? new DownloadError("it did not complete before the step's deadline", false, { deadline: true })
          : new DownloadError(`it did not complete within ${formatDuration(limitMs)}`, true),
      );
    }, limitMs);
    this.signal = context.signal
      ? AbortSignal.any([context.signal, this.#controller.signal])
      : this.#controller.signal;
    this.#stallMs = stallMs;
    this.alive();
  }

  /** Bytes arrived: the stall clock starts over. */
  alive(): void {
    clearTimeout(this.#stallTimer);
    this.#stallTimer = setTimeout(() => {
      this.#stop(new DownloadError(`no data arrived for ${formatDuration(this.#stallMs)}`, true));
    }, this.#stallMs);
  }

  /** Why the attempt was stopped, when a limit stopped it. */
  get cause(): DownloadError | undefined {
    return this.#cause;
  }

  done(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#stallTimer);
  }

  #stop(cause: DownloadError): void {
    this.#cause ??= cause;
    this.#controller.abort(cause);
  }
}

async function downloadOnce(
  file: PlannedFile,
  context: DownloadContext,
  progress: Progress,
): Promise<number> {
  const partial = progress.partial;
  progress.partial = undefined;
  const limits = new AttemptLimits(context);
  try {
    const response = await request(file.url, partial, context, limits.signal);
    const answer = await acceptAnswer(response, file, partial, progress, context.limits.maxBytes);
    return await receive(response, answer, file, context, limits, progress);
  } catch (error) {
    throw limits.cause && !context.signal?.aborted ? limits.cause : error;
  } finally {
    limits.done();
  }
}

/** GET with redirects followed by hand, so every hop's URL is checked before it is fetched. */
async function request(
  url: string,
  partial: PartialFile | undefined,
  context: DownloadContext,
  signal: AbortSignal,
): Promise<Response> {
  // Media is already compressed; an unencoded body lets Content-Length be checked byte for byte.
  const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
  if (partial) {
    headers['Range'] = `bytes=${partial.bytes}-`;
    headers['If-Range'] = partial.validator;
  }
  let current = url;
  for (let hops = 0; ; hops++) {
    const response = await context.fetch(current, { redirect: 'manual', signal, headers });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || response.status === 304 || !location)
      return response;
    await response.body?.cancel();
    if (hops >= context.limits.maxRedirects)
      throw new DownloadError(`it redirected more than ${context.limits.maxRedirects} times`, false);
    const next = new URL(location, current).href;
    const refused = resultUrlProblem(next, context.allowHttp);
    if (refused)
      throw new DownloadError(`it redirected to a refused URL (${refused.replace(/^it /, 'that ')})`, false);
    current = next;
  }
}

interface Answer {
  /** The part this answer continues, when it is exactly the rest of it. */
  resumed: PartialFile | undefined;
  /** The whole file's length, when known. */
  declared: number;
}

/** Whether this answer is the file (or the rest of it); otherwise throws what to do next. */
async function acceptAnswer(
  response: Response,
  file: PlannedFile,
  partial: PartialFile | undefined,
  progress: Progress,
  maxBytes: number,
): Promise<Answer> {
  const part = `${file.path}.part`;
  // 206 continues the file only when it is exactly the rest of the same file; 200 starts over.
  const resumed =
    partial && response.status === 206 && continues(response.headers, partial) ? partial : undefined;
  if (partial && !resumed) {
    const startsOver = response.status === 200 || response.status === 206 || response.status === 416;
    // A passing error answer (5xx) leaves the part for the next attempt.
    if (startsOver) await rm(part, { force: true });
    else progress.partial = partial;
  }
  if (response.status === 206 && !resumed) {
    await response.body?.cancel();
    throw new DownloadError('the server answered a byte range that does not continue the file', true);
  }
  if (response.status !== 200 && !resumed) {
    await response.body?.cancel();
    // 416: the range no longer fits the file; the next attempt asks for all of it.
    const retryable =
      response.status >= 500 ||
      response.status === 408 ||
      response.status === 429 ||
      (partial !== undefined && response.status === 416);
    const hint =
      file.role !== 'source' && (response.status === 403 || response.status === 404)
        ? ' (Kling clears result files after 30 days)'
        : '';
    throw new DownloadError(`the server answered HTTP ${response.status}${hint}`, retryable);
  }
  const contentType = response.headers.get('content-type') ?? '';
  if (/text\/html|application\/json|[/+]xml\b/i.test(contentType)) {
    await response.body?.cancel();
    throw new DownloadError(
      `the server sent ${quoteExternal(contentType.split(';')[0] ?? '', 60)} instead of ${file.kind} media (an error page?)`,
      false,
    );
  }
  // fetch decodes gzip/br itself, and Content-Length then counts encoded bytes: compare only unencoded ones.
  const encoding = (response.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  const declared = resumed
    ? resumed.total
    : encoding === 'identity'
      ? Number(response.headers.get('content-length') ?? NaN)
      : NaN;
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new DownloadError(`it is ${declared} bytes, over the ${maxBytes}-byte cap`, false);
  }
  if (!response.body) throw new DownloadError('the server sent no body', true);
  return { resumed, declared };
}

/** Streams the body into `.part`, checks it, and renames it into place. */
async function receive(
  response: Response,
  { resumed, declared }: Answer,
  file: PlannedFile,
  context: DownloadContext,
  limits: AttemptLimits,
  progress: Progress,
): Promise<number> {
  const part = `${file.path}.part`;
  const inspector = new MediaInspector(context.limits.maxBytes, resumed, () => limits.alive());
  const validator = resumed?.validator ?? resumeValidator(response.headers);
  try {
    await writeBody(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      inspector,
      createWriteStream(part, { flags: resumed ? 'a' : 'w' }),
    );
    if (Number.isFinite(declared) && inspector.bytes !== declared)
      throw new DownloadError(`the body ended after ${inspector.bytes} of ${declared} bytes`, true);
    if (inspector.bytes === 0) throw new DownloadError('the body was empty', true);
    checkMedia(file, inspector.head, context);
    await rename(part, file.path);
    return inspector.bytes;
  } catch (error) {
    const passing = !(error instanceof DownloadError) || error.retryable;
    const stopped = limits.cause;
    // Keep what arrived when the next attempt can ask for just the rest of the same file.
    const bytes = inspector.bytes;
    const keep = (passing || stopped?.retryable) && !context.signal?.aborted && !stopped?.deadline;
    if (keep && validator && bytes > 0 && bytes < declared)
      progress.partial = { bytes, head: inspector.head, total: declared, validator };
    // A part that could not be made cannot be removed either: the error says why.
    else await rm(part, { force: true }).catch(() => {});
    throw error;
  }
}

/** An error document saved as audio is the failure that matters; an unrecognised binary is only odd. */
function checkMedia(file: PlannedFile, head: Buffer, context: DownloadContext): void {
  const sniffed = sniffMedia(head);
  if (sniffed === 'html' || sniffed === 'json')
    throw new DownloadError(
      `the server sent ${sniffed === 'html' ? 'an HTML page' : 'a JSON document'} instead of ${file.kind} media`,
      false,
    );
  // A source video's container is the muxer's to judge (a MOV may start with another box than ftyp).
  if (sniffed !== file.kind && file.role !== 'source')
    context.log.warning(
      `${path.basename(file.path)} does not look like ${file.kind} media` +
        ` (${sniffed === 'unknown' ? `it starts with ${describeHead(head)}` : `it looks like ${sniffed}`}); kept as is.`,
    );
}

/**
 * Streams the body to disk through the inspector, with backpressure. Unlike stream.pipeline, a body
 * that fails midway still leaves every byte the inspector counted on disk, so a resumed attempt
 * continues from exactly there; the writer is closed either way.
 */
async function writeBody(body: Readable, inspector: MediaInspector, writer: WriteStream): Promise<void> {
  let failure: Error | undefined;
  // The disk's failure (full, a name too long) ends the download, never the process as an unheard event.
  const diskFailure = (error: NodeJS.ErrnoException) =>
    new DownloadError(
      `it could not be written to ${path.basename(writer.path.toString())} (${error.code ?? error.message})`,
      false,
      { cause: error },
    );
  writer.on('error', (error) => {
    failure ??= diskFailure(error);
    body.destroy();
  });
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      inspector.take(chunk);
      if (!writer.write(chunk)) await once(writer, 'drain');
    }
  } catch (error) {
    failure ??= error as Error;
  }
  if (!writer.destroyed)
    await new Promise<void>((resolve) =>
      writer.end((error?: Error | null) => {
        if (error) failure ??= diskFailure(error);
        resolve();
      }),
    );
  if (!writer.closed) await once(writer, 'close');
  if (failure) throw failure;
}

/** A strong ETag or Last-Modified: what If-Range needs to resume only the same file (RFC 9110 §13.1.5). */
function resumeValidator(headers: Headers): string | undefined {
  const etag = headers.get('etag');
  if (etag && !etag.startsWith('W/')) return etag;
  return headers.get('last-modified') ?? undefined;
}

/** `Content-Range: bytes <from>-<total-1>/<total>` for exactly the missing rest of the file. */
function continues(headers: Headers, partial: PartialFile): boolean {
  const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(headers.get('content-range')?.trim() ?? '');
  return (
    range !== null &&
    Number(range[1]) === partial.bytes &&
    Number(range[2]) === partial.total - 1 &&
    Number(range[3]) === partial.total
  );
}

/** Counts bytes, enforces the cap mid-stream, and keeps the first bytes for sniffing. */
class MediaInspector {
  bytes: number;
  head: Buffer;
  private readonly maxBytes: number;
  private readonly onBytes: () => void;

  /** `resumed`: counting goes on from what an earlier attempt wrote. */
  constructor(maxBytes: number, resumed: PartialFile | undefined, onBytes: () => void) {
    this.maxBytes = maxBytes;
    this.onBytes = onBytes;
    this.bytes = resumed?.bytes ?? 0;
    this.head = resumed?.head ?? Buffer.alloc(0);
  }

  /** Counts a chunk about to be written; throws, before it is written, when it would pass the cap. */
  take(chunk: Buffer): void {
    if (this.bytes + chunk.length > this.maxBytes)
      throw new DownloadError(`it exceeded the ${this.maxBytes}-byte cap`, false);
    this.bytes += chunk.length;
    this.onBytes();
    if (this.head.length < 64)
      this.head = Buffer.concat([this.head, chunk.subarray(0, 64 - this.head.length)]);
  }
}

/** What the first bytes say the file is. */
export function sniffMedia(head: Buffer): MediaKind | 'html' | 'json' | 'unknown' {
  if (
    head.length >= 12 &&
    head.toString('latin1', 0, 4) === 'RIFF' &&
    head.toString('latin1', 8, 12) === 'WAVE'
  )
    return 'wav';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'ID3') return 'mp3';
  if (head.length >= 2 && head[0] === 0xff && ((head[1] ?? 0) & 0xe0) === 0xe0) return 'mp3';
  if (head.length >= 8 && head.toString('latin1', 4, 8) === 'ftyp') return 'mp4';
  const text = head.toString('utf8').trimStart();
  if (text.startsWith('<')) return 'html';
  if (text.startsWith('{') || text.startsWith('[')) return 'json';
  return 'unknown';
}

function describeHead(head: Buffer): string {
  return head.subarray(0, 8).toString('hex').replace(/(..)/g, '$1 ').trim() || 'nothing';
}

function connectionFailed(error: unknown): DownloadError {
  const { failure, detail } = readNetworkError(error);
  if (failure === 'forbidden')
    return new DownloadError(`the connection was refused (${detail})`, false, { cause: error });
  if (failure === 'proxy')
    return new DownloadError(`the proxy refused the connection (${detail}); ${PROXY_ADVICE}`, false, {
      cause: error,
    });
  return new DownloadError(`the connection failed (${detail})`, true, { cause: error });
}
