import { randomUUID } from 'node:crypto';
import type { Fault, FaultRule, Route } from './types.ts';

const ROUTES_OF: Partial<Record<Fault['kind'], readonly Route[]>> = {
  'reset-after-register': ['create'],
  'error-after-register': ['create'],
  truncate: ['download'],
  redirect: ['download'],
  html: ['download'],
  trickle: ['download'],
  stall: ['download'],
  'huge-body': ['create', 'query'],
  'undocumented-status': ['create', 'query'],
  'another-task': ['create', 'query'],
  'echo-authorization': ['create', 'query'],
};

/** Injected faults, consumed in injection order separately for each route. */
export class FaultQueue {
  readonly #pending: { route: Route; fault: Fault; remaining: number; about?: string }[] = [];

  add(rule: FaultRule): void {
    const only = ROUTES_OF[rule.fault.kind];
    // A fault that can never fire on its route would silently do nothing: fail the test that set it up.
    if (only && !only.includes(rule.route)) {
      const routes = only.map((route) => `'${route}'`).join(' or ');
      throw new TypeError(
        `a '${rule.fault.kind}' fault applies only to the ${routes} route, not '${rule.route}'`,
      );
    }
    const times = rule.times ?? 1;
    if (!(times >= 1)) throw new TypeError(`fault times must be at least 1, got ${times}`);
    this.#pending.push({
      route: rule.route,
      fault: rule.fault,
      remaining: times,
      ...(rule.about === undefined ? {} : { about: rule.about }),
    });
  }

  /** The next fault for a request on this route (about `subject`, if any), using up one of its times. */
  take(route: Route, subject?: string): Fault | undefined {
    const index = this.#pending.findIndex(
      (rule) => rule.route === route && (rule.about === undefined || rule.about === subject),
    );
    const rule = this.#pending[index];
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.#pending.splice(index, 1);
    return rule.fault;
  }
}

function klingError(status: number, code: number, message: string, headers?: Record<string, string>): Fault {
  const body = { code, message, request_id: randomUUID() };
  return headers ? { kind: 'error', status, body, headers } : { kind: 'error', status, body };
}

/** CometAPI's own error envelope, which it answers before the request reaches Kling. */
export function cometErrorBody(message: string, code = ''): unknown {
  const requestId = randomUUID().replaceAll('-', '');
  return {
    error: { message: `${message} (request id: ${requestId})`, type: 'comet_api_error', param: '', code },
  };
}

