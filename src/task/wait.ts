/** Poll a task to a terminal state within a deadline, logging progress at a readable rate. */
import type { KlingClient } from '../kling/client.ts';
import type { Task } from '../kling/responses.ts';
import { pollDelayMs } from '../net/backoff.ts';
import type { RetryContext } from '../net/retry.ts';
import { formatDuration } from '../runtime.ts';

/** The deadline passed with the task still running; it keeps running on Kling's side. */
export class TaskTimeoutError extends Error {
  readonly task: Task;
  constructor(task: Task, waitedMs: number) {
    super(
      `Task ${task.taskId} did not finish within ${formatDuration(waitedMs)} (last status: ${task.status}). ` +
        `It keeps running on Kling's side.`,
    );
    this.name = 'TaskTimeoutError';
    this.task = task;
  }
}

export interface PollLimits {
  /** Each interval is about this share of the time the task has run so far. */
  proportion: number;
  capMs: number;
  jitter: number;
  /** Least time between two "still processing" lines. */
  heartbeatMs: number;
  /** The last poll goes out this long before the deadline, so it has time to be answered. */
  lastLookMs: number;
}

export interface WaitContext extends RetryContext {
  client: KlingClient;
  initialPollMs: number;
  poll: PollLimits;
  deadlineMs: number;
  startedMs: number;
  /** Every status seen, so the caller can keep task_status current. */
  onStatus: (task: Task) => void;
}

export async function waitForTask(task: Task, context: WaitContext): Promise<Task> {
  const { clock, log, poll } = context;
  const schedule = {
    initialMs: context.initialPollMs,
    proportion: poll.proportion,
    capMs: poll.capMs,
    jitter: poll.jitter,
  };
  // Short polls need no head start: the answer comes as fast as the next poll would.
  const lastLookMs = Math.min(poll.lastLookMs, context.initialPollMs);
  let current = task;
  // Measured from here: a resumed task's own start is on the API's clock, which may be skewed.
  const waitStartedMs = clock.now();
  let lastLine = clock.now();
  for (let n = 0; current.status !== 'succeed' && current.status !== 'failed'; n++) {
    const remaining = context.deadlineMs - clock.now() - lastLookMs;
    if (remaining <= 0) throw new TaskTimeoutError(current, clock.now() - context.startedMs);
    await context.sleep(
      Math.min(pollDelayMs(clock.now() - waitStartedMs, schedule, context.random), remaining),
      context.signal,
    );

    const previous = current.status;
    current = await context.client.getTask(current.taskId, context.deadlineMs);
    context.onStatus(current);
    const elapsed = formatDuration(clock.now() - context.startedMs);
    if (current.status !== previous) {
      log.info(`Task ${current.taskId}: ${current.status} after ${elapsed}.`);
      lastLine = clock.now();
    } else if (clock.now() - lastLine >= poll.heartbeatMs) {
      log.info(`Task ${current.taskId}: still ${current.status} after ${elapsed}.`);
      lastLine = clock.now();
    } else {
      log.debug(`Task ${current.taskId}: ${current.status} (poll ${n + 1}).`);
    }
  }
  return current;
}
