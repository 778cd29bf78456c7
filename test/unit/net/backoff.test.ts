import { describe, expect, it } from 'vitest';
import { parseRetryAfter, pollDelayMs, retryDelayMs, type PollSchedule } from '../../../src/net/backoff.ts';
import { policy } from '../../../src/policy.ts';
import { constantRandom, T0 } from '../../support/fakes.ts';

const ALMOST_ONE = 1 - Number.EPSILON;
const schedule: PollSchedule = { initialMs: 5_000, proportion: 0.1, capMs: 30_000, jitter: 0.1 };

describe('pollDelayMs', () => {
  it('waits exactly the initial interval before the first poll, whatever random says', () => {
    for (const r of [0, 0.5, ALMOST_ONE]) expect(pollDelayMs(0, schedule, constantRandom(r))).toBe(5_000);
  });

  it('keeps to the initial interval while 10 % of the elapsed time is shorter', () => {
    for (const elapsed of [5_000, 20_000, 49_000])
      expect(pollDelayMs(elapsed, schedule, constantRandom(0))).toBe(5_000);
  });

  it('then waits 10 % of the time the task has run, up to the cap', () => {
    const none = constantRandom(0);
    expect([60_000, 180_000, 299_000, 900_000].map((e) => pollDelayMs(e, schedule, none))).toEqual([
      6_000, 18_000, 29_900, 30_000,
    ]);
  });

  it('never caps below the initial interval', () => {
    const slow: PollSchedule = { ...schedule, initialMs: 60_000 };
    expect(pollDelayMs(0, slow, constantRandom(0.5))).toBe(60_000);
    expect(pollDelayMs(3_600_000, slow, constantRandom(0.5))).toBe(60_000);
  });

  it('jitter only shortens, and never below the initial interval', () => {
    expect(pollDelayMs(180_000, schedule, constantRandom(ALMOST_ONE))).toBe(16_200);
    expect(pollDelayMs(55_000, schedule, constantRandom(ALMOST_ONE))).toBe(5_000);
    for (let e = 1; e < 2_000_000; e += 7_919)
      for (let r = 0; r < 1; r += 0.1) {
        const d = pollDelayMs(e, schedule, constantRandom(r));
        expect(d).toBeGreaterThanOrEqual(5_000);
        expect(d).toBeLessThanOrEqual(Math.max(5_000, Math.min(30_000, e * 0.1)) + 1);
      }
  });

  it('notices a task within max(5 s, 10 % of T) and, for long tasks, with far fewer queries than a fixed 5 s poller', () => {
    const follow = (finishMs: number) => {
      let t = 0;
      let queries = 0;
      while (t < finishMs) {
        t += pollDelayMs(t, schedule, constantRandom(0));
        queries++;
      }
      return { delayMs: t - finishMs, queries };
    };
    for (const finishMs of [12_000, 45_000, 180_000, 900_000]) {
      const { delayMs, queries } = follow(finishMs);
      expect(delayMs).toBeLessThanOrEqual(Math.max(5_000, finishMs * 0.1));
      expect(queries).toBeLessThanOrEqual(Math.ceil(finishMs / 5_000));
    }
    expect(follow(900_000).queries * 3).toBeLessThanOrEqual(900_000 / 5_000);
  });

  it('keeps the delay target for every finish time, and sends the fewest queries any schedule keeping it can', () => {
    const polls: number[] = [];
    for (let t = 0; t < 900_000;) polls.push((t += pollDelayMs(t, schedule, constantRandom(0))));
    // Every T (1 s grid) is seen by the first poll at or after it within max(5 s, 10 % of T).
    for (let finishMs = 1_000; finishMs <= 890_000; finishMs += 1_000) {
      const seen = polls.find((p) => p >= finishMs)!;
      expect(seen - finishMs).toBeLessThanOrEqual(Math.max(5_000, finishMs * 0.1));
    }
    // The lower bound, independent of pollDelayMs: after a poll at t, a task done just after t must
    // be seen by t + max(5 s, t/10), so the sparsest schedule keeping the target steps exactly that.
    const fewest = (finishMs: number) => {
      let t = 0;
      let queries = 0;
      while (t < finishMs) {
        t += Math.max(5_000, t * 0.1);
        queries++;
      }
      return queries;
    };
    const queriesTo = (finishMs: number) => polls.findIndex((p) => p >= finishMs) + 1;
    expect(queriesTo(180_000)).toBe(fewest(180_000));
    // Hence ≥ 3× fewer than a fixed 5 s poller at 3 min cannot coexist with the delay target.
    expect(fewest(180_000) * 3).toBeGreaterThan(180_000 / 5_000);
  });

  it('has documented defaults: 10 % of elapsed, cap 30 s, jitter 10 %', () => {
    const { proportion, capMs, jitter } = policy.poll;
    expect({ proportion, capMs, jitter }).toEqual({ proportion: 0.1, capMs: 30_000, jitter: 0.1 });
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
