/**
 * Runs a step's entries with at most `max_concurrency` tasks in flight, and shares the Kling account
 * politely: its concurrency limit (1303) is per account, so when the API says the account is full,
 * the entry waits for one of this step's tasks to finish (or a backoff when none runs) and the
 * pool lowers its own limit to what the account evidently holds.
 */
import { retryDelayMs, type RetrySchedule } from './net/backoff.ts';
import { formatDuration, type Clock, type Log, type Sleep } from './runtime.ts';

/** A counting gate with waiters served in order; `front` lets a refused entry go before new ones. */
export class Gate {
  #limit: number;
  #inUse = 0;
  readonly #waiters: { front: boolean; wake: () => void }[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  get limit(): number {
    return this.#limit;
  }

  get inUse(): number {
    return this.#inUse;
  }

  /** Resolves with a release function (safe to call more than once) when a place is free. */
  async acquire(signal?: AbortSignal, front = false): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.#inUse < this.#limit && this.#waiters.length === 0) this.#inUse++;
    else await this.#wait(signal, front);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inUse--;
      this.#handOver();
    };
  }

  /** Queues until a place is handed over (counted in #inUse by the one who hands it). */
  #wait(signal: AbortSignal | undefined, front: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        reject(signal!.reason as Error);
      };
      const waiter = {
        front,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const at = front ? this.#waiters.findIndex((w) => !w.front) : -1;
      this.#waiters.splice(at === -1 ? this.#waiters.length : at, 0, waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Fewer places from now on (never below one); those in use are not taken back. */
  lower(limit: number): void {
    this.#limit = Math.max(1, Math.min(this.#limit, limit));
  }

  #handOver(): void {
    while (this.#inUse < this.#limit && this.#waiters.length > 0) {
      this.#inUse++;
      this.#waiters.shift()!.wake();
    }
  }
}

export interface PoolContext {
  clock: Clock;
  sleep: Sleep;
  random: () => number;
  log: Log;
  signal: AbortSignal;
  schedule: RetrySchedule;
  deadlineMs: number;
}

/** How one attempt at an entry ended, as far as the pool cares. */
export interface Attempt<T> {
  /** The API refused the create: the account runs as many tasks as it may (1303). */
  accountFull: boolean;
  /** The refusal's Retry-After, when it had one. */
  retryAfterMs?: number;
  result: T;
}

export interface PoolWork<T> {
  count: number;
  /** Account places: max_concurrency at first, lowered when the account proves smaller. */
  slots: Gate;
  /**
   * Runs entry `index` inside an account place; calls `release` as soon as its task stops counting
   * against the account (a final status), so the next entry starts while this one downloads.
   */
  attempt: (index: number, release: () => void) => Promise<Attempt<T>>;
  /** The result of an entry that never got a place (cancelled while it waited). */
  notStarted: (index: number) => T;
}

/** Runs every entry and returns every result in input order; one entry's failure never stops another. */
export async function runPool<T>(work: PoolWork<T>, context: PoolContext): Promise<T[]> {
  return Promise.all(Array.from({ length: work.count }, (_, index) => runEntry(index, work, context)));
}

async function runEntry<T>(index: number, work: PoolWork<T>, context: PoolContext): Promise<T> {
  for (let refusals = 0; ; refusals++) {
    let release: () => void;
    try {
      release = await work.slots.acquire(context.signal, refusals > 0);
    } catch (error) {
      if (context.signal.aborted) return work.notStarted(index);
      throw error;
    }
    let outcome: Attempt<T>;
    try {
      outcome = await work.attempt(index, release);
    } finally {
      release();
    }
    if (!outcome.accountFull) return outcome.result;
    const room = await makeRoom(work.slots, refusals, outcome.retryAfterMs, context).catch(() => false);
    if (!room) return outcome.result;
  }
}

/**
 * After a 1303: lower the pool to the tasks of ours still running (the account holds no more), and
 * when none runs, back off before trying again. False when the wait would pass the deadline.
 */
async function makeRoom(
  slots: Gate,
  refusals: number,
  retryAfterMs: number | undefined,
  context: PoolContext,
): Promise<boolean> {
  const running = slots.inUse;
  if (running > 0 && running < slots.limit) {
    slots.lower(running);
    context.log.info(
      `The Kling account is running as many tasks as it may (code 1303): this step now keeps ${running} in flight.`,
    );
  }
  if (running > 0) return true;
  const delay = retryDelayMs(refusals, retryAfterMs, context.schedule, context.random);
  if (context.clock.now() + delay >= context.deadlineMs) return false;
  context.log.warning(
    `The Kling account is running as many tasks as it may (code 1303), none of them this step's; trying again in ${formatDuration(delay)}.`,
    { transient: true },
  );
  await context.sleep(delay, context.signal);
  return true;
}
