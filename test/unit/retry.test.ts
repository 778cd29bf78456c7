import { describe, expect, it } from 'vitest';
import { KlingApiError, type FailureFacts } from '../../src/kling/errors.ts';
import { withRetries, type RetryLimits } from '../../src/retry.ts';
import { fakeRetryContext } from './fakes.ts';

const failure = (facts: FailureFacts) => new KlingApiError({ operation: 'Query task', ...facts });
const serverError = () => failure({ status: 503 });
const notJson = () => failure({ status: 200, malformed: true, message: '<html>' });

/** Fails with the given errors in turn, then answers 'ok'; counts the calls. */
function flaky(errors: KlingApiError[]) {
  let calls = 0;
  const attempt = () => {
    const error = errors[calls++];
    return error ? Promise.reject(error) : Promise.resolve('ok');
  };
  return { attempt, calls: () => calls };
}

/** `deadlineInMs` sets limits.deadlineMs that far ahead on the fake clock. */
function retry(errors: KlingApiError[], limits: RetryLimits, deadlineInMs?: number) {
  const context = fakeRetryContext();
  const deadlineMs = deadlineInMs === undefined ? undefined : context.clock.now() + deadlineInMs;
  const work = flaky(errors);
  const result = withRetries('Query task', work.attempt, { ...limits, deadlineMs }, context).catch(
    (e: unknown) => e,
  );
  return { result, calls: work.calls, context, deadlineMs };
}

describe('withRetries', () => {
  it('retries retryable failures until one succeeds', async () => {
    const { result, calls } = retry([serverError(), serverError()], { maxAttempts: 5 });
    expect(await result).toBe('ok');
    expect(calls()).toBe(3);
  });

  it('gives up after maxAttempts consecutive failures, throwing the last', async () => {
    const errors = [serverError(), serverError(), serverError()];
    const { result, calls } = retry(errors, { maxAttempts: 3 });
    expect(await result).toBe(errors[2]);
    expect(calls()).toBe(3);
  });

  it('does not retry what retrying cannot fix', async () => {
    const denied = failure({ status: 401, klingCode: 1000 });
    const { result, calls } = retry([denied], { maxAttempts: 5 });
    expect(await result).toBe(denied);
    expect(calls()).toBe(1);
  });

  it('never sleeps past the deadline', async () => {
    const errors = Array.from({ length: 50 }, serverError);
    const { result, context, calls, deadlineMs } = retry(
      errors,
      { maxAttempts: Number.POSITIVE_INFINITY },
      10_000,
    );
    expect(await result).toBeInstanceOf(KlingApiError);
    expect(calls()).toBeGreaterThan(1);
    expect(calls()).toBeLessThan(50);
    expect(context.clock.now()).toBeLessThanOrEqual(deadlineMs!);
  });

  it('stops after maxMalformed answers that are not JSON, while other failures go on', async () => {
    const { result, calls } = retry([notJson(), serverError(), notJson(), notJson(), notJson()], {
      maxAttempts: Number.POSITIVE_INFINITY,
      maxMalformed: 3,
    });
    const error = (await result) as KlingApiError;
    expect(error.classification.kind).toBe('malformed-response');
    expect(calls()).toBe(4);
  });
});
