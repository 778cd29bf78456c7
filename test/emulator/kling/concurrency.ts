/**
 * The account's concurrency limit (reference §5: per account, shared by every key; a task holds a
 * slot from `submitted` until it ends; over the limit → HTTP 429 code 1303), and what the emulator
 * saw of it. Every figure is worked out from task timelines at the request's moment, never sampled.
 */

/** Slots held by "other users" of the account: `count` of them until `until` (performance.now()). */
interface Phantom {
  count: number;
  until: number;
}

export class AccountConcurrency {
  #limit: number | undefined;
  readonly #phantoms = new Set<Phantom>();
  #peak = 0;
  #refusals = 0;

  constructor(limit: number | undefined) {
    this.limit = limit;
  }

  /** undefined (or Infinity): unlimited. */
  get limit(): number | undefined {
    return this.#limit;
  }

  set limit(limit: number | undefined) {
    if (limit !== undefined && limit !== Infinity && !(Number.isInteger(limit) && limit >= 0)) {
      throw new RangeError(`account concurrency must be a whole number of at least 0, got ${limit}`);
    }
    this.#limit = limit === Infinity ? undefined : limit;
  }

  /** The highest number of the account's own tasks ever running at one moment (phantoms excluded). */
  get peak(): number {
    return this.#peak;
  }

  /** Creates refused with 1303. */
  get refusals(): number {
    return this.#refusals;
  }

  /** `count` more slots taken from `now` for `forMs` (Infinity: until released); returns the release. */
  occupy(count: number, forMs: number, now: number): () => void {
    if (!(Number.isInteger(count) && count >= 1)) {
      throw new RangeError(`occupied slots must be a whole number of at least 1, got ${count}`);
    }
    if (!(forMs >= 0)) throw new RangeError(`slots must be occupied for at least 0 ms, got ${forMs}`);
    const phantom = { count, until: now + forMs };
    this.#phantoms.add(phantom);
    return () => this.#phantoms.delete(phantom);
  }

  /** Slots held by phantoms at `now`; expired ones are dropped. */
  phantomsAt(now: number): number {
    let held = 0;
    for (const phantom of this.#phantoms) {
      if (phantom.until > now) held += phantom.count;
      else this.#phantoms.delete(phantom);
    }
    return held;
  }

  /**
   * Whether one more task may start at `now`, when `running` of the account's tasks are running.
   * A refusal is counted. The caller must create the task (or not) before it next awaits anything,
   * so two creates can never both take the last slot.
   */
  admit(running: number, now: number): boolean {
    if (this.#limit === undefined || running + this.phantomsAt(now) < this.#limit) return true;
    this.#refusals += 1;
    return false;
  }

  /**
   * A task just started, leaving `running` running (itself included). Half-open intervals overlap
   * the most at some interval's start, and tasks start in time order: the maximum over starts is exact.
   */
  started(running: number): void {
    this.#peak = Math.max(this.#peak, running);
  }
}
