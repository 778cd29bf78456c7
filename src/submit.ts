/**
 * Submit a task without ever paying twice: look the external id up first, send the create once, and
 * when its outcome is unknown (reset, timeout, 5xx) look again before deciding to send it again.
 */
import type { CreateTaskRequest, KlingClient } from './kling/client.ts';
import { KlingApiError } from './kling/errors.ts';
import type { Task } from './kling/responses.ts';
import { externalIdCandidate } from './external-id.ts';
import { retryDelayMs } from './backoff.ts';
import type { RetryContext } from './retry.ts';
import { formatDuration } from './runtime.ts';

export interface SubmitOptions extends RetryContext {
  client: KlingClient;
  request: Omit<CreateTaskRequest, 'external_task_id'>;
  externalTaskId: string;
  /** The id was derived by the action, so a failed earlier task may be superseded by a fresh one. */
  derived: boolean;
  deadlineMs: number;
  /** Create attempts allowed (definite rejections such as 1303, and resends after a confirmed miss). */
  maxCreateAttempts: number;
  /** Called just before a create is sent: from then on a task may exist under this external id. */
  onCreating: (externalTaskId: string) => void;
  /** Called the moment a task id is known, before anything else can fail. */
  onTaskKnown: (task: Task, externalTaskId: string, resumed: boolean) => void;
}

export interface Submission {
  task: Task;
  externalTaskId: string;
  resumed: boolean;
}

const MAX_SUPERSEDED = 5;

export async function submitOrResume(options: SubmitOptions): Promise<Submission> {
  const { log } = options;
  for (let n = 0; ; n++) {
    const externalTaskId = externalIdCandidate(options.externalTaskId, n);
    const existing = await lookUpBeforeCreate(options, externalTaskId);
    if (existing && !(options.derived && existing.status === 'failed' && n < MAX_SUPERSEDED)) {
      log.info(
        `Resuming task ${existing.taskId} (external id ${externalTaskId}, ${existing.status}) from an earlier attempt.`,
      );
      return known(options, existing, externalTaskId, true);
    }
    if (existing) {
      log.info(`The earlier task ${existing.taskId} for ${externalTaskId} failed; submitting a fresh one.`);
      continue;
    }
    return create(options, externalTaskId);
  }
}

function known(options: SubmitOptions, task: Task, externalTaskId: string, resumed: boolean): Submission {
  options.onTaskKnown(task, externalTaskId, resumed);
  return { task, externalTaskId, resumed };
}

/** undefined when the API says no such task; throws when it cannot tell. */
async function lookUp(options: SubmitOptions, externalTaskId: string): Promise<Task | undefined> {
  // A read: retried freely within the deadline, like polls (only creates have a failure budget). But
  // answers that are not JSON here more likely mean the look-up route does not exist than a blip.
  return options.client.findByExternalId(externalTaskId, {
    maxAttempts: Number.POSITIVE_INFINITY,
    deadlineMs: options.deadlineMs,
    maxMalformed: 3,
  });
}

/**
 * Before the first create, a provider whose look-up cannot answer (refused, unreadable, route missing)
 * cannot block the submission: a create with a taken external id is refused by the API itself, and
 * that refusal is reconciled strictly. Any other failure (credentials, balance, or 5xx, network and
 * rate limits outlasting their retries) stops the step: the create would fare no better.
 */
async function lookUpBeforeCreate(options: SubmitOptions, externalTaskId: string): Promise<Task | undefined> {
  try {
    return await lookUp(options, externalTaskId);
  } catch (error) {
    if (!(error instanceof KlingApiError) || !lookUpHasNoAnswer(error)) throw error;
    options.log.debug(
      `Look-up of external id ${externalTaskId} gave no answer (${error.message}); creating.`,
    );
    return undefined;
  }
}

/** The look-up route itself cannot answer here; credentials, balance and passing failures are not that. */
function lookUpHasNoAnswer(error: KlingApiError): boolean {
  const { kind, retryable } = error.classification;
  return (
    kind === 'invalid-request' ||
    kind === 'not-found' ||
    kind === 'malformed-response' ||
    (kind === 'server' && !retryable)
  );
}

async function create(options: SubmitOptions, externalTaskId: string): Promise<Submission> {
  const request: CreateTaskRequest = { ...options.request, external_task_id: externalTaskId };
  options.onCreating(externalTaskId);
  options.log.debug(`Creating a task with external id ${externalTaskId}.`);
  for (let attempt = 0; ; attempt++) {
    try {
      const task = await options.client.createTask(request);
      options.log.info(`Submitted task ${task.taskId} (external id ${externalTaskId}).`);
      return known(options, task, externalTaskId, false);
    } catch (error) {
      if (!(error instanceof KlingApiError)) throw error;
      const { kind, retryable, outcomeUnknown } = error.classification;

      if (kind === 'duplicate-external-id' || outcomeUnknown) {
        const found = await reconcile(options, externalTaskId, error);
        if (found) return known(options, found, externalTaskId, true);
        // Confirmed: no task exists, so sending the create again cannot pay twice.
      } else if (!retryable) {
        throw error;
      }
      if (attempt + 1 >= options.maxCreateAttempts) throw error;
      const delay = retryDelayMs(attempt, error.retryAfterMs, options.schedule, options.random);
      if (options.clock.now() + delay > options.deadlineMs) throw error;
      options.log.warning(
        `Create task: ${error.classification.meaning}${error.code !== undefined ? ` (code ${error.code})` : ''};` +
          ` no task was created, sending again in ${formatDuration(delay)}.`,
        { transient: true },
      );
      await options.sleep(delay, options.signal);
    }
  }
}

async function reconcile(
  options: SubmitOptions,
  externalTaskId: string,
  cause: KlingApiError,
): Promise<Task | undefined> {
  options.log.warning(
    `Create task: ${cause.classification.meaning}; the task may exist. Looking up external id ${externalTaskId} before deciding.`,
  );
  let found: Task | undefined;
  try {
    found = await lookUp(options, externalTaskId);
  } catch (lookupError) {
    throw new Error(
      `The create request for external id ${externalTaskId} may have created a task, and looking it up failed, ` +
        `so it was not sent again (that could pay twice). Re-run the job to resume it; ` +
        `create failed with: ${cause.message}; the lookup with: ${(lookupError as Error).message}`,
      { cause: lookupError },
    );
  }
  if (found) options.log.info(`Found task ${found.taskId} for external id ${externalTaskId}: resuming it.`);
  else if (cause.classification.kind === 'duplicate-external-id')
    throw new Error(
      `The API says external id ${externalTaskId} is taken, but no task with it can be found. ` +
        `Set ${'external_task_id'} to a new value, or pass the task's id as task_id. (${cause.message})`,
      { cause },
    );
  return found;
}
