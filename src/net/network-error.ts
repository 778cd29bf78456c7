/**
 * What went wrong below HTTP, read from fetch's error chain (`TypeError: fetch failed` wraps undici's
 * error, which may wrap the socket's or the proxy's). Shared by API calls and downloads.
 */
import { FORBIDDEN_ADDRESS_CODE } from './address.ts';

/** Why a request produced no HTTP answer. */
export type TransportFailure =
  | 'reset'
  | 'timeout'
  | 'dns'
  | 'refused'
  /** No route to the host, or no connection within the connect timeout. */
  | 'unreachable'
  /** The TLS handshake failed (wrong scheme for the port, certificate problems). */
  | 'tls'
  | 'proxy'
  | 'forbidden'
  | 'bad-port'
  | 'other';

export interface NetworkFailure {
  failure: TransportFailure;
  /** The most specific code and message in the chain, e.g. "ECONNREFUSED: connect ECONNREFUSED …". */
  detail: string;
}

const CODES: Record<string, TransportFailure> = {
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_CLOSED: 'reset',
  ECONNABORTED: 'reset',
  ETIMEDOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  ECONNREFUSED: 'refused',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENETDOWN: 'unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'unreachable',
  EPROTO: 'tls',
  [FORBIDDEN_ADDRESS_CODE]: 'forbidden',
};

/** undici's words when HTTPS_PROXY answers a CONNECT with anything but 200. */
const PROXY_REFUSAL = /Proxy response \((\d{3})\)/;

function failureOf(code: string): TransportFailure | undefined {
  if (/^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_)|SELF_SIGNED_CERT/.test(code)) return 'tls';
  return CODES[code];
}

export function readNetworkError(error: unknown): NetworkFailure {
  const chain: unknown[] = [];
  for (let e: unknown = error; e && chain.length < 6; e = (e as { cause?: unknown }).cause) chain.push(e);
  const codes = chain.map((e) => (e as { code?: unknown }).code).filter((c) => typeof c === 'string');
  const messages = chain.map((e) => (e instanceof Error ? e.message : '')).filter(Boolean);
  // The deepest message is the most specific ("fetch failed" is the shallowest).
  const message = messages.at(-1) ?? (typeof error === 'string' ? error : '');
  const code = codes.at(-1);
  const proxyStatus = Number(PROXY_REFUSAL.exec(messages.join('\n'))?.[1]);
  // fetch refuses the Fetch standard's "bad ports" (1, 22, 25, …) before connecting, with no code.
  const badPort = messages.some((m) => /^bad port$/i.test(m));
  const failure: TransportFailure =
    proxyStatus >= 400 && proxyStatus < 500
      ? 'proxy'
      : badPort
        ? 'bad-port'
        : ((code ? codes.map(failureOf).find(Boolean) : undefined) ?? 'other');
  const detail = [code, message].filter(Boolean).join(': ') || 'network error';
  return { failure, detail };
}

export const PROXY_ADVICE =
  'check the proxy in HTTPS_PROXY/HTTP_PROXY (address, credentials, allowed hosts), or list the host in NO_PROXY to go direct.';
