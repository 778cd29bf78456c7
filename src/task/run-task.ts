/** One task from spec to files: submit or resume → wait → download. Ends in an outcome, never a throw. */
import type { Task } from '../kling/responses.ts';
import { quoteExternal } from '../net/external-text.ts';
import { DeadlineError } from '../net/http.ts';
import { CancelledError } from '../runtime.ts';
import { downloadFile, DownloadError } from './download.ts';
import { planDownloads, type DownloadedFile, type PlannedFile } from './files.ts';
import { submitOrResume } from './submit.ts';
import type { TaskContext, TaskObserver, TaskOutcome, TaskSpec } from './task.ts';
import { TaskTimeoutError, waitForTask } from './wait.ts';

/** The task ran to its end and failed on Kling's side. */
export class TaskFailedError extends Error {
  readonly task: Task;
  constructor(task: Task) {
    super(
      `Task ${task.taskId} failed: ${task.statusMessage ? `"${quoteExternal(task.statusMessage)}"` : 'no reason given'}.`,
    );
    this.name = 'TaskFailedError';
    this.task = task;
  }
}

export async function runTask(
  spec: TaskSpec,
  context: TaskContext,
  observer: TaskObserver,
): Promise<TaskOutcome> {
  // What is known so far, so an outcome can say it however the task ends.
  const state: { task?: Task; externalTaskId?: string; resumed: boolean; files: DownloadedFile[] } = {
    resumed: false,
    files: [],
  };
  const seen: TaskObserver = {
    creating: (externalTaskId) => {
      state.externalTaskId = externalTaskId;
      observer.creating(externalTaskId);
    },
    taskKnown: (task, externalTaskId, resumed) => {
      Object.assign(state, { task, resumed, externalTaskId: externalTaskId ?? task.externalTaskId });
      observer.taskKnown(task, externalTaskId, resumed);
    },
    status: (task) => {
      state.task = task;
      observer.status(task);
    },
    downloaded: (file) => {
      state.files.push(file);
      observer.downloaded(file);
    },
  };
  try {
    let task = await obtainTask(spec, context, seen);
    if (!spec.wait) {
      context.log.info(`Task ${task.taskId} is ${task.status}; not waiting for it.`);
      return { ...state, ending: 'submitted' };
    }
    task = await waitForTask(task, {
      ...context,
      initialPollMs: spec.pollIntervalMs,
      poll: context.limits.poll,
      onStatus: seen.status,
    });
    if (task.status === 'failed') return { ...state, ending: 'failed', error: new TaskFailedError(task) };
    const planned = planDownloads(task, spec.audioFormat, spec.includeVideo, spec.outputDir);
    const release = await context.downloads?.acquire(context.signal);
    try {
      for (const file of planned) seen.downloaded(await download(file, context));
    } finally {
      release?.();
    }
    return { ...state, ending: 'succeeded' };
  } catch (error) {
    return { ...state, ending: endingFor(error, context.signal), error };
  }
}

async function download(planned: PlannedFile, context: TaskContext): Promise<DownloadedFile> {
  const file = await downloadFile(planned, {
    ...context,
    allowHttp: context.allowHttpResults,
    limits: context.limits.download,
  });
  context.log.info(`Downloaded ${file.path} (${file.bytes} bytes).`);
  return file;
}

/** Attach to an existing task, or submit (resuming whatever an earlier attempt already paid for). */
async function obtainTask(spec: TaskSpec, context: TaskContext, observer: TaskObserver): Promise<Task> {
  if (spec.attachTo !== undefined) {
    const task = await context.client.getTask(spec.attachTo, context.deadlineMs);
    observer.taskKnown(task, undefined, true);
    context.log.info(`Attached to task ${task.taskId} (${task.status}).`);
    return task;
  }
  const { task } = await submitOrResume(
    {
      request: spec.request,
      externalTaskId: spec.externalTaskId,
      derived: spec.derivedExternalId,
      lookUpFirst: spec.lookUpFirst,
    },
    {
      ...context,
      // This entry's own: an answer naming a task another entry holds is not believed.
      claim: (taskId) => context.holders?.claim(taskId, spec) ?? true,
      createAttempts: context.limits.createAttempts,
      maxSuperseded: context.limits.maxSuperseded,
      onCreating: observer.creating,
      onTaskKnown: observer.taskKnown,
    },
  );
  return task;
}

function endingFor(error: unknown, signal: AbortSignal | undefined): TaskOutcome['ending'] {
  if (signal?.aborted || error instanceof CancelledError) return 'cancelled';
  if (error instanceof TaskTimeoutError || error instanceof DeadlineError) return 'timeout';
  if (error instanceof DownloadError && error.deadline) return 'timeout';
  return 'failed';
}
