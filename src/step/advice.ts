/**
 * What the user should do, in terms of the inputs they wrote. The task and API layers describe what
 * happened; only the step knows which input would change it.
 */
import { Inputs } from '../constants.ts';
import { KlingApiError, NOT_SENT } from '../kling/errors.ts';
import { DeadlineError } from '../net/http.ts';
import type { Ending } from '../report/task-report.ts';
import { signalName } from '../runtime.ts';
import { describeSource, type Entry } from '../sources/source.ts';
import { DownloadError } from '../task/download.ts';
import { MissingResultError } from '../task/files.ts';
import { TaskFailedError } from '../task/run-task.ts';
import { CreateOutcomeUnknownError, ExternalIdTakenError } from '../task/submit.ts';
import { TaskTimeoutError } from '../task/wait.ts';
import type { TaskOutcome } from '../task/task.ts';

/** The inputs advice names. */
export interface AdviceSettings {
  baseUrl: string;
  timeoutSeconds: number;
  externalTaskId?: string;
}

/** How an entry ended, in the words the summary, the comment and `results` use. */
export function endingOf(
  outcome: TaskOutcome,
  entry: Entry,
  settings: AdviceSettings,
  signal: AbortSignal,
): Ending {
  switch (outcome.ending) {
    case 'succeeded':
      return { kind: 'succeeded' };
    case 'submitted':
      return { kind: 'submitted' };
    case 'cancelled':
      return { kind: 'cancelled', signal: signalName(signal) };
    case 'timeout':
      return { kind: 'timeout', message: describeFailure(outcome, entry, settings) };
    case 'failed':
      return { kind: 'failed', message: describeFailure(outcome, entry, settings) };
  }
}

/** The step's error line for a task that did not succeed. */
export function describeFailure(outcome: TaskOutcome, entry: Entry, inputs: AdviceSettings): string {
  const { error } = outcome;
  if (error instanceof TaskFailedError) return `${error.message} ${howToRetry(entry, inputs)}`;
  if (error instanceof TaskTimeoutError)
    return `${error.message} To collect it, ${resumeWith(error.task.taskId)}, or raise ${Inputs.TimeoutSeconds}.`;
  if (error instanceof DeadlineError || (error instanceof DownloadError && error.deadline))
    return deadlineMessage(error, outcome, inputs);
  if (error instanceof DownloadError && outcome.task?.status === 'succeed')
    return `${error.message} Task ${outcome.task.taskId} succeeded: collect its files with \`${Inputs.TaskId}: ${outcome.task.taskId}\` in a later step or run (Kling keeps them for 30 days), or re-run the job, which resumes the task.`;
  if (error instanceof MissingResultError) {
    const other = error.kind === 'mp3' ? 'wav' : error.kind === 'wav' ? 'mp3' : undefined;
    return `${error.message} ${other ? `Try ${Inputs.AudioFormat}: ${other}.` : `Set ${Inputs.IncludeVideo}: false.`}`;
  }
  if (error instanceof CreateOutcomeUnknownError)
    return `${error.message} To submit a fresh task instead, set ${Inputs.ExternalTaskId} to a new value.`;
  if (error instanceof ExternalIdTakenError)
    return `${error.message} Set ${Inputs.ExternalTaskId} to a new value, or pass the task's id as ${Inputs.TaskId}.`;
  if (error instanceof KlingApiError) {
    const advice = apiAdvice(error, entry, inputs);
    return advice ? error.withAdvice(advice) : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

function deadlineMessage(error: Error, outcome: TaskOutcome, inputs: AdviceSettings): string {
  const limit = `${Inputs.TimeoutSeconds} (${inputs.timeoutSeconds} s)`;
  const { task } = outcome;
  if (task?.status === 'succeed')
    return (
      `Task ${task.taskId} succeeded, but ${error instanceof DownloadError ? error.message : 'the step ran out of time'} (${limit}). ` +
      `Collect its files with \`${Inputs.TaskId}: ${task.taskId}\` in a later step or run (Kling keeps them for 30 days), or raise ${Inputs.TimeoutSeconds}.`
    );
  if (task)
    return (
      `The step's deadline, ${limit}, passed while task ${task.taskId} was ${task.status}. ` +
      `It keeps running on Kling's side: ${resumeWith(task.taskId)}, or raise ${Inputs.TimeoutSeconds}.`
    );
  const pending = outcome.externalTaskId
    ? ` If the create reached the API, a re-run of this job finds that task (external id ${outcome.externalTaskId}) instead of paying again.`
    : '';
  return `The step's deadline, ${limit}, passed before the API answered.${pending} Raise ${Inputs.TimeoutSeconds}, or re-run the job.`;
}

function resumeWith(taskId: string): string {
  return `resume it with \`${Inputs.TaskId}: ${taskId}\` in a later step or run`;
}

/** Advice naming the input to change, where the API's own advice could not. */
function apiAdvice(error: KlingApiError, entry: Entry, inputs: AdviceSettings): string | undefined {
  const base = `${Inputs.BaseUrl} (${inputs.baseUrl})`;
  const { kind } = error.classification;
  if (kind === 'auth')
    return `Check the credentials: the ${Inputs.ApiKey} secret (CometAPI key or Kling console API key), or ${Inputs.AccessKey} + ${Inputs.SecretKey} for ${Inputs.Provider}: kling.`;
  if (error.transport === 'bad-port' || (error.transport && NOT_SENT.includes(error.transport)))
    return `Could not reach the API: check ${base}${versionHint(inputs.baseUrl)} and the runner's network or proxy settings.`;
  if (kind === 'not-found' && describeSource(entry.source).taskId !== undefined)
    return `Check ${Inputs.TaskId} and the ${Inputs.Provider} and ${Inputs.BaseUrl} it was created with.`;
  const wrongRoute =
    kind === 'not-found' ||
    error.code === 1202 ||
    (error.status !== undefined && error.status >= 300 && error.status < 400) ||
    (kind === 'malformed-response' && !error.facts.notATask);
  if (wrongRoute)
    return `Check ${base}: it should be the API origin, e.g. https://api.cometapi.com.${versionHint(inputs.baseUrl)}`;
  return undefined;
}

/** A base_url that already holds the API's /v1 (or CometAPI's /kling/v1) doubles it in every path. */
export function versionHint(baseUrl: string): string {
  const url = new URL(baseUrl || 'https://x');
  const path = url.pathname.replace(/\/+$/, '');
  const trimmed = path.replace(/(\/kling)?\/v1(\/.*)?$/, '');
  if (trimmed === path) return '';
  return ` It holds the API's version path, which the action adds itself: use ${url.origin}${trimmed}.`;
}

/** A re-run resumes whatever the external id names, so what to do next depends on who chose it. */
function howToRetry(entry: Entry, inputs: AdviceSettings): string {
  if (describeSource(entry.source).taskId !== undefined)
    return `To try again, submit a new task (${Inputs.VideoUrl} or ${Inputs.VideoId}) instead of ${Inputs.TaskId}.`;
  if (inputs.externalTaskId)
    return `A re-run would resume this failed task: set a new ${Inputs.ExternalTaskId} to submit a fresh one.`;
  return 'Change the video or prompts if the reason calls for it; a re-run submits a fresh task.';
}
