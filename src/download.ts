/**
 * Result files to disk: streamed (never buffered whole), staged under a temporary name and renamed
 * when complete, checked against Content-Length, a size cap and the media's magic bytes, and resumed
 * (HTTP Range) or retried when the connection drops mid-body.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { retryDelayMs } from './backoff.ts';
import type { AudioFormat } from './inputs.ts';
import type { Task } from './kling/responses.ts';
import type { FetchLike } from './kling/transport.ts';
import type { RetryContext } from './retry.ts';
import { PROXY_ADVICE, readNetworkError } from './network-error.ts';
import { formatDuration } from './runtime.ts';

export type MediaKind = 'mp3' | 'wav' | 'mp4';

export interface PlannedFile {
  role: 'audio' | 'video';
  kind: MediaKind;
  url: string;
  path: string;
}

/** The files a finished task should yield; names come from the task id only. */
export function planDownloads(
  task: Task,
  format: AudioFormat,
  includeVideo: boolean,
  outputDir: string,
): PlannedFile[] {
  const audio = task.audios[0];
  const base = path.join(outputDir, safeFileStem(task.taskId));
  const kinds: ('mp3' | 'wav')[] = format === 'both' ? ['mp3', 'wav'] : [format];
  const files: PlannedFile[] = kinds.map((kind) => {
    const url = kind === 'mp3' ? audio?.mp3Url : audio?.wavUrl;
    if (!url)
      throw new Error(
        `Task ${task.taskId} succeeded but returned no ${kind === 'mp3' ? 'url_mp3' : 'url_wav'}` +
          `${audio ? '' : ' (task_result.audios is empty)'}; try audio_format: ${kind === 'mp3' ? 'wav' : 'mp3'}.`,
      );
    return { role: 'audio', kind, url, path: `${base}.${kind}` };
  });
  if (includeVideo) {
    const video = task.videos[0];
    if (!video)
      throw new Error(`Task ${task.taskId} succeeded but returned no video (task_result.videos is empty).`);
    files.push({ role: 'video', kind: 'mp4', url: video.url, path: `${base}.mp4` });
  }
  return files;
}

export function safeFileStem(taskId: string): string {
  return taskId.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || 'task';
}

export class DownloadError extends Error {
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DownloadError';
    this.retryable = retryable;
  }
}

export interface DownloadOptions extends RetryContext {
  fetch: FetchLike;
  maxBytes: number;
  maxAttempts: number;
  /** Per attempt: headers and body together. */
  attemptTimeoutMs: number;
}

export interface DownloadedFile extends PlannedFile {
  bytes: number;
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

export async function downloadFile(file: PlannedFile, options: DownloadOptions): Promise<DownloadedFile> {
  await mkdir(path.dirname(file.path), { recursive: true });
  const progress: { partial?: PartialFile } = {};
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const bytes = await downloadOnce(file, options, progress);
        return { ...file, bytes };
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        const failure = error instanceof DownloadError ? error : connectionFailed(error);
        const label = `Download of the ${file.kind} file for ${path.basename(file.path)}`;
        if (!failure.retryable || attempt + 1 >= options.maxAttempts)
          throw new DownloadError(`${label} failed: ${failure.message}`, false, { cause: failure });
        const delay = retryDelayMs(attempt, undefined, options.schedule, options.random);
        const resume = progress.partial ? ` (resuming after ${progress.partial.bytes} bytes)` : '';
        options.log.warning(`${label}: ${failure.message}; retrying in ${formatDuration(delay)}${resume}.`, {
          transient: true,
        });
        await options.sleep(delay, options.signal);
      }
    }
  } catch (error) {
    // Giving up (or cancelled between attempts): a kept part is of no use to anyone.
    if (progress.partial) await rm(`${file.path}.part`, { force: true });
    throw error;
  }
}

