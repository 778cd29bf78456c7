import { describe, expect, it } from 'vitest';
import { readNetworkError } from '../../../src/net/network-error.ts';

/** What Node's fetch throws: `TypeError: fetch failed` around undici's error. */
function fetchFailed(...chain: Error[]): TypeError {
  for (let i = chain.length - 2; i >= 0; i--) Object.assign(chain[i]!, { cause: chain[i + 1] });
  return new TypeError('fetch failed', { cause: chain[0] });
}
const withCode = (message: string, code: string, name = 'Error') =>
  Object.assign(new Error(message), { code, name });

describe('readNetworkError', () => {
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['ECONNRESET', 'reset'],
    ['UND_ERR_SOCKET', 'reset'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['EHOSTUNREACH', 'unreachable'],
    ['ENETUNREACH', 'unreachable'],
    ['UND_ERR_CONNECT_TIMEOUT', 'unreachable'],
    ['ERR_SSL_PACKET_LENGTH_TOO_LONG', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls'],
    ['EWHATEVER', 'other'],
  ] as const)('reads %s as %s, with the code and the deepest message', (code, failure) => {
    const read = readNetworkError(fetchFailed(withCode(`connect ${code} 10.0.0.1:443`, code)));
    expect(read).toEqual({ failure, detail: `${code}: connect ${code} 10.0.0.1:443` });
  });

  it('reads a proxy that refuses the CONNECT (as undici reports it) as a proxy failure', () => {
    const error = fetchFailed(
      Object.assign(new Error('Request was cancelled.'), { code: 0 }),
      withCode('Proxy response (407) !== 200 when HTTP Tunneling', 'UND_ERR_ABORTED', 'AbortError'),
    );
    expect(readNetworkError(error)).toEqual({
      failure: 'proxy',
      detail: 'UND_ERR_ABORTED: Proxy response (407) !== 200 when HTTP Tunneling',
    });
  });

  it('leaves a proxy 5xx (its upstream failed, maybe briefly) as a retryable network error', () => {
    const error = fetchFailed(
      withCode('Proxy response (502) !== 200 when HTTP Tunneling', 'UND_ERR_ABORTED', 'AbortError'),
    );
    expect(readNetworkError(error).failure).toBe('other');
  });

  it('finds a code below a wrapper that has none', () => {
    const error = fetchFailed(new Error('other side closed'), withCode('read ECONNRESET', 'ECONNRESET'));
    expect(readNetworkError(error)).toEqual({ failure: 'reset', detail: 'ECONNRESET: read ECONNRESET' });
  });

  it('describes errors without a chain or a code', () => {
    expect(readNetworkError(new Error('boom'))).toEqual({ failure: 'other', detail: 'boom' });
    expect(readNetworkError('text')).toEqual({ failure: 'other', detail: 'text' });
    expect(readNetworkError(undefined)).toEqual({ failure: 'other', detail: 'network error' });
  });
});

describe('ports fetch never uses', () => {
  it('reads undici\'s "bad port" (no code) as a failure of its own, not a blip', async () => {
    const error = await fetch('http://127.0.0.1:1/').catch((e: unknown) => e);
    expect(readNetworkError(error).failure).toBe('bad-port');
  });
});
