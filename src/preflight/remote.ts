/**
 * The source file as the check sees it: a HEAD, then byte ranges. Every request is bounded by its own
 * timeout and the check's deadline, follows redirects by hand (each hop's URL checked before it is
 * fetched), sends no credentials, and reads no more than it asked for. A host that ignores Range is
 * read as one stream, forward only, and never past a cap.
 */
import { resultUrlProblem } from '../net/address.ts';
import { quoteExternal } from '../net/external-text.ts';
import type { FetchLike } from '../net/http.ts';
import { readNetworkError } from '../net/network-error.ts';
import { formatBytes, formatDuration, type Clock } from '../runtime.ts';

export interface RemoteLimits {
  /** One request, headers and body together. */
  requestTimeoutMs: number;
  maxRedirects: number;
  /** From a host that ignores Range: the most read from the start of the file. */
  maxReadBytes: number;
}

export interface RemoteContext {
  fetch: FetchLike;
  clock: Clock;
  signal?: AbortSignal;
  /** No request outlives this instant (ms since epoch). */
  deadlineMs: number;
  limits: RemoteLimits;
}

/** The check stops here: `definite` when the source cannot work, otherwise it could not be checked. */
export class SourceProblem extends Error {
  readonly definite: boolean;
  constructor(message: string, definite: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SourceProblem';
    this.definite = definite;
  }
}

export interface Answer {
  status: number;
  headers: Headers;
}

export interface HeadBytes extends Answer {
  bytes: Uint8Array;
  /** The host sent byte ranges (206); otherwise the whole file from its start (200). */
  ranged: boolean;
  /** The whole file's length, from Content-Range or (for a 200) Content-Length. */
  total: number | undefined;
  /** The file ended within the bytes asked for. */
  ended: boolean;
}

/** A request and, once it has answered, its response, whose body may still be read. */
interface Exchange {
  bounds: Bounds;
  response?: Response;
}

type Answered = Required<Exchange>;

export class RemoteFile {
  readonly #url: string;
  readonly #context: RemoteContext;
  /** The body of a 200 answer to a range request, read forward as the walk needs it. */
  #linear: { reader: StreamReader; position: number; exchange: Answered } | undefined;
  readonly #open = new Set<Exchange>();

  constructor(url: string, context: RemoteContext) {
    this.#url = url;
    this.#context = context;
  }

  /** HEAD: status and headers only. */
  async head(): Promise<Answer> {
    const exchange = await this.#send('HEAD', {});
    this.#finish(exchange);
    return { status: exchange.response.status, headers: exchange.response.headers };
  }

  /**
   * The first `length` bytes, asked for as a range. A non-2xx answer comes back with no bytes. On a
   * 200 (Range ignored) the rest of the body stays open for `readAt`, until `close`.
   */
  async readHead(length: number): Promise<HeadBytes> {
    const exchange = await this.#send('GET', { Range: `bytes=0-${length - 1}` });
    const { status, headers } = exchange.response;
    if (status !== 200 && status !== 206) {
      this.#finish(exchange);
      return { status, headers, bytes: new Uint8Array(0), ranged: false, total: undefined, ended: false };
    }
    const ranged = status === 206;
    if (ranged && contentRange(headers)?.start !== 0) {
      this.#finish(exchange);
      throw new SourceProblem('the host answered a range request with a different range', false);
    }
    const total = ranged ? contentRange(headers)?.total : identityLength(headers);
    const reader = streamReader(exchange.response);
    const bytes = await this.#guarded(exchange, () => reader.read(length));
    const ended = bytes.length < length;
    if (ranged || ended) this.#finish(exchange);
    else this.#linear = { reader, position: bytes.length, exchange };
    return { status, headers, bytes, ranged, total, ended };
  }

  /** Up to `length` bytes from `offset`: fewer, or none, past the end of the file. */
  readAt = async (offset: number, length: number): Promise<Uint8Array> => {
    if (this.#linear) return this.#readLinear(offset, length);
    const exchange = await this.#send('GET', { Range: `bytes=${offset}-${offset + length - 1}` });
    const { status, headers } = exchange.response;
    if (status === 416) {
      this.#finish(exchange);
      return new Uint8Array(0);
    }
    if (status === 200) {
      // The host stopped honouring Range: this body is the file from its start.
      this.#linear = { reader: streamReader(exchange.response), position: 0, exchange };
      return this.#readLinear(offset, length);
    }
    if (status !== 206 || contentRange(headers)?.start !== offset) {
      this.#finish(exchange);
      throw new SourceProblem(
        status === 206
          ? 'the host answered a range request with a different range'
          : `the host answered HTTP ${status} to a range request for byte ${offset} on`,
        false,
      );
    }
    const reader = streamReader(exchange.response);
    try {
      return await this.#guarded(exchange, () => reader.read(length));
    } finally {
      this.#finish(exchange);
    }
  };

  /** Ends every request still open: nothing more is read. */
  close(): void {
    for (const exchange of [...this.#open]) this.#finish(exchange);
    this.#linear = undefined;
  }

  async #readLinear(offset: number, length: number): Promise<Uint8Array> {
    const linear = this.#linear!;
    const cap = this.#context.limits.maxReadBytes;
    if (offset < linear.position)
      throw new SourceProblem('the host ignores Range requests, and the walk would have to go back', false);
    if (offset + length > cap) {
      this.#finish(linear.exchange);
      throw new SourceProblem(
        `the host ignores Range requests, and the part needed lies past the first ${formatBytes(cap)}, all the check reads`,
        false,
      );
    }
    const bytes = await this.#guarded(linear.exchange, async () => {
      await linear.reader.skip(offset - linear.position);
      return linear.reader.read(length);
    });
    linear.position = offset + bytes.length;
    return bytes;
  }

