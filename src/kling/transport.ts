import type { TransportFailure } from './errors.ts';

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
    throw new TransportError(transportFailure(error), describeCause(error), { cause: error });
  }
}

const CODES: Record<string, TransportFailure> = {
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_CLOSED: 'reset',
  ECONNABORTED: 'reset',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  ECONNREFUSED: 'refused',
};

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function transportFailure(error: unknown): TransportFailure {
  const code = errorCode(error);
  return (code ? CODES[code] : undefined) ?? 'other';
}

function describeCause(error: unknown): string {
  const code = errorCode(error);
  const message =
    error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : '';
  return [code, message].filter(Boolean).join(': ') || 'network error';
}
