import { quoteExternal } from '../net/external-text.ts';
import { PROXY_ADVICE, type TransportFailure } from '../net/network-error.ts';

/**
 * Every way an API call can fail, classified in one place: from the HTTP status and the body's code
 * (Kling's numeric `code`, or CometAPI's `error.code`, as their error tables list them), or from the
 * transport. Advice here names no action input: the step adds that (step/advice.ts), since only it
 * knows which input the user should change.
 */

export type FailureKind =
  | 'auth'
  | 'token-expired'
  | 'account'
  | 'balance'
  | 'permission'
  | 'invalid-request'
  | 'duplicate-external-id'
  | 'not-found'
  | 'policy'
  | 'rate-limit'
  | 'concurrency'
  | 'server'
  | 'transport'
  | 'malformed-response';

export interface Classification {
  kind: FailureKind;
  /** Safe to send the same request again after a backoff. */
  retryable: boolean;
  /** The request may have taken effect although it failed (a create must be reconciled, not re-sent). */
  outcomeUnknown: boolean;
  meaning: string;
  advice: string;
}

export interface FailureFacts {
  status?: number;
  /** Kling's numeric service code. */
  klingCode?: number;
  /** CometAPI's `error.code` string (often empty). */
  cometCode?: string;
  message?: string;
  transport?: TransportFailure;
  /** The body was not the JSON envelope the API documents. */
  malformed?: boolean;
  /** The answer was larger than the cap and was not read further. */
  tooLarge?: boolean;
  /** A well-formed answer that is not what was asked for: what it holds instead. */
  notATask?: string;
  /** The answer is about this task, not the one asked for (with `notATask` saying how). */
  otherTask?: string;
}

const RETRY = 'This is temporary: the action retried with backoff; re-run the job if it persists.';
const FIX_KEY =
  'Check the credentials: the CometAPI key, the Kling console API key, or the access key and secret key.';
const TOP_UP = 'Top up the account (Kling resource pack or CometAPI balance), then re-run the job.';
const FIX_REQUEST = 'Fix what the message names, then re-run.';
const CHECK_ADDRESS =
  'Check the API address: it should be the API origin only, e.g. https://api.cometapi.com.';

type Row = Omit<Classification, 'outcomeUnknown'> & { outcomeUnknown?: boolean };

/** Kling service codes (official error table). */
const KLING_CODES: Record<number, Row> = {
  1000: { kind: 'auth', retryable: false, meaning: 'authentication failed', advice: FIX_KEY },
  1001: { kind: 'auth', retryable: false, meaning: 'Authorization header is empty', advice: FIX_KEY },
  1002: { kind: 'auth', retryable: false, meaning: 'Authorization is invalid', advice: FIX_KEY },
  1003: {
    kind: 'auth',
    retryable: false,
    meaning: 'token not yet valid',
    advice: "The runner's clock may be ahead of Kling's; re-run, and check the runner's time sync.",
  },
  1004: {
    kind: 'token-expired',
    retryable: false,
    meaning: 'token expired',
    advice: "The action re-signs the token once; if this persists, the runner's clock is wrong.",
  },
  1100: {
    kind: 'account',
    retryable: false,
    meaning: 'account exception',
    advice: 'Check the account status in the Kling console.',
  },
  1101: { kind: 'balance', retryable: false, meaning: 'account in arrears (postpaid)', advice: TOP_UP },
  1102: { kind: 'balance', retryable: false, meaning: 'resource pack exhausted or expired', advice: TOP_UP },
  1103: {
    kind: 'permission',
    retryable: false,
    meaning: 'no access to the requested resource',
    advice: 'Enable video-to-audio for this key or account in the console.',
  },
  1200: {
    kind: 'invalid-request',
    retryable: false,
    meaning: 'invalid request parameters',
    advice: FIX_REQUEST,
  },
  1201: { kind: 'invalid-request', retryable: false, meaning: 'invalid parameter', advice: FIX_REQUEST },
  1202: {
    kind: 'invalid-request',
    retryable: false,
    meaning: 'invalid request method',
    advice: CHECK_ADDRESS,
  },
  1203: {
    kind: 'not-found',
    retryable: false,
    meaning: 'requested resource does not exist',
    advice: 'Check the task id and the provider and API address it was created with.',
  },
  1300: {
    kind: 'policy',
    retryable: false,
    meaning: 'blocked by platform policy',
    advice: 'Change the video or prompts.',
  },
  1301: {
    kind: 'policy',
    retryable: false,
    meaning: 'content security policy triggered',
    advice: 'Change the video or prompts.',
  },
  1302: { kind: 'rate-limit', retryable: true, meaning: 'too many requests (rate limit)', advice: RETRY },
  1303: {
    kind: 'concurrency',
    retryable: true,
    meaning: 'concurrent tasks over the resource-pack limit',
    advice: 'Wait for other tasks to finish, or run fewer at once (max-parallel in a matrix).',
  },
  1304: {
    kind: 'account',
    retryable: false,
    meaning: 'blocked by the IP whitelist policy',
    advice: "Allow the runner's IP in the Kling console, or use a self-hosted runner with a fixed IP.",
  },
  5000: {
    kind: 'server',
    retryable: true,
    outcomeUnknown: true,
    meaning: 'server internal error',
    advice: RETRY,
  },
  5001: {
    kind: 'server',
    retryable: true,
    outcomeUnknown: true,
    meaning: 'service temporarily unavailable (maintenance)',
    advice: RETRY,
  },
  5002: {
    kind: 'server',
    retryable: true,
    outcomeUnknown: true,
    meaning: 'server internal timeout',
    advice: RETRY,
  },
};

