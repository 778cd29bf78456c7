/**
 * Submit a task without ever paying twice: look the external id up first (where a task may already
 * have it), send the create once, and when its outcome is unknown (reset, timeout, 5xx, an answer
 * without a task) look again before deciding to send it again.
 */
import type { Claim, CreateTaskRequest, KlingClient } from '../kling/client.ts';
import { KlingApiError } from '../kling/errors.ts';
import type { Task } from '../kling/responses.ts';
import { DeadlineError } from '../net/http.ts';
import { withRetries, type Budget, type Classify, type RetryContext } from '../net/retry.ts';
import { externalIdCandidate } from './external-id.ts';

export interface SubmitContext extends RetryContext {
  client: KlingClient;
  deadlineMs: number;
  /** Creates refused for a passing reason, sent again at most this often in all. */
  createAttempts: number;
  maxSuperseded: number;
  /** Called just before a create is sent: from then on a task may exist under this external id. */
  onCreating: (externalTaskId: string) => void;
  /** Called the moment a task id is known, before anything else can fail. */
  onTaskKnown: (task: Task, externalTaskId: string, resumed: boolean) => void;
  /** Takes a task an answer names for this submission; false when another holds it (a bad answer). */
  claim?: Claim;
}

export interface SubmitRequest {
  request: Omit<CreateTaskRequest, 'external_task_id'>;
  externalTaskId: string;
  /** The id was derived by the action, so a failed earlier task may be superseded by a fresh one. */
  derived: boolean;
  /** A task may already have this id (a re-run, or the user's id); else the first create needs no look-up. */
  lookUpFirst: boolean;
}

export interface Submission {
  task: Task;
  externalTaskId: string;
  resumed: boolean;
}

/** The create may have made a task, and nothing shows whether it did: sending it again may pay twice. */
export class CreateOutcomeUnknownError extends Error {
  readonly externalTaskId: string;
  constructor(externalTaskId: string, create: KlingApiError, lookUp: string, options?: { cause?: unknown }) {
    super(
      `The create request for external id ${externalTaskId} may have created a task (${create.summary}), and ${lookUp}, ` +
        `so it was not sent again: that could pay twice. A re-run of this job finds the task if it exists.`,
      options,
    );
    this.name = 'CreateOutcomeUnknownError';
    this.externalTaskId = externalTaskId;
  }
}

/** The API says the external id is taken, yet no task with it can be found. */
export class ExternalIdTakenError extends Error {
  readonly externalTaskId: string;
  constructor(externalTaskId: string, cause: KlingApiError) {
    super(
      `The API says external id ${externalTaskId} is taken, but no task with it can be found. (${cause.message})`,
      { cause },
    );
    this.name = 'ExternalIdTakenError';
    this.externalTaskId = externalTaskId;
  }
}

/** A create failed, and the look-up confirmed no task exists: sending it again cannot pay twice. */
class NotCreatedError extends Error {
  readonly failure: KlingApiError;
  constructor(failure: KlingApiError) {
    super(failure.message, { cause: failure });
    this.failure = failure;
  }
}

export async function submitOrResume(submit: SubmitRequest, context: SubmitContext): Promise<Submission> {
  const { log } = context;
  for (let n = 0; ; n++) {
    const externalTaskId = externalIdCandidate(submit.externalTaskId, n);
    const existing = submit.lookUpFirst ? await lookUpBeforeCreate(context, externalTaskId) : undefined;
    if (existing && !(submit.derived && existing.status === 'failed' && n < context.maxSuperseded)) {
      log.info(
        `Resuming task ${existing.taskId} (external id ${externalTaskId}, ${existing.status}) from an earlier attempt.`,
      );
      return known(context, existing, externalTaskId, true);
    }
    if (existing) {
      log.info(`The earlier task ${existing.taskId} for ${externalTaskId} failed; submitting a fresh one.`);
      continue;
    }
    return create(context, submit.request, externalTaskId);
  }
}

function known(context: SubmitContext, task: Task, externalTaskId: string, resumed: boolean): Submission {
  context.onTaskKnown(task, externalTaskId, resumed);
  return { task, externalTaskId, resumed };
}

