import { describe, expect, it } from 'vitest';
import { KlingApiError, type FailureFacts } from '../../../src/kling/errors.ts';
import { withRetries, type Budget, type Classify, type Verdict } from '../../../src/net/retry.ts';
import { CancelledError } from '../../../src/runtime.ts';
import { fakeRetryContext } from '../../support/fakes.ts';

const failure = (facts: FailureFacts) => new KlingApiError({ operation: 'Query task', ...facts });

class Passing extends Error {
  readonly verdict: Verdict;
  constructor(verdict: Partial<Extract<Verdict, { retry: true }>> = {}) {
    super('passing');
    this.verdict = { retry: true, reason: 'it blipped', ...verdict };
  }
}
class Final extends Error {}

/** The classifier under test reads the verdict off the error, so each case states what it means. */
const classify: Classify = (error) => (error instanceof Passing ? error.verdict : { retry: false });

/** Fails with the given errors in turn, then answers 'ok'; counts the calls. */
function flaky(errors: Error[]) {
  let calls = 0;
  const attempt = () => {
    const error = errors[calls++];
    return error ? Promise.reject(error) : Promise.resolve('ok');
  };
  return { attempt, calls: () => calls };
}

function retry(errors: Error[], deadlineInMs = 3_600_000, signal?: AbortSignal) {
  const context = fakeRetryContext({ signal });
  const deadlineMs = context.clock.now() + deadlineInMs;
  const work = flaky(errors);
  const result = withRetries(
    { operation: 'Query task 7', classify, deadlineMs },
    work.attempt,
    context,
  ).catch((e: unknown) => e);
  return { result, calls: work.calls, context, deadlineMs };
}

describe('withRetries: the one retry discipline', () => {
  it('retries what the classifier calls passing until an attempt succeeds', async () => {
    const { result, calls, context } = retry([new Passing(), new Passing()]);
    expect(await result).toBe('ok');
    expect(calls()).toBe(3);
    expect(context.sleep.delays).toHaveLength(2);
  });

  it('throws what the classifier will not retry at once, untouched', async () => {
    const final = new Final('no');
    const { result, calls, context } = retry([final]);
    expect(await result).toBe(final);
    expect(calls()).toBe(1);
    expect(context.sleep.delays).toEqual([]);
  });

  it('honours Retry-After (up to the schedule cap) over the backoff', async () => {
    const { result, context } = retry([
      new Passing({ retryAfterMs: 7_000 }),
      new Passing({ retryAfterMs: 10 * 60_000 }),
    ]);
    expect(await result).toBe('ok');
    expect(context.sleep.delays).toEqual([7_000, context.schedule.retryAfterCapMs]);
  });

  it('gives up when a budget of attempts is spent, throwing the last error', async () => {
    const budget: Budget = { name: 'create', attempts: 3 };
    const errors = [
      new Passing({ budget }),
      new Passing({ budget }),
      new Passing({ budget }),
      new Passing({ budget }),
    ];
    const { result, calls } = retry(errors);
    expect(await result).toBe(errors[2]);
    expect(calls()).toBe(3);
  });

  it('counts each budget apart: other failures in between do not spend it', async () => {
    const budget: Budget = { name: 'malformed', attempts: 2 };
    const errors = [
      new Passing({ budget }),
      new Passing(),
      new Passing(),
      new Passing({ budget }),
      new Passing({ budget }),
    ];
    const { result, calls } = retry(errors);
    expect(await result).toBe(errors[3]);
    expect(calls()).toBe(4);
  });

  it('gives up on a time budget once the next try would start past it', async () => {
    const budget: Budget = { name: 'unreachable', withinMs: 5_000 };
    const errors = Array.from({ length: 20 }, () => new Passing({ budget }));
    const { result, calls, context } = retry(errors);
    expect(await result).toBeInstanceOf(Passing);
    expect(calls()).toBeGreaterThan(2);
    expect(calls()).toBeLessThan(20);
    expect(
      context.clock.now() - context.clock.ms + context.sleep.delays.reduce((a, b) => a + b, 0),
    ).toBeLessThanOrEqual(5_000);
  });

  it('never sleeps past the deadline; without a budget the deadline is the only limit', async () => {
    const errors = Array.from({ length: 200 }, () => new Passing());
    const { result, context, calls, deadlineMs } = retry(errors, 60_000);
    expect(await result).toBeInstanceOf(Passing);
    expect(calls()).toBeGreaterThan(3);
    expect(calls()).toBeLessThan(200);
    expect(context.clock.now()).toBeLessThanOrEqual(deadlineMs);
  });

  it('stops waiting at once when cancelled, with the cancellation as the error', async () => {
    const controller = new AbortController();
    const cancelled = new CancelledError('SIGINT');
    const errors = [new Passing(), new Passing()];
    let calls = 0;
    const context = fakeRetryContext({ signal: controller.signal });
    const result = withRetries(
      { operation: 'Query task 7', classify, deadlineMs: context.clock.now() + 60_000 },
      () => {
        calls++;
        if (calls === 2) controller.abort(cancelled);
        return Promise.reject(errors[calls - 1]!);
      },
      context,
    ).catch((e: unknown) => e);
    expect(await result).toBe(cancelled);
    expect(calls).toBe(2);
  });

  it('says what is retried, when, and within which limit, in plain English, as a transient warning', async () => {
    const budget: Budget = { name: 'create', attempts: 5 };
    const { result, context } = retry(
      [new Passing({ reason: 'server error (HTTP 503)', budget }), new Passing()],
      900_000,
    );
    await result;
    const notices = context.log.lines.filter((l) => l.level === 'warning');
    expect(notices.every((l) => l.transient)).toBe(true);
    expect(notices[0]!.message).toBe(
      'Query task 7: server error (HTTP 503); retrying in 1s (attempt 2 of 5).',
    );
    expect(notices[1]!.message).toMatch(
      /^Query task 7: it blipped; retrying in \d+s \(attempt 3; trying until the deadline, 14m\d\ds from now\)\.$/,
    );
    expect(notices.map((l) => l.message).join('\n')).not.toMatch(/of until/);
  });

  it('works with the API error table as a classifier (a 503 passes, a 401 does not)', async () => {
    const byTable: Classify = (e) =>
      e instanceof KlingApiError && e.classification.retryable
        ? { retry: true, reason: e.classification.meaning }
        : { retry: false };
    const context = fakeRetryContext();
    const errors = [failure({ status: 503 }), failure({ status: 401, klingCode: 1000 })];
    let n = 0;
    const result = await withRetries(
      { operation: 'Query task', classify: byTable, deadlineMs: context.clock.now() + 60_000 },
      () => Promise.reject(errors[n++]!),
      context,
    ).catch((e: unknown) => e);
    expect(result).toBe(errors[1]);
    expect(n).toBe(2);
  });
});