function row(r: Row): Classification {
  return { ...r, outcomeUnknown: r.outcomeUnknown ?? false };
}

const BALANCE_WORDS = /insufficient|quota|balance|credit|余额/i;
const NOT_FOUND_WORDS = /not[\s_-]?(found|exists?)|does not exist|no such task|不存在/i;
const DUPLICATE_WORDS = /already|exists\b|duplicat|in use|unique|重复/i;

/** The create was refused because the external id is taken: the wording is undocumented, so match loosely. */
function isDuplicateExternalId(facts: FailureFacts): boolean {
  const message = `${facts.cometCode ?? ''} ${facts.message ?? ''}`;
  const refused = facts.status !== undefined && facts.status >= 400 && facts.status < 500;
  return (
    refused &&
    facts.klingCode !== 1203 &&
    !NOT_FOUND_WORDS.test(message) &&
    /external[_\s-]?task[_\s-]?id/i.test(message) &&
    DUPLICATE_WORDS.test(message)
  );
}

/** A 4xx that says the task is not there, whatever code the provider attached to it (1201, 1203, none). */
function isTaskNotFound(facts: FailureFacts): boolean {
  const message = `${facts.cometCode ?? ''} ${facts.message ?? ''}`;
  return (
    facts.status !== undefined &&
    facts.status >= 400 &&
    facts.status < 500 &&
    /task/i.test(message) &&
    NOT_FOUND_WORDS.test(message)
  );
}

/** Classification by HTTP status alone (CometAPI, proxies, gateways). */
function byStatus(status: number, facts: FailureFacts): Classification {
  if (status === 400 || status === 422)
    return row({ kind: 'invalid-request', retryable: false, meaning: 'bad request', advice: FIX_REQUEST });
  if (status === 401)
    return row({ kind: 'auth', retryable: false, meaning: 'the API key was rejected', advice: FIX_KEY });
  if (status === 402 || (status === 403 && BALANCE_WORDS.test(facts.message ?? '')))
    return row({ kind: 'balance', retryable: false, meaning: 'insufficient balance', advice: TOP_UP });
  if (status === 403)
    return row({
      kind: 'permission',
      retryable: false,
      meaning: 'access denied',
      advice: 'Check that the key may use Kling video-to-audio.',
    });
  if (status === 404)
    return row({
      kind: 'not-found',
      retryable: false,
      meaning: 'not found',
      advice: `${CHECK_ADDRESS} Check the task id too.`,
    });
  if (status === 408 || status === 429)
    return row({ kind: 'rate-limit', retryable: true, meaning: 'too many requests', advice: RETRY });
  if (status >= 500) {
    // CometAPI reports some malformed requests as 500 invalid_request: not worth retrying.
    if (facts.cometCode === 'invalid_request')
      return row({
        kind: 'invalid-request',
        retryable: false,
        meaning: 'invalid request',
        advice: FIX_REQUEST,
      });
    return row({
      kind: 'server',
      retryable: true,
      outcomeUnknown: true,
      meaning: `server error (HTTP ${status})`,
      advice: RETRY,
    });
  }
  if (status >= 300 && status < 400)
    return row({
      kind: 'invalid-request',
      retryable: false,
      meaning: `unexpected redirect (HTTP ${status})`,
      advice: CHECK_ADDRESS,
    });
  return row({ kind: 'server', retryable: false, meaning: `unexpected HTTP ${status}`, advice: RETRY });
}

