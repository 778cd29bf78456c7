import { retryDelayMs, type RetrySchedule } from './backoff.ts';
import { KlingApiError } from './kling/errors.ts';
import { formatDuration, type Clock, type Log, type Sleep } from './runtime.ts';

export interface RetryContext {
  clock: Clock;
  sleep: Sleep;
  random: () => number;
  log: Log;
  signal?: AbortSignal;
  schedule: RetrySchedule;
}

export interface RetryLimits {
  /** Consecutive failures allowed before giving up. */
  maxAttempts: number;
  /** Never sleep past this instant (ms since epoch). */
  deadlineMs?: number;
  /** Answers that are not the API's JSON allowed before giving up, when that likely means a wrong route. */
  maxMalformed?: number;
}

/**
 * Runs `attempt` until it succeeds, throws something not retryable, or the budget or deadline runs out.
 * Only errors classified retryable are retried; the last error is thrown as is.
 */
export async function withRetries<T>(
  operation: string,
  attempt: () => Promise<T>,
  limits: RetryLimits,
  context: RetryContext,
): Promise<T> {
  let malformed = 0;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof KlingApiError) || !error.classification.retryable) throw error;
      if (n + 1 >= limits.maxAttempts) throw error;
      if (
        error.classification.kind === 'malformed-response' &&
        ++malformed >= (limits.maxMalformed ?? Infinity)
      )
        throw error;
      const delay = retryDelayMs(n, error.retryAfterMs, context.schedule, context.random);
      if (limits.deadlineMs !== undefined && context.clock.now() + delay > limits.deadlineMs) throw error;
      context.log.warning(
        `${operation}: ${error.classification.meaning}` +
          `${error.code !== undefined ? ` (code ${error.code})` : ''}; retrying in ${formatDuration(delay)}` +
          ` (attempt ${n + 2} of ${Number.isFinite(limits.maxAttempts) ? limits.maxAttempts : 'until the deadline'}).`,
        { transient: true },
      );
      await context.sleep(delay, context.signal);
    }
  }
}
