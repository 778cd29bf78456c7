import { parseRetryAfter } from '../backoff.ts';
import type { RetryContext, RetryLimits } from '../retry.ts';
import { withRetries } from '../retry.ts';
import type { Authorizer } from './auth.ts';
import { KlingApiError } from './errors.ts';
import { parseEnvelope, parseTask, parseTaskList, type Task } from './responses.ts';
import type { Routes } from './routes.ts';
import { send, TransportError, type FetchLike } from './transport.ts';

/** The create body (reference §2.1); optional fields are omitted when unset. */
export interface CreateTaskRequest {
  video_url?: string;
  video_id?: string;
  sound_effect_prompt?: string;
  bgm_prompt?: string;
  asmr_mode?: boolean;
  callback_url?: string;
  external_task_id?: string;
}

export interface KlingClientOptions extends RetryContext {
  routes: Routes;
  auth: Authorizer;
  fetch: FetchLike;
  requestTimeoutMs: number;
  userAgent: string;
}

/** Create, query and find-by-external-id for one provider. Retries live here for reads; creates are single-shot. */
export class KlingClient {
  private readonly options: KlingClientOptions;

  constructor(options: KlingClientOptions) {
    this.options = options;
  }

  /** One create attempt: the caller decides what an unknown outcome means (see submit.ts). */
  async createTask(request: CreateTaskRequest): Promise<Task> {
    const data = await this.call('Create task', 'POST', this.options.routes.create, JSON.stringify(request));
    return this.requireTask('Create task', data);
  }

  /** Query by task id, retrying transient failures within `limits`. */
  async getTask(taskId: string, limits: RetryLimits): Promise<Task> {
    return withRetries(
      'Query task',
      async () =>
        this.requireTask(
          'Query task',
          await this.call('Query task', 'GET', this.options.routes.task(taskId)),
        ),
      limits,
      this.options,
    );
  }

  /**
   * Look a task up by its external id: undefined only when some form of the look-up answered that it
   * does not exist. The wire form is undocumented (reference §1.1), so three are tried in turn: the
   * single-task path, the `?external_task_id=` query, and (Kling) the list of recent tasks. Absence is
   * the path form's "not found", or a fallback's answer without the task; a form that is refused or
   * fails cannot tell. Auth and balance errors end the search.
   */
  async findByExternalId(externalTaskId: string, limits: RetryLimits): Promise<Task | undefined> {
    const { routes } = this.options;
    const forms: { url: string; limits: RetryLimits }[] = [
      { url: routes.task(externalTaskId), limits },
      { url: routes.taskByExternalIdQuery(externalTaskId), limits: { ...limits, maxAttempts: 1 } },
      ...(routes.recentTasks ? [{ url: routes.recentTasks, limits: { ...limits, maxAttempts: 1 } }] : []),
    ];
    let absent = false;
    let cannotTell: KlingApiError | undefined;
    for (const [n, form] of forms.entries()) {
      try {
        const data = await withRetries(
          'Look up task',
          () => this.call('Look up task', 'GET', form.url),
          form.limits,
          this.options,
        );
        const answer = readLookup(data, externalTaskId, n === 0);
        if (answer === 'absent') absent = true;
        else if (answer !== 'unreadable') return answer;
      } catch (error) {
        if (!(error instanceof KlingApiError)) throw error;
        const { kind } = error.classification;
        if (kind === 'auth' || kind === 'token-expired' || kind === 'balance' || kind === 'account')
          throw error;
        // Only the path form's "not found" is about the task; a fallback's may be about the route.
        if (n === 0 && kind === 'not-found') absent = true;
        else if (n === 0) cannotTell = error;
      }
    }
    if (absent) return undefined;
    throw (
      cannotTell ??
      new KlingApiError({
        operation: 'Look up task',
        malformed: true,
        status: 200,
        message: `no form of the look-up showed whether a task with external id ${externalTaskId} exists`,
      })
    );
  }

  private requireTask(operation: string, data: unknown): Task {
    const task = parseTask(data);
    if (!task)
      throw new KlingApiError({
        operation,
        malformed: true,
        status: 200,
        message: 'the answer has no task_id or task_status',
      });
    return task;
  }

  /** One request (plus one re-sign on an expired token); returns the envelope's `data` or throws KlingApiError. */
  private async call(
    operation: string,
    method: 'GET' | 'POST',
    url: string,
    body?: string,
  ): Promise<unknown> {
    for (let resigned = false; ; resigned = true) {
      const response = await this.exchange(operation, method, url, body);
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

  private async exchange(operation: string, method: 'GET' | 'POST', url: string, body?: string) {
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
        timeoutMs: this.options.requestTimeoutMs,
      });
    } catch (error) {
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
function readLookup(data: unknown, externalTaskId: string, byPath: boolean): Task | 'absent' | 'unreadable' {
  if (Array.isArray(data))
    return parseTaskList(data).find((t) => t.externalTaskId === externalTaskId) ?? 'absent';
  const task = parseTask(data);
  if (task && (task.externalTaskId === externalTaskId || (byPath && task.externalTaskId === undefined)))
    return task;
  return 'unreadable';
}