export function classifyFailure(facts: FailureFacts): Classification {
  if (facts.transport === 'proxy')
    return row({
      kind: 'transport',
      retryable: false,
      meaning: 'the proxy refused the connection',
      advice: `The request never reached the API: ${PROXY_ADVICE}`,
    });
  if (facts.transport === 'forbidden')
    return row({
      kind: 'transport',
      retryable: false,
      meaning: 'the address is link-local or a cloud metadata service, which the action never contacts',
      advice: 'Use the API’s public address.',
    });
  if (facts.notATask)
    return row({
      kind: 'malformed-response',
      retryable: true,
      outcomeUnknown: true,
      meaning: `the API answered, but not with a task: ${facts.notATask}`,
      advice: 'The action retried; if it persists, report it to the provider with the request id.',
    });
  if (facts.transport === 'bad-port')
    return row({
      kind: 'transport',
      retryable: false,
      meaning: 'fetch never connects to this port (a "bad port" in the Fetch standard)',
      advice: CHECK_ADDRESS,
    });
  if (facts.tooLarge)
    return row({
      kind: 'malformed-response',
      retryable: false,
      outcomeUnknown: true,
      meaning: 'the answer is far larger than any answer of this API (it was not read further)',
      advice: `A proxy or a wrong address may be answering. ${CHECK_ADDRESS}`,
    });
  if (facts.transport) {
    const definitelyNotSent = NOT_SENT.includes(facts.transport);
    return row({
      kind: 'transport',
      retryable: true,
      outcomeUnknown: !definitelyNotSent,
      meaning: `network error (${facts.transport})`,
      advice: definitelyNotSent
        ? `${CHECK_ADDRESS} Check the runner’s network or proxy settings too.`
        : RETRY,
    });
  }
  if (isTaskNotFound(facts))
    return row({
      kind: 'not-found',
      retryable: false,
      meaning: 'no such task',
      advice: 'Check the task id and the provider and API address it was created with.',
    });
  if (isDuplicateExternalId(facts))
    return row({
      kind: 'duplicate-external-id',
      retryable: false,
      meaning: 'a task with this external_task_id already exists',
      advice: 'The action resumes that task.',
    });
  if (facts.klingCode !== undefined && facts.klingCode !== 0) {
    const known = KLING_CODES[facts.klingCode];
    if (known) return row(known);
  }
  if (facts.malformed && (facts.status === undefined || facts.status < 300))
    return row({
      kind: 'malformed-response',
      retryable: true,
      outcomeUnknown: true,
      meaning: 'the API answered with a body that is not the documented JSON',
      advice: `${RETRY} If it persists, ${CHECK_ADDRESS.charAt(0).toLowerCase()}${CHECK_ADDRESS.slice(1)}`,
    });
  if (facts.status !== undefined) return byStatus(facts.status, facts);
  return row({ kind: 'server', retryable: false, meaning: 'unknown failure', advice: RETRY });
}

/** Failures before any byte of the request could reach the API. */
export const NOT_SENT: readonly TransportFailure[] = ['dns', 'refused', 'unreachable', 'tls'];

/** An API call that failed; the message names the code, what it means and what to do. */
export class KlingApiError extends Error {
  readonly status: number | undefined;
  /** Kling's numeric code or CometAPI's error code, whichever the body carried. */
  readonly code: number | string | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly classification: Classification;
  readonly serverMessage: string | undefined;
  readonly operation: string;
  readonly facts: FailureFacts;
  /** Set when no HTTP answer came: what failed below it. */
  readonly transport: TransportFailure | undefined;
  /** The message without its advice, for a caller that has better advice (one naming an input). */
  readonly summary: string;

  constructor(
    facts: FailureFacts & { requestId?: string; retryAfterMs?: number; operation: string },
    options?: { cause?: unknown },
  ) {
    const classification = classifyFailure(facts);
    const summary = describe(facts, classification);
    super(`${summary} ${classification.advice}${requestIdNote(facts.requestId, summary)}`, options);
    this.name = 'KlingApiError';
    this.summary = summary;
    this.status = facts.status;
    this.code = facts.klingCode ?? (facts.cometCode || undefined);
    this.requestId = facts.requestId;
    this.retryAfterMs = facts.retryAfterMs;
    this.classification = classification;
    this.serverMessage = facts.message;
    this.operation = facts.operation;
    this.facts = facts;
    this.transport = facts.transport;
  }

  /** The message with other advice in place of the classification's. */
  withAdvice(advice: string): string {
    return `${this.summary} ${advice}${requestIdNote(this.requestId, this.summary)}`;
  }
}

function describe(facts: FailureFacts & { operation: string }, c: Classification): string {
  const code =
    facts.klingCode !== undefined
      ? `Kling code ${facts.klingCode}`
      : facts.cometCode
        ? `CometAPI code ${quoteExternal(facts.cometCode, 60)}`
        : undefined;
  const where = [code, facts.status !== undefined ? `HTTP ${facts.status}` : undefined]
    .filter(Boolean)
    .join(', ');
  // A transport failure's message comes from the network stack, not from the API.
  const said = facts.transport ? 'Detail' : 'Server said';
  const server = facts.message ? ` ${said}: "${quoteExternal(facts.message)}".` : '';
  return `${facts.operation} failed${where ? ` [${where}]` : ''}: ${c.meaning}.${server}`;
}

/** The request id, unless the server's message already shows it (CometAPI's ends "(request id: …)"). */
function requestIdNote(requestId: string | undefined, shown: string): string {
  if (!requestId) return '';
  const id = quoteExternal(requestId, 80);
  const already = [...shown.matchAll(/request id:\s*([\w-]+)/gi)].some((match) => match[1] === id);
  return already ? '' : ` (request id ${id})`;
}
