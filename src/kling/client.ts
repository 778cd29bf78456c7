import { parseRetryAfter } from '../net/backoff.ts';
import { quoteExternal } from '../net/external-text.ts';
import { AnswerTooLargeError, send, TransportError, type FetchLike } from '../net/http.ts';
import { withRetries, type Budget, type Classify, type RetryContext } from '../net/retry.ts';
import type { Authorizer } from './auth.ts';
import { KlingApiError, NOT_SENT } from './errors.ts';
import { parseEnvelope, parseTask, parseTaskList, whyNotATask, type Task } from './responses.ts';
import type { Routes } from './routes.ts';

/** The create body as Kling documents it; optional fields are omitted when unset. */
export interface CreateTaskRequest {
  video_url?: string;
  video_id?: string;
  sound_effect_prompt?: string;
  bgm_prompt?: string;
  asmr_mode?: boolean;
  callback_url?: string;
  external_task_id?: string;
}

export interface ClientLimits {
  requestTimeoutMs: number;
  maxAnswerBytes: number;
  /** Look-up answers that are not JSON before the route counts as wrong. */
  lookupMalformedAttempts: number;
  /** Until the API has answered once, how long an unresolvable or refusing host is retried. */
  unreachableWithinMs: number;
  /** Answers about another task than the one asked for, before the request counts as failed. */
  otherTaskAttempts: number;
}

/** Takes a task for the caller: false when it is already someone else's (another entry's). */
export type Claim = (taskId: string) => boolean;

export interface KlingClientOptions extends RetryContext {
  routes: Routes;
  auth: Authorizer;
  fetch: FetchLike;
  userAgent: string;
  limits: ClientLimits;
  /** Takes the caller's credentials out of a text: a task id that holds one is no task to name files after. */
  redact?: (text: string) => string;
}

/**
 * Create, query and find-by-external-id for one provider. Reads are retried here within the deadline;
 * a create is one attempt, since only the caller can tell whether sending it again may pay twice.
 */
export class KlingClient {
  private readonly options: KlingClientOptions;
  private readonly unreachable: Budget;
  private readonly lookupMalformed: Budget;
  private readonly otherTask: Budget;
  /** Some request got an HTTP answer: from then on the host is known to exist. */
  private answered = false;

  constructor(options: KlingClientOptions) {
    this.options = options;
    this.unreachable = { name: 'unreachable', withinMs: options.limits.unreachableWithinMs };
    this.lookupMalformed = { name: 'malformed', attempts: options.limits.lookupMalformedAttempts };
    this.otherTask = { name: 'other task', attempts: options.limits.otherTaskAttempts };
  }

  /**
   * One create attempt: the caller decides what an unknown outcome means (see task/submit.ts). An
   * answer about another task (another external id, or a task `claim` says is someone else's) is
   * no answer: the create may or may not have made a task.
   */
  async createTask(request: CreateTaskRequest, deadlineMs: number, claim?: Claim): Promise<Task> {
    const operation = 'Create task';
    const body = JSON.stringify(request);
    const task = this.requireTask(
      operation,
      await this.call(operation, 'POST', this.options.routes.create, deadlineMs, body),
    );
    const sent = request.external_task_id;
    if (sent !== undefined && task.externalTaskId !== undefined && task.externalTaskId !== sent)
      throw otherTaskError(operation, task, `external id ${task.externalTaskId}, not ${sent}`);
    if (claim && !claim(task.taskId))
      throw otherTaskError(operation, task, 'which another entry of this step holds');
    return task;
  }

  /**
   * Query by task id (Kling takes an external id in its place), retrying passing failures until the
   * deadline; an answer about another task is one of them.
   */
  async getTask(taskId: string, deadlineMs: number): Promise<Task> {
    const operation = `Query task ${taskId}`;
    return withRetries(
      { operation, classify: this.classifyRead(), deadlineMs },
      async () => {
        const data = await this.call(operation, 'GET', this.options.routes.task(taskId), deadlineMs);
        const task = this.requireTask(operation, data);
        if (task.taskId !== taskId && task.externalTaskId !== taskId)
          throw otherTaskError(operation, task, 'not the task asked for');
        return task;
      },
      this.options,
    );
  }

  /**
   * How a read's failure is retried: until the deadline, except an API that has never answered (a
   * wrong host fails in seconds) and, on look-ups, answers that are not JSON (a route that is missing).
   */
  classifyRead(lookup = false): Classify {
    return (error) => {
      if (!(error instanceof KlingApiError) || !error.classification.retryable) return { retry: false };
      const { kind } = error.classification;
      const code = error.code !== undefined ? ` (code ${quoteExternal(String(error.code), 60)})` : '';
      const reason = `${error.classification.meaning}${code}`;
      const retryAfterMs = error.retryAfterMs;
      if (this.neverAnswered(error)) return { retry: true, reason, retryAfterMs, budget: this.unreachable };
      if (error.facts.otherTask !== undefined)
        return { retry: true, reason, retryAfterMs, budget: this.otherTask };
      if (lookup && kind === 'malformed-response')
        return { retry: true, reason, retryAfterMs, budget: this.lookupMalformed };
      return { retry: true, reason, retryAfterMs };
    };
  }

  /** The host could not be found or refused, and no request has ever been answered. */
  neverAnswered(error: KlingApiError): boolean {
    return !this.answered && error.transport !== undefined && NOT_SENT.includes(error.transport);
  }

