/**
 * Runs a step's entries with at most `max_concurrency` tasks in flight, and shares the Kling account
 * politely: its concurrency limit (1303) is per account, so when the API says the account is full,
 * the entry waits for one of this step's tasks to finish (or a backoff when none runs) and the
 * pool lowers its own limit to what the account evidently holds.
 */
import { retryDelayMs, type RetrySchedule } from '../net/backoff.ts';
import type { Gate } from '../runtime.ts';
import { formatDuration, type Clock, type Log, type Sleep } from '../runtime.ts';

export interface PoolContext {
  /** After a 1303, a finished task frees a place for the pool again only once none came for this long. */
  raiseAfterQuietMs: number;
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

/** An entry's hold on an account place, as its attempt sees it. */
export interface Place {
  /** A create is about to be sent: until its answer, the account may already count it. */
  creating(): void;
  /** The task exists on Kling's side: from now on it counts against the account. */
  taskStarted(): void;
  /** The task stopped counting (a final status): free the place, so the next entry starts while this one downloads. */
  release(): void;
}

export interface PoolWork<T> {
  count: number;
  /** Account places: max_concurrency at first, lowered when the account proves smaller. */
  slots: Gate;
  /** Runs entry `index` inside an account place. */
  attempt: (index: number, place: Place) => Promise<Attempt<T>>;
  /** The result of an entry that never got a place (cancelled while it waited). */
  notStarted: (index: number) => T;
}

/** This step's side of the account. */
interface Running {
  /** Tasks of ours that exist and are not final. */
  count: number;
  /** Creates sent and not answered yet, each settling with its answer. */
  creates: Set<Promise<void>>;
  /** How many of our tasks have stopped counting so far. */
  released: number;
  /** When the account last said it was full. */
  lastRefusalMs: number;
}

/** Runs every entry and returns every result in input order; one entry's failure never stops another. */
export async function runPool<T>(work: PoolWork<T>, context: PoolContext): Promise<T[]> {
  const running: Running = {
    count: 0,
    creates: new Set(),
    released: 0,
    lastRefusalMs: Number.NEGATIVE_INFINITY,
  };
  return Promise.all(
    Array.from({ length: work.count }, (_, index) => runEntry(index, work, running, context)),
  );
}

async function runEntry<T>(
  index: number,
  work: PoolWork<T>,
  running: Running,
  context: PoolContext,
): Promise<T> {
  let held: (() => void) | undefined;
  try {
    for (let refusals = 0; ; refusals++) {
      try {
        held ??= await work.slots.acquire(context.signal, refusals > 0);
      } catch (error) {
        if (context.signal.aborted) return work.notStarted(index);
        throw error;
      }
      const hold = place(held, running, work.slots, context);
      const outcome = await work.attempt(index, hold).finally(() => hold.answered());
      if (!outcome.accountFull) {
        // Ended without a final status (wait: false, or a failure after submit): the pool can no
        // longer see that task, so it stops counting it as one of its own.
        hold.release();
        return outcome.result;
      }
      running.lastRefusalMs = context.clock.now();
      // The refusal can overtake the answers to creates sent with this one: until they come, which
      // tasks are ours is not known. This entry keeps its place meanwhile.
      await Promise.all([...running.creates]);
      const stale = running.released > hold.releasedAtCreate;
      if (!stale && running.count > 0) {
        // Lower the limit before the place is freed, so no waiting entry sends a create into a full
        // account; this entry goes first once one of ours finishes.
        lowerTo(running.count, work.slots, context);
        held();
        held = undefined;
        continue;
      }
      // One of ours finished after this create was sent (the refusal may be out of date), or none of
      // ours runs: this entry keeps its place and tries again after a backoff.
      if (!stale) lowerTo(0, work.slots, context);
      const delay = retryDelayMs(refusals, outcome.retryAfterMs, context.schedule, context.random);
      if (context.clock.now() + delay >= context.deadlineMs) return outcome.result;
      context.log.warning(
        stale
          ? `The Kling account was running as many tasks as it may (code 1303), and one of this step's has finished since; trying again in ${formatDuration(delay)}.`
          : `The Kling account is running as many tasks as it may (code 1303), none of them this step's; trying again in ${formatDuration(delay)}.`,
        { transient: true },
      );
      try {
        await context.sleep(delay, context.signal);
      } catch (error) {
        if (context.signal.aborted) return work.notStarted(index);
        throw error;
      }
    }
  } finally {
    held?.();
  }
}

/** A place as the pool tracks it: also when the create was sent and when it was answered. */
interface TrackedPlace extends Place {
  /** Our tasks released before this attempt's create was sent. */
  readonly releasedAtCreate: number;
  /** The create (if any) has its answer: the task exists, the attempt returned, or both. */
  answered(): void;
}

function place(release: () => void, running: Running, slots: Gate, context: PoolContext): TrackedPlace {
  let started = false;
  let released = false;
  let create: { promise: Promise<void>; settle: () => void } | undefined;
  let releasedAtCreate = running.released;
  const tracked: TrackedPlace = {
    get releasedAtCreate() {
      return releasedAtCreate;
    },
    creating: () => {
      if (create || started) return;
      let settle!: () => void;
      const promise = new Promise<void>((resolve) => (settle = resolve));
      create = { promise, settle };
      releasedAtCreate = running.released;
      running.creates.add(promise);
    },
    answered: () => {
      if (!create || !running.creates.delete(create.promise)) return;
      create.settle();
    },
    taskStarted: () => {
      tracked.answered();
      if (started || released) return;
      started = true;
      running.count++;
    },
    release: () => {
      if (released) return;
      released = true;
      release();
      if (!started) return;
      running.count--;
      running.released++;
      // One of ours finished and the account has not been full for a while: take a place back.
      if (context.clock.now() - running.lastRefusalMs >= context.raiseAfterQuietMs) slots.raise();
    },
  };
  return tracked;
}

/** The account holds no more than the tasks of ours that run: keep no more in flight. */
function lowerTo(running: number, slots: Gate, context: PoolContext): void {
  const limit = Math.max(1, running);
  if (limit >= slots.limit) return;
  slots.lower(limit);
  context.log.info(
    `The Kling account is running as many tasks as it may (code 1303): this step now keeps ${limit} in flight.`,
  );
}
