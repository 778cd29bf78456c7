/** One HTTP exchange with an API: bounded in time (request timeout and the step's deadline) and in size. */
import { formatBytes } from '../runtime.ts';
import { readNetworkError, type TransportFailure } from './network-error.ts';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** The request never produced an HTTP answer. */
export class TransportError extends Error {
  readonly failure: TransportFailure;
  constructor(failure: TransportFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
    this.failure = failure;
  }
}

/** The answer was larger than any answer of this API should be; it was not read further. */
export class AnswerTooLargeError extends Error {
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(`the answer is larger than ${formatBytes(maxBytes)}`);
    this.name = 'AnswerTooLargeError';
    this.maxBytes = maxBytes;
  }
}

/** The step's deadline (timeout_seconds) came before or during the request. */
export class DeadlineError extends Error {
  constructor(what: string) {
    super(`${what}: the step's deadline passed`);
    this.name = 'DeadlineError';
  }
}

export interface SendOptions {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** The step's cancellation signal: its reason is rethrown untouched. */
  signal?: AbortSignal;
  timeoutMs: number;
  /** Milliseconds left before the step's deadline; the request never outlives it. */
  remainingMs: number;
  maxBytes: number;
}

/** One HTTP exchange, no retries, no redirects (a CometAPI path mistake answers 301: surface it). */
export async function send(fetchImpl: FetchLike, options: SendOptions): Promise<HttpResponse> {
  if (options.remainingMs <= 0) throw new DeadlineError('The request');
  const limitMs = Math.min(options.timeoutMs, options.remainingMs);
  const timeout = AbortSignal.timeout(limitMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const response = await fetchImpl(options.url, {
      method: options.method,
      headers: options.headers,
      body: options.body,
      redirect: 'manual',
      signal,
    });
    const text = await readCapped(response, options.maxBytes);
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (error instanceof AnswerTooLargeError) throw error;
    if (timeout.aborted) {
      if (limitMs < options.timeoutMs) throw new DeadlineError('The request');
      throw new TransportError('timeout', `no answer within ${limitMs} ms`, { cause: error });
    }
    const { failure, detail } = readNetworkError(error);
    throw new TransportError(failure, detail, { cause: error });
  }
}

/** The body as text, refusing (and no longer reading) past `maxBytes`, so memory stays bounded. */
export async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new AnswerTooLargeError(maxBytes);
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new AnswerTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
