import { describe, expect, it } from 'vitest';
import { parseRetryAfter, pollDelayMs, retryDelayMs, type PollSchedule } from '../../src/net/backoff.ts';
import { policy } from '../../src/policy.ts';
import { constantRandom, T0 } from './fakes.ts';

const ALMOST_ONE = 1 - Number.EPSILON;
const schedule: PollSchedule = { initialMs: 5_000, factor: 1.5, capMs: 30_000, jitter: 0.2 };

describe('pollDelayMs', () => {
  it('waits exactly the initial interval before the first poll, whatever random says', () => {
    for (const r of [0, 0.5, ALMOST_ONE]) expect(pollDelayMs(0, schedule, constantRandom(r))).toBe(5_000);
  });

  it('grows by the factor per poll (no jitter at random 0.5)', () => {
    const mid = constantRandom(0.5);
    expect([1, 2, 3].map((n) => pollDelayMs(n, schedule, mid))).toEqual([7_500, 11_250, 16_875]);
  });

  it('stops growing at the cap', () => {
    const mid = constantRandom(0.5);
    expect(pollDelayMs(5, schedule, mid)).toBe(30_000);
    expect(pollDelayMs(50, schedule, mid)).toBe(30_000);
  });

  it('never caps below the initial interval', () => {
    const slow: PollSchedule = { initialMs: 60_000, factor: 1.5, capMs: 30_000, jitter: 0 };
    expect(pollDelayMs(0, slow, constantRandom(0.5))).toBe(60_000);
    expect(pollDelayMs(3, slow, constantRandom(0.5))).toBe(60_000);
  });

  it('applies ± jitter: random 0 gives the lower bound, random ~1 the upper bound', () => {
    expect(pollDelayMs(1, schedule, constantRandom(0))).toBe(6_000);
    expect(pollDelayMs(1, schedule, constantRandom(ALMOST_ONE))).toBe(9_000);
    expect(pollDelayMs(10, schedule, constantRandom(0))).toBe(24_000);
    expect(pollDelayMs(10, schedule, constantRandom(ALMOST_ONE))).toBe(36_000);
  });

  it('stays within [base·(1-j), cap·(1+j)] for any random value', () => {
    for (let n = 1; n < 12; n++)
      for (let r = 0; r < 1; r += 0.05) {
        const d = pollDelayMs(n, schedule, constantRandom(r));
        const base = Math.min(30_000, 5_000 * 1.5 ** n);
        expect(d).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
        expect(d).toBeLessThanOrEqual(36_000);
      }
  });

  it('has documented defaults: factor 1.5, cap 30 s, jitter 20 %', () => {
    const { factor, capMs, jitter } = policy.poll;
    expect({ factor, capMs, jitter }).toEqual({ factor: 1.5, capMs: 30_000, jitter: 0.2 });
  });
});

describe('retryDelayMs', () => {
  const s = policy.retry.schedule;

  it('never waits less than the 1 s floor', () => {
    for (let attempt = 0; attempt < 10; attempt++)
      expect(retryDelayMs(attempt, undefined, s, constantRandom(0))).toBe(1_000);
  });

  it('grows the ceiling exponentially up to the cap', () => {
    const top = constantRandom(ALMOST_ONE);
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((a) => retryDelayMs(a, undefined, s, top))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 20_000, 20_000, 20_000,
    ]);
  });

  it('spreads delays between floor and ceiling (full jitter)', () => {
    expect(retryDelayMs(3, undefined, s, constantRandom(0.5))).toBe(4_500);
  });

  it("honours the server's Retry-After exactly", () => {
    expect(retryDelayMs(0, 2_500, s, constantRandom(0.9))).toBe(2_500);
    expect(retryDelayMs(7, 3_000, s, constantRandom(0))).toBe(3_000);
  });

  it('caps Retry-After at retryAfterCapMs', () => {
    expect(retryDelayMs(0, 3_600_000, s, constantRandom(0))).toBe(60_000);
  });

  it('treats a negative Retry-After as 0', () => {
    expect(retryDelayMs(0, -5, s, constantRandom(0))).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('2', T0)).toBe(2_000);
    expect(parseRetryAfter(' 120 ', T0)).toBe(120_000);
    expect(parseRetryAfter('0', T0)).toBe(0);
  });

  it('reads decimal seconds', () => {
    expect(parseRetryAfter('1.5', T0)).toBe(1_500);
  });

  it('reads an HTTP date relative to now', () => {
    const later = new Date(T0 + 90_000).toUTCString();
    expect(parseRetryAfter(later, T0)).toBe(90_000);
  });

  it('gives 0 for an HTTP date in the past', () => {
    expect(parseRetryAfter(new Date(T0 - 10_000).toUTCString(), T0)).toBe(0);
  });

  it.each([null, undefined, '', 'soon', 'abc', '5s', 'in a minute'])('gives undefined for %j', (v) => {
    expect(parseRetryAfter(v, T0)).toBeUndefined();
  });

  // V8's Date.parse reads these as dates in 2001, which would mean "retry now" (0 ms).
  it.each(['-1', 'foo 1', '+5', '1 2'])('gives undefined for the non-date garbage %j', (v) => {
    expect(parseRetryAfter(v, T0)).toBeUndefined();
  });
});