  /** One request with redirects followed by hand; the answer's body is left unread. */
  async #send(method: 'HEAD' | 'GET', extra: Record<string, string>): Promise<Answered> {
    // Media is compressed already; an unencoded body keeps byte offsets and lengths true.
    const headers = { 'Accept-Encoding': 'identity', ...extra };
    let current = this.#url;
    for (let hops = 0; ; hops++) {
      const pending: Exchange = { bounds: new Bounds(this.#context) };
      this.#open.add(pending);
      const init = { method, headers, redirect: 'manual' as const, signal: pending.bounds.signal };
      pending.response = await this.#guarded(pending, () => this.#context.fetch(current, init));
      const exchange = pending as Answered;
      const { status } = exchange.response;
      const location = exchange.response.headers.get('location');
      if (status < 300 || status >= 400 || status === 304 || !location) return exchange;
      this.#finish(exchange);
      if (hops >= this.#context.limits.maxRedirects)
        throw new SourceProblem(`it redirected more than ${this.#context.limits.maxRedirects} times`, false);
      let next: string;
      try {
        next = new URL(location, current).href;
      } catch {
        throw new SourceProblem(
          `it redirected to ${quoteExternal(location, 200)}, which is not a URL`,
          false,
        );
      }
      const refused = resultUrlProblem(next, true);
      if (refused)
        throw new SourceProblem(
          `it redirected to a URL the check will not fetch (${refused.replace(/^it /, 'that ')})`,
          false,
        );
      current = next;
    }
  }

  /** Runs a step of an exchange, turning an abort by its bounds or a network failure into a problem. */
  async #guarded<T>(exchange: Exchange, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      this.#finish(exchange);
      if (this.#context.signal?.aborted) throw this.#context.signal.reason;
      if (error instanceof SourceProblem) throw error;
      const stopped = exchange.bounds.stopped;
      if (stopped) throw stopped;
      const { detail } = readNetworkError(error);
      throw new SourceProblem(`the connection failed (${quoteExternal(detail, 200)})`, false, {
        cause: error,
      });
    }
  }

  /** Aborting the request also ends a body whose reader is held (cancel() would refuse a locked one). */
  #finish(exchange: Exchange): void {
    exchange.bounds.end();
    this.#open.delete(exchange);
  }
}

/** One request's time limit: its own timeout or the deadline, whichever comes first, and cancellation. */
class Bounds {
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout;
  #stopped: SourceProblem | undefined;

  constructor(context: RemoteContext) {
    const remaining = context.deadlineMs - context.clock.now();
    const { requestTimeoutMs } = context.limits;
    const byDeadline = remaining < requestTimeoutMs;
    const limitMs = Math.max(0, Math.min(requestTimeoutMs, remaining));
    this.#timer = setTimeout(() => {
      this.#stopped = new SourceProblem(
        byDeadline
          ? 'the check ran out of time before it had an answer'
          : `the host did not answer within ${formatDuration(limitMs)}`,
        false,
      );
      this.#controller.abort(this.#stopped);
    }, limitMs);
    this.signal = context.signal
      ? AbortSignal.any([context.signal, this.#controller.signal])
      : this.#controller.signal;
  }

  get stopped(): SourceProblem | undefined {
    return this.#stopped;
  }

  /** The request is over: its timer stops, and a body still coming is abandoned (the connection closes). */
  end(): void {
    clearTimeout(this.#timer);
    this.#controller.abort(new Error('the check has what it needs from this answer'));
  }
}

interface StreamReader {
  /** Up to `length` bytes; fewer only at the end of the body. */
  read(length: number): Promise<Uint8Array>;
  /** Reads and drops `length` bytes (fewer at the end of the body). */
  skip(length: number): Promise<void>;
}

/** Reads a body in exact amounts, keeping what a chunk held beyond the amount for the next call. */
function streamReader(response: Response): StreamReader {
  const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader();
  let pending: Uint8Array = new Uint8Array(0);
  let ended = !reader;
  const next = async (): Promise<Uint8Array | undefined> => {
    if (pending.length > 0) {
      const chunk = pending;
      pending = new Uint8Array(0);
      return chunk;
    }
    if (ended) return undefined;
    const { done, value } = await reader!.read();
    if (done) ended = true;
    return done ? undefined : value;
  };
  const take = async (length: number, keep: boolean): Promise<Uint8Array[]> => {
    const parts: Uint8Array[] = [];
    for (let wanted = length; wanted > 0;) {
      const chunk = await next();
      if (!chunk) break;
      const used = chunk.subarray(0, wanted);
      pending = chunk.subarray(used.length);
      if (keep) parts.push(used);
      wanted -= used.length;
    }
    return parts;
  };
  return {
    read: async (length) => new Uint8Array(Buffer.concat(await take(length, true))),
    skip: async (length) => void (await take(length, false)),
  };
}

/** `Content-Range: bytes <first>-<last>/<total or *>`. */
function contentRange(headers: Headers): { start: number; total: number | undefined } | undefined {
  const match = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(headers.get('content-range')?.trim() ?? '');
  if (!match) return undefined;
  return { start: Number(match[1]), total: match[3] === '*' ? undefined : Number(match[3]) };
}

/** Content-Length when it counts the file's own bytes (no content encoding). */
export function identityLength(headers: Headers): number | undefined {
  const encoding = (headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  const length = headers.get('content-length');
  if (encoding !== 'identity' || length === null || !/^\d+$/.test(length.trim())) return undefined;
  return Number(length);
}
