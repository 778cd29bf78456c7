/** The primary rate limit of the core resource: spent by every request, shown in every answer. */
import type { Exchange } from './exchange.ts';
import { rateLimitExceeded } from './faults.ts';

export interface RateBudget {
  limit: number;
  remaining: number;
  /** When the budget is whole again, in epoch seconds. */
  resetEpoch: number;
}

/** A budget is whole again this long after it was set, as GitHub's hourly window. */
const WINDOW_SECONDS = 3600;

const epochNow = () => Math.floor(Date.now() / 1000);

export class RateLimit {
  #budget: RateBudget;

  constructor(options: { limit?: number; remaining?: number } = {}) {
    const limit = options.limit ?? 5000;
    this.#budget = {
      limit,
      remaining: options.remaining ?? limit,
      resetEpoch: epochNow() + WINDOW_SECONDS,
    };
  }

  get budget(): RateBudget {
    return { ...this.#budget };
  }

  set(budget: { limit?: number; remaining: number; resetInSeconds?: number }): void {
    this.#budget = {
      limit: budget.limit ?? this.#budget.limit,
      remaining: budget.remaining,
      resetEpoch: epochNow() + (budget.resetInSeconds ?? WINDOW_SECONDS),
    };
  }

  /** Counts the request against the limit; answers the rate-limit 403 and returns false when none is left. */
  async spend(exchange: Exchange): Promise<boolean> {
    const now = epochNow();
    if (now >= this.#budget.resetEpoch) {
      this.#budget = { ...this.#budget, remaining: this.#budget.limit, resetEpoch: now + WINDOW_SECONDS };
    }
    if (this.#budget.remaining <= 0) {
      await exchange.drain();
      exchange.json(403, rateLimitExceeded(403));
      return false;
    }
    this.#budget.remaining -= 1;
    return true;
  }

  headers(): Record<string, string> {
    const { limit, remaining, resetEpoch } = this.#budget;
    return {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-reset': String(resetEpoch),
      'x-ratelimit-used': String(limit - remaining),
      'x-ratelimit-resource': 'core',
    };
  }
}