  /**
   * Look a task up by its external id: undefined only when some form of the look-up answered that it
   * does not exist. The wire form is undocumented, so three are tried in turn: the
   * single-task path, the `?external_task_id=` query, and (Kling) the list of recent tasks. Absence is
   * the path form's "not found", or a fallback's answer without the task; a form that is refused or
   * fails cannot tell. Auth and balance errors end the search. A task `claim` says is someone
   * else's is a bad answer of that form.
   */
  async findByExternalId(
    externalTaskId: string,
    deadlineMs: number,
    operation = 'Look up task',
    claim?: Claim,
  ): Promise<Task | undefined> {
    const { routes } = this.options;
    const once: Classify = () => ({ retry: false });
    const forms: { url: string; classify: Classify }[] = [
      { url: routes.task(externalTaskId), classify: this.classifyRead(true) },
      { url: routes.taskByExternalIdQuery(externalTaskId), classify: once },
      ...(routes.recentTasks ? [{ url: routes.recentTasks, classify: once }] : []),
    ];
    let absent = false;
    let cannotTell: KlingApiError | undefined;
    for (const [n, form] of forms.entries()) {
      try {
        const answer = await withRetries(
          { operation, classify: form.classify, deadlineMs },
          async () => {
            const data = await this.call(operation, 'GET', form.url, deadlineMs);
            const found = readLookup(data, externalTaskId, n === 0, this.options.redact);
            if (typeof found === 'object' && claim && !claim(found.taskId))
              throw otherTaskError(operation, found, 'which another entry of this step holds');
            return found;
          },
          this.options,
        );
        if (answer === 'absent') absent = true;
        else if (answer !== 'unreadable') return answer;
      } catch (error) {
        if (!(error instanceof KlingApiError)) throw error;
        const { kind } = error.classification;
        if (kind === 'auth' || kind === 'token-expired' || kind === 'balance' || kind === 'account')
          throw error;
        // Unreachable: the other forms go to the same host.
        if (this.neverAnswered(error)) throw error;
        // Only the path form's "not found" is about the task; a fallback's may be about the route.
        if (n === 0 && kind === 'not-found') absent = true;
        else if (n === 0) cannotTell = error;
      }
    }
    if (absent) return undefined;
    throw (
      cannotTell ??
      new KlingApiError({
        operation,
        malformed: true,
        status: 200,
        notATask: `no form of the look-up showed whether a task with external id ${externalTaskId} exists`,
      })
    );
  }

  private requireTask(operation: string, data: unknown): Task {
    const task = parseTask(data);
    const notATask = !task
      ? whyNotATask(data)
      : holdsSecret(task, this.options.redact)
        ? 'its task_id holds a credential of this step'
        : undefined;
    if (notATask !== undefined)
      throw new KlingApiError({ operation, malformed: true, status: 200, notATask });
    return task!;
  }

  /** One request (plus one re-sign on an expired token); returns the envelope's `data` or throws KlingApiError. */
  private async call(
    operation: string,
    method: 'GET' | 'POST',
    url: string,
    deadlineMs: number,
    body?: string,
  ): Promise<unknown> {
    for (let resigned = false; ; resigned = true) {
      const response = await this.exchange(operation, method, url, deadlineMs, body);
      this.answered = true;
      const envelope = parseEnvelope(response.status, response.text);
      if (envelope.ok) return envelope.data;
      const error = new KlingApiError({
        ...envelope.facts,
        operation,
        requestId: envelope.requestId ?? response.headers.get('x-request-id') ?? undefined,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), this.options.clock.now()),
      });
      const expired = error.classification.kind === 'token-expired';
      if (expired && !resigned && this.options.auth.refresh()) {
        this.options.log.info(`${operation}: the token expired; signed a fresh one and retrying.`);
        continue;
      }
      throw error;
    }
  }

  private async exchange(
    operation: string,
    method: 'GET' | 'POST',
    url: string,
    deadlineMs: number,
    body?: string,
  ) {
    const headers: Record<string, string> = {
      Authorization: await this.options.auth.header(),
      Accept: 'application/json',
      'User-Agent': this.options.userAgent,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      return await send(this.options.fetch, {
        method,
        url,
        headers,
        body,
        signal: this.options.signal,
        timeoutMs: this.options.limits.requestTimeoutMs,
        remainingMs: deadlineMs - this.options.clock.now(),
        maxBytes: this.options.limits.maxAnswerBytes,
      });
    } catch (error) {
      if (error instanceof AnswerTooLargeError)
        throw new KlingApiError({ operation, tooLarge: true }, { cause: error });
      if (error instanceof TransportError)
        throw new KlingApiError(
          { operation, transport: error.failure, message: error.message },
          { cause: error },
        );
      throw error;
    }
  }
}

/**
 * What a look-up answer says about `externalTaskId`: a list either holds it or shows it is absent; a
 * single task is it when it carries that id (or, from the path form, carries no external id at all).
 */
function readLookup(
  data: unknown,
  externalTaskId: string,
  byPath: boolean,
  redact: ((text: string) => string) | undefined,
): Task | 'absent' | 'unreadable' {
  if (Array.isArray(data))
    return (
      parseTaskList(data).find((t) => t.externalTaskId === externalTaskId && !holdsSecret(t, redact)) ??
      'absent'
    );
  const task = parseTask(data);
  if (!task || holdsSecret(task, redact)) return 'unreadable';
  if (task.externalTaskId === externalTaskId || (byPath && task.externalTaskId === undefined)) return task;
  return 'unreadable';
}

/** A task id is a file, artifact and asset name: one that holds a credential would publish it. */
function holdsSecret(task: Task, redact: ((text: string) => string) | undefined): boolean {
  return redact !== undefined && redact(task.taskId) !== task.taskId;
}

/** An answer about another task than the one asked for (or one someone else holds): not this one's answer. */
function otherTaskError(operation: string, task: Task, why: string): KlingApiError {
  return new KlingApiError({
    operation,
    malformed: true,
    status: 200,
    notATask: `it is about task ${task.taskId}, ${why}`,
    otherTask: task.taskId,
  });
}
