/** Poll a task to a terminal state within a deadline, logging progress at a readable rate. */
import { pollDelayMs, type PollSchedule } from './backoff.ts';
import type { KlingClient } from './kling/client.ts';
import type { Task } from './kling/responses.ts';
import type { RetryContext } from './retry.ts';
import { formatDuration } from './runtime.ts';

/** The deadline passed with the task still running. */
export class TaskTimeoutError extends Error {
  readonly task: Task;
  constructor(task: Task, waitedMs: number) {
    super(
      `Task ${task.taskId} did not finish within ${formatDuration(waitedMs)} (last status: ${task.status}). ` +
        `It keeps running on Kling's side: resume it with \`task_id: ${task.taskId}\` in a later step or run, ` +
        `or raise timeout_seconds.`,
    );
    this.name = 'TaskTimeoutError';
    this.task = task;
  }
}

export interface WaitOptions extends RetryContext {
  client: KlingClient;
  pollSchedule: PollSchedule;
  deadlineMs: number;
  startedMs: number;
  /** Every status seen, so the caller can keep task_status current. */
  onStatus: (task: Task) => void;
  /** Minimum gap between "still processing" lines. */
  heartbeatMs?: number;
}

export async function waitForTask(task: Task, options: WaitOptions): Promise<Task> {
  const { clock, log } = options;
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  let current = task;
  let lastLine = clock.now();
  for (let n = 0; current.status !== 'succeed' && current.status !== 'failed'; n++) {
    const remaining = options.deadlineMs - clock.now();
    if (remaining <= 0) throw new TaskTimeoutError(current, clock.now() - options.startedMs);
    await options.sleep(
      Math.min(pollDelayMs(n, options.pollSchedule, options.random), remaining),
      options.signal,
    );

    const previous = current.status;
    current = await options.client.getTask(current.taskId, {
      maxAttempts: Number.POSITIVE_INFINITY,
      deadlineMs: options.deadlineMs,
    });
    options.onStatus(current);
    const elapsed = formatDuration(clock.now() - options.startedMs);
    if (current.status !== previous) {
      log.info(`Task ${current.taskId}: ${current.status} after ${elapsed}.`);
      lastLine = clock.now();
    } else if (clock.now() - lastLine >= heartbeatMs) {
      log.info(`Task ${current.taskId}: still ${current.status} after ${elapsed}.`);
      lastLine = clock.now();
    } else {
      log.debug(`Task ${current.taskId}: ${current.status} (poll ${n + 1}).`);
    }
  }
  return current;
}
