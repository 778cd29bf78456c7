import { describe, expect, it } from 'vitest';
import { classifyGithub } from '../../../src/deliver/github.ts';
import { policy } from '../../../src/policy.ts';

describe('classifyGithub', () => {
  const httpError = (status: number, headers: Record<string, string> = {}, message = 'x') =>
    Object.assign(new Error(message), { status, response: { headers } });
  const classify = classifyGithub(() => 1_000_000, policy.github);

  it('retries 5xx and network errors within a budget, and rate limits as GitHub asks', () => {
    expect(classify(httpError(502))).toMatchObject({ retry: true, budget: { attempts: 3 } });
    expect(classify(httpError(500, {}, 'fetch failed'))).toMatchObject({ retry: true });
    expect(classify(httpError(429, { 'retry-after': '7' }))).toMatchObject({
      retry: true,
      retryAfterMs: 7_000,
    });
    expect(
      classify(httpError(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1030' })),
    ).toMatchObject({
      retry: true,
      retryAfterMs: 30_000,
    });
  });

  it('gives up on a rate limit that asks for a longer wait than it may wait', () => {
    expect(
      classify(httpError(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(1_000 + 3_600) })),
    ).toEqual({
      retry: false,
    });
    expect(classify(httpError(429, { 'retry-after': '3600' }))).toEqual({ retry: false });
  });

  it('does not retry refusals: a read-only token, a missing release, a validation error', () => {
    for (const status of [401, 403, 404, 422]) expect(classify(httpError(status))).toEqual({ retry: false });
    expect(classify(new Error('not an http error'))).toEqual({ retry: false });
  });
});
