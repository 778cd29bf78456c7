/**
 * Preflight of a source video URL, before anything is paid for: does it answer, is it an MP4 or MOV,
 * within Kling's size and duration limits? Only the bytes needed are read: a HEAD, the head of the
 * file, and moov by Range where it sits further on. A source that cannot work is `unworkable`; a host
 * that will not answer the check (403 to the runner, a timeout) leaves it `unknown`, and the create
 * goes ahead. Messages name what is wrong and the limit, never an action input: the step adds advice.
 */
import { resultUrlProblem } from '../net/address.ts';
import { quoteExternal } from '../net/external-text.ts';
import type { FetchLike } from '../net/http.ts';
import type { Clock } from '../runtime.ts';
import { findMoov, sniffSignature, type Container, type ReadAt } from './container.ts';
import { readMovie, type MovieFacts } from './movie.ts';
import { identityLength, RemoteFile, SourceProblem, type Answer } from './remote.ts';

export interface PreflightLimits {
  /** Kling's size limit, in bytes. */
  maxBytes: number;
  /** Kling's duration limits, in seconds (inclusive). */
  minSeconds: number;
  maxSeconds: number;
  /** Bytes read from the start of the file, and asked for at once when looking for a box further on. */
  headBytes: number;
  /** A larger moov is not read (the check says so, and the create goes ahead). */
  maxMoovBytes: number;
  /** From a host that ignores Range: the most read from the start of the file, then the request ends. */
  maxReadBytes: number;
  /** Box headers after the head that may be looked up (one ranged request each) on the way to moov. */
  maxJumps: number;
  /** One request, headers and body together. */
  requestTimeoutMs: number;
  /** The whole check, all requests together (also capped by the step's deadline). */
  checkTimeoutMs: number;
  maxRedirects: number;
}

export interface PreflightContext {
  fetch: FetchLike;
  clock: Clock;
  /** Cancellation: its reason is rethrown, never turned into a verdict. */
  signal?: AbortSignal;
  /** The step's deadline (ms since epoch). */
  deadlineMs: number;
  limits: PreflightLimits;
}

export interface SourceInfo {
  container: Container;
  /** The file's length, when the host said. */
  bytes?: number;
  /** undefined when the file does not say (a fragmented MP4 without a movie duration). */
  durationSeconds?: number;
  /** The first video track as displayed. */
  width?: number;
  height?: number;
  /** The video track's codec, as RFC 6381 names it (`avc1.64001f`). */
  codec?: string;
  /** The host's validators, for recognising the same file later (external text: never printed raw). */
  etag?: string;
  lastModified?: string;
}

export type SourceVerdict =
  | { kind: 'ok'; info: SourceInfo }
  /** The source cannot work: what is wrong, and the limit it breaks. */
  | { kind: 'unworkable'; reason: string }
  /** The check could not tell: why (the step warns and goes ahead). */
  | { kind: 'unknown'; reason: string };

export async function checkSource(url: string, context: PreflightContext): Promise<SourceVerdict> {
  const refused = resultUrlProblem(url, true);
  if (refused) return { kind: 'unknown', reason: `the check does not fetch it: ${refused}` };
  const { limits } = context;
  const remote = new RemoteFile(url, {
    ...context,
    deadlineMs: Math.min(context.deadlineMs, context.clock.now() + limits.checkTimeoutMs),
  });
  try {
    return { kind: 'ok', info: await inspect(remote, limits) };
  } catch (error) {
    if (context.signal?.aborted) throw context.signal.reason;
    if (error instanceof SourceProblem)
      return { kind: error.definite ? 'unworkable' : 'unknown', reason: error.message };
    // A fault of the check itself never stops a source that may well work.
    return { kind: 'unknown', reason: `the check failed (${quoteExternal(String(error), 200)})` };
  } finally {
    remote.close();
  }
}

async function inspect(remote: RemoteFile, limits: PreflightLimits): Promise<SourceInfo> {
  const described = await describedByHead(remote);
  const head = await remote.readHead(limits.headBytes);
  checkStatus(head.status);
  if (head.bytes.length === 0) throw new SourceProblem('the file is empty', true);
  const signature = sniffSignature(head.bytes);
  // The bytes outrank the label: an MP4 served as text/html still works for Kling.
  checkAnswer(head, limits, signature.kind === 'iso');
  // Only the GET's own length walks the boxes: some hosts answer HEAD with a length of 0 (or a lie).
  const fileLength = head.total ?? (head.ended ? head.bytes.length : undefined);
  const movie = await inspectContainer(head.bytes, fileLength, remote.readAt, limits);
  return {
    ...described,
    ...movie,
    bytes: fileLength ?? described.bytes,
    etag: head.headers.get('etag') ?? described.etag,
    lastModified: head.headers.get('last-modified') ?? described.lastModified,
  };
}

/** What the file's bytes say, from its head on: the same for a URL and a file on disk. */
export type ContainerFacts = Pick<SourceInfo, 'container' | 'durationSeconds' | 'width' | 'height' | 'codec'>;

/**
 * The signature, the walk to moov and the movie in it, judged against Kling's limits: a
 * SourceProblem for what cannot work (or could not be read far enough to tell).
 */
