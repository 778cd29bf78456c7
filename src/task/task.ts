/**
 * One task, from spec to files: what it is given, what it reports while it runs, and how it ends.
 * The task layer reads no input and writes no output; the step turns outcomes into both.
 */
import type { CreateTaskRequest, KlingClient } from '../kling/client.ts';
import type { Task } from '../kling/responses.ts';
import type { FetchLike } from '../net/http.ts';
import type { RetryContext } from '../net/retry.ts';
import type { DownloadLimits } from './download.ts';
import type { AudioFormat, DownloadedFile, ResultFile } from './files.ts';
import type { PollLimits } from './wait.ts';

export interface TaskSpec {
  /** An existing task to attach to, instead of submitting `request`. */
  attachTo?: string;
  /** The create body without its external id: the video, prompts, asmr_mode, callback_url. */
  request: Omit<CreateTaskRequest, 'external_task_id'>;
  externalTaskId: string;
  /** The external id was derived by the action, so a failed earlier task may be superseded. */
  derivedExternalId: boolean;
  /**
   * A task with this external id may exist already (a re-run, or an id the user chose): look it up
   * before creating. On a run's first attempt a derived id cannot have one yet.
   */
  lookUpFirst: boolean;
  wait: boolean;
  pollIntervalMs: number;
  audioFormat: AudioFormat;
  includeVideo: boolean;
  /** Absolute. */
  outputDir: string;
}

export interface TaskLimits {
  createAttempts: number;
  maxSuperseded: number;
  poll: PollLimits;
  download: DownloadLimits;
}

/** A limited number of places (downloads at once); the step decides how many. */
export interface Places {
  /** Resolves with a release function once a place is free. */
  acquire(signal?: AbortSignal): Promise<() => void>;
}

/** What one task needs from the world: the API, the network for result files, time and the deadline. */
export interface TaskContext extends RetryContext {
  client: KlingClient;
  /** For result files: the API client has its own. */
  fetch: FetchLike;
  startedMs: number;
  deadlineMs: number;
  /** Result files may come over http (the API itself is on loopback, as in tests). */
  allowHttpResults: boolean;
  limits: TaskLimits;
  /** Shared by the step's tasks, so no more than so many download at once. */
  downloads?: Places;
  /** Shared by the step's tasks, so no answer gives one entry a task another entry holds. */
  holders?: TaskHolders;
}

/** Which task each entry holds. */
export interface TaskHolders {
  /** Takes `taskId` for `holder`; false when another holder has it. */
  claim(taskId: string, holder: object): boolean;
}

/** Facts as they happen, so the step can publish the task id the moment it exists. */
export interface TaskObserver {
  /** A create is about to be sent: from now on a task may exist under this external id. */
  creating: (externalTaskId: string) => void;
  taskKnown: (task: Task, externalTaskId: string | undefined, resumed: boolean) => void;
  status: (task: Task) => void;
  downloaded: (file: DownloadedFile) => void;
}

export type TaskEnding = 'succeeded' | 'submitted' | 'failed' | 'timeout' | 'cancelled';

export interface TaskOutcome {
  ending: TaskEnding;
  /** The last state seen, when a task is known. */
  task?: Task;
  externalTaskId?: string;
  resumed: boolean;
  /** What the entry delivers: the task's downloads, and what the stages after the task made of them. */
  files: ResultFile[];
  /** Why it did not succeed (absent for succeeded and submitted). */
  error?: unknown;
}
