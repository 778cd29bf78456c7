import type { TransportFailure } from './errors.ts';
import { readNetworkError } from '../network-error.ts';

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

export interface SendOptions {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** The step's cancellation signal: its reason is rethrown untouched. */
  signal?: AbortSignal;
  timeoutMs: number;
}

/** One HTTP exchange, no retries, no redirects (a CometAPI path mistake answers 301: surface it). */
export async function send(fetchImpl: FetchLike, options: SendOptions): Promise<HttpResponse> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const response = await fetchImpl(options.url, {
      method: options.method,
      headers: options.headers,
      body: options.body,
      redirect: 'manual',
      signal,
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (timeout.aborted)
      throw new TransportError('timeout', `no answer within ${options.timeoutMs} ms`, { cause: error });
    const { failure, detail } = readNetworkError(error);
    throw new TransportError(failure, detail, { cause: error });
  }
}