/** Ready-made rules for the common cases. API faults default to the create route. */
export const faults = {
  /** 429 code 1302; a Retry-After header (sent as given) when retryAfterSeconds is set. */
  rateLimited(retryAfterSeconds?: number, route: Route = 'create'): FaultRule {
    const headers =
      retryAfterSeconds === undefined ? undefined : { 'Retry-After': String(retryAfterSeconds) };
    return { route, fault: klingError(429, 1302, 'Too many requests, please try again later', headers) };
  },
  /** 429 code 1303: too many tasks running for the resource pack. */
  concurrencyLimited(route: Route = 'create'): FaultRule {
    return { route, fault: klingError(429, 1303, 'parallel task over resource pack limit') };
  },
  /** 429 code 1102: the resource pack is used up (a billing problem, not worth retrying). */
  balanceExhausted(route: Route = 'create'): FaultRule {
    return {
      route,
      fault: klingError(429, 1102, 'Account balance not enough: resource pack exhausted or expired'),
    };
  },
  /** 401 code 1000. */
  authFailed(route: Route = 'create'): FaultRule {
    return { route, fault: klingError(401, 1000, 'Authentication failed') };
  },
  /** 401 in CometAPI's envelope, as CometAPI answers a bad key. */
  cometUnauthorized(route: Route = 'create'): FaultRule {
    return { route, fault: { kind: 'error', status: 401, body: cometErrorBody('Invalid token') } };
  },
  /** 429 in CometAPI's envelope. */
  cometRateLimited(route: Route = 'create'): FaultRule {
    return { route, fault: { kind: 'error', status: 429, body: cometErrorBody('Rate limit exceeded') } };
  },
  /** 403 code 1103: the key may not use this API. */
  forbidden(route: Route = 'create'): FaultRule {
    return { route, fault: klingError(403, 1103, 'No access to the requested resource') };
  },
  /** 400 code 1301: the input tripped content moderation. */
  contentRejected(route: Route = 'create'): FaultRule {
    return { route, fault: klingError(400, 1301, 'Content security policy triggered') };
  },
  /** 500 code 5000, `times` times in a row. */
  serverErrors(times: number, route: Route = 'create'): FaultRule {
    return { route, times, fault: klingError(500, 5000, 'Server internal error') };
  },
  /** 503 code 5001, `times` times in a row. */
  serviceUnavailable(times: number, route: Route = 'create'): FaultRule {
    return { route, times, fault: klingError(503, 5001, 'Service temporarily unavailable') };
  },
  /** 200 with a body that is not JSON. */
  malformedJson(route: Route = 'create'): FaultRule {
    return {
      route,
      fault: { kind: 'raw', status: 200, contentType: 'application/json', body: '{"code":0,"message":"SUCC' },
    };
  },
  /** 200 text/html, as a proxy or a wrong path answers. */
  htmlPage(route: Route = 'create', status = 200): FaultRule {
    return {
      route,
      fault: { kind: 'raw', status, contentType: 'text/html; charset=utf-8', body: HTML_ERROR_PAGE },
    };
  },
  /** The connection resets before any answer. */
  reset(route: Route = 'create', times = 1): FaultRule {
    return { route, times, fault: { kind: 'reset' } };
  },
  /** The task is created but the answer is lost: the client must reconcile, not submit again. */
  resetAfterRegister(): FaultRule {
    return { route: 'create', fault: { kind: 'reset-after-register' } };
  },
  /** The task is created but a gateway error is answered: the client must reconcile, not submit again. */
  errorAfterRegister(status = 502): FaultRule {
    return { route: 'create', fault: { kind: 'error-after-register', status } };
  },
  /** Each answer on the route waits `ms` first. */
  delayed(ms: number, route: Route = 'create', times = 1): FaultRule {
    return { route, times, fault: { kind: 'delay', ms } };
  },
  /** The download stops after `bytes` (default half) of the announced Content-Length. */
  truncatedDownload(bytes?: number): FaultRule {
    return {
      route: 'download',
      fault: bytes === undefined ? { kind: 'truncate' } : { kind: 'truncate', bytes },
    };
  },
  /** The download answers a redirect to another emulator path with the same file. */
  redirectedDownload(status: 301 | 302 | 307 = 302): FaultRule {
    return { route: 'download', fault: { kind: 'redirect', status } };
  },
  /** The download answers 200 text/html instead of the media. */
  htmlDownload(): FaultRule {
    return { route: 'download', fault: { kind: 'html' } };
  },
  /** The request is read and never answered; the connection stays open until the client gives up. */
  hang(route: Route, times = 1): FaultRule {
    return { route, times, fault: { kind: 'hang' } };
  },
  /** The download announces the whole file, then sends it at `bytesPerSecond` (default 1). */
  trickleDownload(bytesPerSecond = 1): FaultRule {
    if (!(bytesPerSecond > 0 && Number.isFinite(bytesPerSecond))) {
      throw new TypeError(`bytesPerSecond must be a positive number, got ${bytesPerSecond}`);
    }
    return { route: 'download', fault: { kind: 'trickle', bytesPerSecond } };
  },
  /** The download announces the whole file, sends `afterBytes` (default half), then nothing, open. */
  stallDownload(afterBytes?: number): FaultRule {
    return {
      route: 'download',
      fault: afterBytes === undefined ? { kind: 'stall' } : { kind: 'stall', afterBytes },
    };
  },
  /**
   * A 200 JSON envelope `megabytes` MiB long (default 200), streamed; with a Content-Length, or
   * chunked without one.
   */
  hugeBody(route: 'create' | 'query', megabytes = 200, options: { chunked?: boolean } = {}): FaultRule {
    if (!(megabytes > 0 && Number.isFinite(megabytes))) {
      throw new TypeError(`megabytes must be a positive number, got ${megabytes}`);
    }
    const fault: Fault = options.chunked
      ? { kind: 'huge-body', megabytes, chunked: true }
      : { kind: 'huge-body', megabytes };
    return { route, fault };
  },
  /** 200 `{"code":0,"message":"SUCCEED","request_id":…,"data":null}` instead of handling. */
  nullData(route: 'create' | 'query'): FaultRule {
    const body = JSON.stringify({ code: 0, message: 'SUCCEED', request_id: randomUUID(), data: null });
    return { route, fault: { kind: 'raw', status: 200, contentType: 'application/json', body } };
  },
  /**
   * Handled as normal, but the answer shows another task of the account (`taskId`, or the newest
   * other one). With `about`, only queries of that id take it.
   */
  anotherTask(route: 'create' | 'query', options: { taskId?: string; about?: string } = {}): FaultRule {
    const fault: Fault =
      options.taskId === undefined
        ? { kind: 'another-task' }
        : { kind: 'another-task', taskId: options.taskId };
    return { route, fault, ...(options.about === undefined ? {} : { about: options.about }) };
  },
  /**
   * An error quoting the request's Authorization header (`Bearer <key or JWT>`). Defaults: CometAPI
   * 401 "Invalid token: …" (§4.2), Kling 401 code 1002 "Authorization is invalid: …" (§4.1).
   */
  echoAuthorization(
    shape: 'cometapi' | 'kling',
    options: {
      route?: 'create' | 'query';
      status?: number;
      code?: number;
      message?: string;
      encoding?: 'raw' | 'uri';
      times?: number;
    } = {},
  ): FaultRule {
    const kling = shape === 'kling';
    return {
      route: options.route ?? 'create',
      times: options.times ?? 1,
      fault: {
        kind: 'echo-authorization',
        shape,
        status: options.status ?? 401,
        ...(kling ? { code: options.code ?? 1002 } : {}),
        message: options.message ?? (kling ? 'Authorization is invalid:' : 'Invalid token:'),
        encoding: options.encoding ?? 'raw',
      },
    };
  },
  /** Handled as normal, but the task answered shows a task_status no document lists. */
  undocumentedStatus(route: 'create' | 'query', status = 'queued_weird'): FaultRule {
    return { route, fault: { kind: 'undocumented-status', status } };
  },
};

export const HTML_ERROR_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Error</title></head><body><h1>Access denied</h1></body></html>\n';