/**
 * Before the first create, a provider whose look-up cannot answer (refused, unreadable, route missing)
 * cannot block the submission: a create with a taken external id is refused by the API itself, and
 * that refusal is reconciled strictly. Any other failure (credentials, balance, an unreachable host,
 * or 5xx, network and rate limits outlasting their retries) stops the step: the create would fare no better.
 */
async function lookUpBeforeCreate(context: SubmitContext, externalTaskId: string): Promise<Task | undefined> {
  try {
    return await context.client.findByExternalId(
      externalTaskId,
      context.deadlineMs,
      `Checking for a task an earlier attempt created (external id ${externalTaskId})`,
      context.claim,
    );
  } catch (error) {
    if (!(error instanceof KlingApiError) || !lookUpHasNoAnswer(error)) throw error;
    context.log.debug(
      `The look-up of external id ${externalTaskId} gave no answer (${error.message}); creating.`,
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

async function create(
  context: SubmitContext,
  body: SubmitRequest['request'],
  externalTaskId: string,
): Promise<Submission> {
  const request: CreateTaskRequest = { ...body, external_task_id: externalTaskId };
  context.onCreating(externalTaskId);
  context.log.debug(`Creating a task with external id ${externalTaskId}.`);
  const budget: Budget = { name: 'create', attempts: context.createAttempts };
  const submission = await withRetries(
    {
      operation: 'Create task',
      classify: classifyCreate(context.client, budget),
      deadlineMs: context.deadlineMs,
    },
    async () => {
      try {
        const task = await context.client.createTask(request, context.deadlineMs, context.claim);
        context.log.info(`Submitted task ${task.taskId} (external id ${externalTaskId}).`);
        return { task, resumed: false };
      } catch (error) {
        if (!(error instanceof KlingApiError)) throw error;
        const { kind, outcomeUnknown } = error.classification;
        if (kind !== 'duplicate-external-id' && !outcomeUnknown) throw error;
        const found = await reconcile(context, externalTaskId, error);
        if (found) return { task: found, resumed: true };
        // A success answer without a task most likely made one that a look-up may not show yet.
        if (error.facts.notATask)
          throw new CreateOutcomeUnknownError(externalTaskId, error, 'the look-up found no task with it');
        throw new NotCreatedError(error);
      }
    },
    context,
  );
  return known(context, submission.task, externalTaskId, submission.resumed);
}

/**
 * A definite refusal for a passing reason is sent again within the create budget. Not the account's
 * concurrency limit (1303): that is the pool's to wait out, since only it knows which tasks of the
 * step will free a place.
 */
function classifyCreate(client: KlingClient, budget: Budget): Classify {
  const read = client.classifyRead();
  return (error) => {
    if (error instanceof NotCreatedError)
      return {
        retry: true,
        reason: `${error.failure.classification.meaning}, and the look-up found no task with its external id, so it is sent again`,
        retryAfterMs: error.failure.retryAfterMs,
        budget,
      };
    if (!(error instanceof KlingApiError) || error.classification.kind === 'concurrency')
      return { retry: false };
    const verdict = read(error);
    if (!verdict.retry || verdict.budget) return verdict;
    return { ...verdict, budget };
  };
}

async function reconcile(
  context: SubmitContext,
  externalTaskId: string,
  cause: KlingApiError,
): Promise<Task | undefined> {
  context.log.warning(
    `Create task: ${cause.classification.meaning}; the task may exist. Looking up external id ${externalTaskId} before deciding.`,
  );
  let found: Task | undefined;
  try {
    found = await context.client.findByExternalId(
      externalTaskId,
      context.deadlineMs,
      `Looking for the task the create may have made (external id ${externalTaskId})`,
      context.claim,
    );
  } catch (lookupError) {
    if (context.signal?.aborted) throw context.signal.reason;
    // Out of time is a timeout; the step says how a re-run finds the task.
    if (lookupError instanceof DeadlineError) throw lookupError;
    const why = `looking it up failed (${lookupError instanceof KlingApiError ? lookupError.summary : String(lookupError)})`;
    throw new CreateOutcomeUnknownError(externalTaskId, cause, why, { cause: lookupError });
  }
  if (found) context.log.info(`Found task ${found.taskId} for external id ${externalTaskId}: resuming it.`);
  else if (cause.classification.kind === 'duplicate-external-id')
    throw new ExternalIdTakenError(externalTaskId, cause);
  return found;
}
