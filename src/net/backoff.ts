/**
 * Pure delay schedules. `random` is injected (a value in [0, 1)) so every schedule is testable.
 */

export interface PollSchedule {
  /** The first poll waits exactly this long, and no interval is shorter (`poll_interval_seconds`). */
  initialMs: number;
  /** The interval is this share of the time the task has run so far: late notice stays proportional. */
  proportion: number;
  /** No interval is longer than this (unless initialMs is). */
  capMs: number;
  /** Intervals are shortened by up to this fraction at random, so matrix legs do not poll in lock-step. */
  jitter: number;
}

/**
 * Delay before the next poll, when the task has run `elapsedMs` (0 before the first poll): about
 * `proportion` of that, between initialMs and capMs. Jitter only shortens, so a task that finishes at T
 * is noticed within max(initialMs, proportion·T).
 */
export function pollDelayMs(elapsedMs: number, schedule: PollSchedule, random: () => number): number {
  if (elapsedMs <= 0) return schedule.initialMs;
  const cap = Math.max(schedule.capMs, schedule.initialMs);
  const base = Math.min(cap, Math.max(schedule.initialMs, elapsedMs * schedule.proportion));
  return Math.round(Math.max(schedule.initialMs, base * (1 - schedule.jitter * random())));
}

export interface RetrySchedule {
  /** Kling asks for at least 1 s before retrying a rate or concurrency limit. */
  minMs: number;
  baseMs: number;
  capMs: number;
  /** A server's Retry-After is honoured up to this. */
  retryAfterCapMs: number;
}

/** Delay before retry number `attempt` (0-based): the server's Retry-After, else full jitter above a floor. */
export function retryDelayMs(
  attempt: number,
  retryAfterMs: number | undefined,
  schedule: RetrySchedule,
  random: () => number,
): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(0, retryAfterMs), schedule.retryAfterCapMs);
  const ceiling = Math.max(schedule.minMs, Math.min(schedule.capMs, schedule.baseMs * 2 ** attempt));
  return Math.round(schedule.minMs + random() * (ceiling - schedule.minMs));
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  // Date.parse accepts almost anything ("-1" is a date in 2001): require the IMF-fixdate form.
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
