/**
 * The one retry discipline for every request the action makes: creates, queries, look-ups and
 * downloads. The caller says what an error means (a classifier); the schedule, the budgets, the
 * deadline and the wording of retry notices are decided here.
 */
import { retryDelayMs, type RetrySchedule } from './backoff.ts';
import { quoteExternal } from './external-text.ts';
import { formatDuration, type Clock, type Log, type Sleep } from '../runtime.ts';

export interface RetryContext {
  clock: Clock;
  sleep: Sleep;
  random: () => number;
  log: Log;
  /** Aborted on cancellation: waiting stops at once with its reason. */
  signal?: AbortSignal;
  schedule: RetrySchedule;
}

/** A limit on one kind of failure, counted apart from the others: so many tries, or so long. */
export interface Budget {
  name: string;
  attempts?: number;
  withinMs?: number;
}

export type Verdict =
  | { retry: false }
  | {
      retry: true;
      /** What went wrong, for the notice: "server error (HTTP 503)". */
      reason: string;
      /** The server's Retry-After, honoured up to the schedule's cap. */
      retryAfterMs?: number;
      /** Without one, only the deadline limits this failure. */
      budget?: Budget;
    };

export type Classify = (error: unknown) => Verdict;

export interface RetryPlan {
  /** Names the work in notices: "Query task 123". */
  operation: string;
  classify: Classify;
  /** Never wait past this instant (ms since epoch). */
  deadlineMs: number;
}

/**
 * Runs `attempt` until it succeeds, fails for a reason the classifier will not retry, exhausts the
 * failure's budget, or the next try would start after the deadline; then the last error is thrown.
 */
export async function withRetries<T>(
  plan: RetryPlan,
  attempt: (n: number) => Promise<T>,
  context: RetryContext,
): Promise<T> {
  const spent = new Map<string, { failures: number; firstMs: number }>();
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (context.signal?.aborted) throw context.signal.reason;
      const verdict = plan.classify(error);
      if (!verdict.retry) throw error;
      const now = context.clock.now();
      const delay = retryDelayMs(n, verdict.retryAfterMs, context.schedule, context.random);
      const budget = verdict.budget;
      const use = budget ? draw(spent, budget, now) : undefined;
      if (budget && use && exhausted(budget, use, now + delay)) throw error;
      if (now + delay >= plan.deadlineMs) throw error;
      const limit =
        budget?.attempts !== undefined && use
          ? `attempt ${use.failures + 1} of ${budget.attempts}`
          : budget?.withinMs !== undefined
            ? `attempt ${n + 2}; trying for up to ${formatDuration(budget.withinMs)}`
            : `attempt ${n + 2}; trying until the deadline, ${formatDuration(plan.deadlineMs - now)} from now`;
      // Reasons can carry server or network-stack text: one quoted line, whatever it holds.
      context.log.warning(
        quoteExternal(
          `${plan.operation}: ${verdict.reason}; retrying in ${formatDuration(delay)} (${limit}).`,
          1000,
        ),
        { transient: true },
      );
      await context.sleep(delay, context.signal);
    }
  }
}

function draw(spent: Map<string, { failures: number; firstMs: number }>, budget: Budget, now: number) {
  const use = spent.get(budget.name) ?? { failures: 0, firstMs: now };
  use.failures++;
  spent.set(budget.name, use);
  return use;
}

function exhausted(budget: Budget, use: { failures: number; firstMs: number }, nextTryMs: number): boolean {
  if (budget.attempts !== undefined && use.failures >= budget.attempts) return true;
  return budget.withinMs !== undefined && nextTryMs - use.firstMs > budget.withinMs;
}