export async function inspectContainer(
  head: Uint8Array,
  fileLength: number | undefined,
  readAt: ReadAt,
  limits: Pick<PreflightLimits, 'headBytes' | 'maxMoovBytes' | 'maxJumps' | 'minSeconds' | 'maxSeconds'>,
): Promise<ContainerFacts> {
  const signature = sniffSignature(head);
  if (signature.kind === 'other')
    throw new SourceProblem(`it is ${signature.format}; Kling accepts MP4 and MOV videos only`, true);
  if (signature.kind === 'unknown')
    throw new SourceProblem(
      `it is not an MP4 or MOV file (it starts with ${hex(head.subarray(0, 8))}); Kling accepts MP4 and MOV videos only`,
      true,
    );
  const search = await findMoov(head, fileLength, readAt, {
    windowBytes: limits.headBytes,
    maxMoovBytes: limits.maxMoovBytes,
    maxJumps: limits.maxJumps,
  });
  if (!search.found) throw new SourceProblem(search.reason, search.definite);
  const read = await readMovie(search.ftyp, search.moov);
  if (!read.ok)
    throw new SourceProblem(`its moov box could not be read (${quoteExternal(read.reason, 200)})`, false);
  checkMovie(read.movie, limits);
  return {
    container: signature.container,
    durationSeconds: read.movie.durationSeconds,
    width: read.movie.video?.width,
    height: read.movie.video?.height,
    codec: read.movie.video?.codec,
  };
}

type Described = Pick<SourceInfo, 'bytes' | 'etag' | 'lastModified'>;

/**
 * HEAD only hints (validators for the cache, a size when the GET gives none): hosts answer HEAD with
 * a length of 0, a 404 or the wrong type while their GET works, so every verdict waits for the GET.
 */
async function describedByHead(remote: RemoteFile): Promise<Described> {
  const head = await remote.head();
  if (head.status < 200 || head.status >= 300) return {};
  return {
    bytes: identityLength(head.headers),
    etag: head.headers.get('etag') ?? undefined,
    lastModified: head.headers.get('last-modified') ?? undefined,
  };
}

/** 404 and its kind: the source is not there. A refusal, a limit or a server fault says nothing of it. */
function checkStatus(status: number): void {
  if (status >= 200 && status < 300) return;
  if (status === 416)
    throw new SourceProblem('the file is empty (the host answers HTTP 416 to its first bytes)', true);
  const passing = [401, 403, 407, 408, 429].includes(status) || status >= 500 || status < 400;
  if (passing) throw new SourceProblem(`the host answers HTTP ${status} to the runner`, false);
  throw new SourceProblem(`the URL answers HTTP ${status}`, true);
}

/** The type and size the GET states; a type is refused only when the bytes are not a video either. */
function checkAnswer(
  answer: Answer & { total?: number | undefined },
  limits: PreflightLimits,
  bytesAreVideo: boolean,
): void {
  const type = (answer.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const refused = bytesAreVideo ? undefined : refusedType(type);
  if (refused)
    throw new SourceProblem(
      `the URL serves ${quoteExternal(type, 80)} (${refused}), not a video; Kling accepts MP4 and MOV videos only`,
      true,
    );
  const bytes = answer.total ?? (answer.status === 206 ? undefined : identityLength(answer.headers));
  if (bytes !== undefined) checkSize(bytes, limits);
}

export function checkSize(bytes: number, limits: Pick<PreflightLimits, 'maxBytes'>): void {
  if (bytes > limits.maxBytes)
    throw new SourceProblem(
      `the video is ${megabytes(bytes, limits.maxBytes)}; Kling accepts at most ${megabytes(limits.maxBytes)}`,
      true,
    );
}

function refusedType(type: string): string | undefined {
  if (type === 'text/html' || type === 'application/xhtml+xml') return 'a web page';
  if (type === 'application/json' || type.endsWith('+json')) return 'a JSON document';
  if (type === 'application/vnd.apple.mpegurl' || type === 'application/x-mpegurl') return 'an HLS playlist';
  if (type.startsWith('image/')) return 'an image';
  if (type.startsWith('audio/')) return 'audio';
  return undefined;
}

function checkMovie(movie: MovieFacts, limits: Pick<PreflightLimits, 'minSeconds' | 'maxSeconds'>): void {
  if (!movie.video) throw new SourceProblem('it has no video track (audio only?)', true);
  const seconds = movie.durationSeconds;
  if (seconds === undefined) return;
  if (seconds < limits.minSeconds || seconds > limits.maxSeconds)
    throw new SourceProblem(
      `the video is ${figure(seconds, seconds < limits.minSeconds ? limits.minSeconds : limits.maxSeconds)} s;` +
        ` Kling accepts ${limits.minSeconds}–${limits.maxSeconds} s`,
      true,
    );
}

/** Decimal megabytes, as Kling states its limit; precise enough never to read as the limit itself. */
export function megabytes(bytes: number, limit?: number): string {
  const mb = bytes / 1_000_000;
  return `${limit === undefined ? String(mb) : figure(mb, limit / 1_000_000)} MB`;
}

/** One decimal, or as many more (up to three) as it takes not to read as `limit` when it is not. */
function figure(value: number, limit: number): string {
  for (let digits = 1; digits < 3; digits++) {
    const shown = value.toFixed(digits);
    if (Number(shown) !== limit || value === limit) return shown;
  }
  return value.toFixed(3);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').replace(/(..)/g, '$1 ').trim();
}