async function downloadOnce(
  file: PlannedFile,
  options: DownloadOptions,
  progress: { partial?: PartialFile },
): Promise<number> {
  const part = `${file.path}.part`;
  const partial = progress.partial;
  progress.partial = undefined;
  const timeout = AbortSignal.timeout(options.attemptTimeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  // Media is already compressed; an unencoded body lets Content-Length be checked byte for byte.
  const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
  if (partial) {
    headers['Range'] = `bytes=${partial.bytes}-`;
    headers['If-Range'] = partial.validator;
  }
  const response = await options.fetch(file.url, { redirect: 'follow', signal, headers });
  if (!/^https?:$/.test(new URL(response.url || file.url).protocol))
    throw new DownloadError(`it was redirected to a non-http(s) URL`, false);
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
      response.status === 403 || response.status === 404 ? ' (Kling clears result files after 30 days)' : '';
    throw new DownloadError(`the server answered HTTP ${response.status}${hint}`, retryable);
  }
  const contentType = response.headers.get('content-type') ?? '';
  if (/text\/html|application\/json|[/+]xml\b/i.test(contentType)) {
    await response.body?.cancel();
    throw new DownloadError(
      `the server sent ${contentType.split(';')[0]} instead of ${file.kind} media (an error page?)`,
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
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    await response.body?.cancel();
    throw new DownloadError(`it is ${declared} bytes, over the ${options.maxBytes}-byte cap`, false);
  }
  if (!response.body) throw new DownloadError('the server sent no body', true);

  const inspector = new MediaInspector(options.maxBytes, resumed);
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
    // An error document saved as audio is the failure that matters; an unrecognised binary is only odd.
    const sniffed = sniffMedia(inspector.head);
    if (sniffed === 'html' || sniffed === 'json')
      throw new DownloadError(
        `the server sent ${sniffed === 'html' ? 'an HTML page' : 'a JSON document'} instead of ${file.kind} media`,
        false,
      );
    if (sniffed !== file.kind)
      options.log.warning(
        `${path.basename(file.path)} does not look like ${file.kind} media` +
          ` (${sniffed === 'unknown' ? `it starts with ${describeHead(inspector.head)}` : `it looks like ${sniffed}`}); kept as is.`,
      );
    await rename(part, file.path);
    return inspector.bytes;
  } catch (error) {
    const passing = !(error instanceof DownloadError) || error.retryable;
    // Keep what arrived when the next attempt can ask for just the rest of the same file.
    const bytes = inspector.bytes;
    if (passing && !options.signal?.aborted && validator && bytes > 0 && bytes < declared)
      progress.partial = { bytes, head: inspector.head, total: declared, validator };
    else await rm(part, { force: true });
    if (timeout.aborted && !options.signal?.aborted)
      throw new DownloadError(`it did not complete within ${formatDuration(options.attemptTimeoutMs)}`, true);
    throw error;
  }
}

/**
 * Streams the body to disk through the inspector, with backpressure. Unlike stream.pipeline, a body
 * that fails midway still leaves every byte the inspector counted on disk, so a resumed attempt
 * continues from exactly there; the writer is closed either way.
 */
async function writeBody(body: Readable, inspector: MediaInspector, writer: WriteStream): Promise<void> {
  let failure: Error | undefined;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      inspector.take(chunk);
      if (!writer.write(chunk)) await once(writer, 'drain');
    }
  } catch (error) {
    failure = error as Error;
  }
  if (!writer.destroyed)
    await new Promise<void>((resolve) =>
      writer.end((error?: Error | null) => {
        failure ??= error ?? undefined;
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

  /** `resumed`: counting goes on from what an earlier attempt wrote. */
  constructor(maxBytes: number, resumed?: PartialFile) {
    this.maxBytes = maxBytes;
    this.bytes = resumed?.bytes ?? 0;
    this.head = resumed?.head ?? Buffer.alloc(0);
  }

  /** Counts a chunk about to be written; throws, before it is written, when it would pass the cap. */
  take(chunk: Buffer): void {
    if (this.bytes + chunk.length > this.maxBytes)
      throw new DownloadError(`it exceeded the ${this.maxBytes}-byte cap`, false);
    this.bytes += chunk.length;
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
  if (failure === 'proxy')
    return new DownloadError(`the proxy refused the connection (${detail}); ${PROXY_ADVICE}`, false, {
      cause: error,
    });
  return new DownloadError(`the connection failed (${detail})`, true, { cause: error });
}
