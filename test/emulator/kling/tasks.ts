import type { EmulatorTask, Provider, Timeline } from './types.ts';
import type { VideoFetch } from './video-fetch.ts';

export type TaskStatus = 'submitted' | 'processing' | 'succeed' | 'failed';

export interface StoredTask extends EmulatorTask {
  readonly timeline: Required<Timeline>;
  /** performance.now() at creation: the timeline runs on the monotonic clock, so clock skew never moves it. */
  readonly startedAt: number;
  readonly audioId: string;
  readonly videoId: string;
  /** Kling's fetch of video_url, when the emulator made one: the task cannot end before it does. */
  videoFetch?: VideoFetch;
}

/** Where a task is on its timeline at some moment. */
export interface Progress {
  status: TaskStatus;
  /** When the status last changed, in ms after creation (for updated_at). */
  changedAfterMs: number;
  percent: number;
}

/** Every task created through the emulator, as both providers' accounts see them. */
export class TaskStore {
  readonly byId = new Map<string, StoredTask>();
  // 18-digit ids like Kling's, starting from the clock so two emulators in one test rarely share one.
  #lastId = 860_000_000_000_000_000n + BigInt(Date.now()) * 1000n;
  // Ids a test chose for the next tasks, used first in order.
  readonly #chosenIds: string[] = [];

  /** The next task created gets this task_id (after any chosen before it); it must be unused. */
  chooseNextId(id: string): void {
    if (this.byId.has(id) || this.#chosenIds.includes(id)) {
      throw new TypeError(`task_id ${JSON.stringify(id)} is already taken`);
    }
    this.#chosenIds.push(id);
  }

  create(
    provider: Provider,
    request: Record<string, unknown>,
    createdAt: number,
    timeline: Required<Timeline>,
    startedAt = performance.now(),
  ) {
    const externalId = request['external_task_id'];
    const task: StoredTask = {
      task_id: this.#chosenIds.shift() ?? this.#newId(),
      ...(typeof externalId === 'string' && externalId !== '' ? { external_task_id: externalId } : {}),
      created_at: createdAt,
      request,
      provider,
      timeline,
      startedAt,
      audioId: this.#newId(),
      videoId: this.#newId(),
    };
    this.byId.set(task.task_id, task);
    return task;
  }

  /** A task of this provider's account by task_id or external_task_id: Kling takes either in the path. */
  find(provider: Provider, id: string): StoredTask | undefined {
    const byTaskId = this.byId.get(id);
    return byTaskId?.provider === provider ? byTaskId : this.findByExternalId(provider, id);
  }

  findByExternalId(provider: Provider, externalId: string): StoredTask | undefined {
    return this.newestFirst(provider).find((task) => task.external_task_id === externalId);
  }

  newestFirst(provider: Provider): StoredTask[] {
    return [...this.byId.values()].filter((task) => task.provider === provider).reverse();
  }

  /**
   * How many tasks (both providers': one account) are `submitted` or `processing` at `now`, from
   * their timelines; a 'never' task counts forever.
   */
  runningAt(now: number): number {
    let running = 0;
    for (const task of this.byId.values()) if (isRunning(progressAt(task, now).status)) running += 1;
    return running;
  }

  #newId(): string {
    this.#lastId += 1n;
    return String(this.#lastId);
  }
}

export function progressAt(task: StoredTask, now: number): Progress {
  const fetch = task.videoFetch;
  if (fetch?.state === 'failed') {
    return { status: 'failed', changedAfterMs: (fetch.endedAtMs ?? now) - task.startedAt, percent: 100 };
  }
  const progress = onTimeline(task, now);
  // The video is still downloading: the task runs on, whatever its timeline says.
  if (fetch?.state === 'pending' && !isRunning(progress.status)) {
    return { status: 'processing', changedAfterMs: task.timeline.submittedMs, percent: 99 };
  }
  return progress;
}

/** The reason a failed task shows: its video fetch's, else its timeline's. */
export function failMessageOf(task: StoredTask): string {
  return task.videoFetch?.failure ?? task.timeline.failMessage;
}

function onTimeline(task: StoredTask, now: number): Progress {
  const elapsed = now - task.startedAt;
  const { submittedMs, processingMs, outcome } = task.timeline;
  if (elapsed < submittedMs) return { status: 'submitted', changedAfterMs: 0, percent: 0 };
  const doneAfterMs = submittedMs + processingMs;
  if (outcome === 'never' || elapsed < doneAfterMs) {
    const share = processingMs > 0 ? (elapsed - submittedMs) / processingMs : 1;
    return {
      status: 'processing',
      changedAfterMs: submittedMs,
      percent: Math.min(99, Math.max(1, Math.floor(share * 100))),
    };
  }
  return { status: outcome, changedAfterMs: doneAfterMs, percent: 100 };
}

export function isRunning(status: TaskStatus): boolean {
  return status === 'submitted' || status === 'processing';
}
