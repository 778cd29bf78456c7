import { setTimeout as delay } from 'node:timers/promises';

/** Time and waiting are injected so tests never wait for real. */
export interface Clock {
  now(): number;
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface Log {
  info(message: string): void;
  /** `transient`: a passing problem that is being retried, not something the user must act on. */
  warning(message: string, options?: { transient?: boolean }): void;
  debug(message: string): void;
}

/**
 * The runner turns only the first 10 warnings of a step into annotations. Retry notices take at most
 * `budget` of them; later ones go to the log as plain lines, so a warning that matters still shows.
 */
export function limitTransientWarnings(log: Log, budget: number): Log {
  let transient = 0;
  return {
    info: (message) => log.info(message),
    debug: (message) => log.debug(message),
    warning: (message, options) => {
      if (!options?.transient) return log.warning(message);
      transient++;
      if (transient < budget) log.warning(message);
      else if (transient === budget)
        log.warning(`${message} (Further retry notices appear in the log only, not as annotations.)`);
      else log.info(`Retrying: ${message}`);
    },
  };
}

export const systemClock: Clock = { now: () => Date.now() };

export const abortableSleep: Sleep = async (ms, signal) => {
  try {
    await delay(Math.max(0, ms), undefined, { signal });
  } catch (error) {
    // timers/promises rejects with an AbortError wrapping the reason; callers want the reason.
    if (signal?.aborted) throw signal.reason;
    throw error;
  }
};

/**
 * Settles as `work` does, or rejects with the signal's reason the moment it aborts, for work that
 * cannot be aborted itself (the artifact client takes no signal). The abandoned work may go on until
 * the process exits; its late failure is swallowed here so it cannot crash the step.
 */
export async function abandonOnAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  work.catch(() => {});
  signal.throwIfAborted();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Thrown (as the abort reason) when the runner cancels the step. */
export class CancelledError extends Error {
  readonly signalName: string;
  constructor(signalName: string) {
    super(`Cancelled by ${signalName}`);
    this.signalName = signalName;
    this.name = 'CancelledError';
  }
}

/** Which signal cancelled the step, from the abort reason. */
export function signalName(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof CancelledError ? reason.signalName : 'cancellation';
}

/** "812 B", "78.1 KiB", "3.3 MiB": sizes in logs, messages and the summary. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** "1m05s", "42s": durations in logs and the summary. */
export function formatDuration(ms: number): string {
  // Under a second (short test limits, sub-second stalls): tenths, so it never reads "0s".
  if (ms > 0 && ms < 950) return `${(Math.max(ms, 100) / 1000).toFixed(1)}s`;
  const total = Math.max(0, Math.round(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return minutes > 0 ? `${minutes}m${String(seconds).padStart(2, '0')}s` : `${seconds}s`;
}

/** A counting gate with waiters served in order; `front` lets a refused entry go before new ones. */
export class Gate {
  #limit: number;
  readonly #max: number;
  #inUse = 0;
  readonly #waiters: { front: boolean; wake: () => void }[] = [];

  constructor(limit: number) {
    this.#limit = limit;
    this.#max = limit;
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

  /** One more place, up to the limit it started with: the account may have room again. */
  raise(): void {
    if (this.#limit >= this.#max) return;
    this.#limit++;
    this.#handOver();
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
