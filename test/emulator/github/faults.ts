/** Faults a test can inject into the GitHub fake: ready-made rules, and the queue that serves them. */
import type { GitHubFault, GitHubFaultRule, GitHubRoute } from './types.ts';

export const DOCS = 'https://docs.github.com/rest';

/** GitHub's error body: `{"message", "documentation_url", "status": "<code as a string>"}`. */
export function errorBody(status: number, message: string, documentationUrl = DOCS): Record<string, unknown> {
  return { message, documentation_url: documentationUrl, status: String(status) };
}

/** What GitHub answers once the primary rate limit is spent. */
export function rateLimitExceeded(status: number): Record<string, unknown> {
  return errorBody(
    status,
    'API rate limit exceeded for installation ID 12345678.',
    'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
  );
}

function refusal(route: GitHubRoute | '*', status: number, message: string) {
  return {
    route,
    fault: { kind: 'error', status, body: errorBody(status, message) },
  } satisfies GitHubFaultRule;
}

/** Ready-made fault rules. */
export const githubFaults = {
  /**
   * The primary rate limit: 403, `x-ratelimit-remaining: 0`, `x-ratelimit-reset` (epoch seconds,
   * `resetInSeconds` from now), message "API rate limit exceeded for installation ID …".
   */
  rateLimited(route: GitHubRoute | '*' = '*', options: { resetInSeconds?: number; status?: 403 | 429 } = {}) {
    const status = options.status ?? 403;
    const reset = Math.floor(Date.now() / 1000) + (options.resetInSeconds ?? 60);
    return {
      route,
      fault: {
        kind: 'error',
        status,
        body: rateLimitExceeded(status),
        headers: {
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-used': '5000',
          'x-ratelimit-reset': String(reset),
          'x-ratelimit-resource': 'core',
        },
      },
    } satisfies GitHubFaultRule;
  },
  /**
   * A secondary rate limit: 403 (or 429) with `retry-after` seconds and remaining primary quota,
   * message "You have exceeded a secondary rate limit…". `retryAfterSeconds: undefined` omits the header.
   */
  secondaryRateLimited(
    route: GitHubRoute | '*' = '*',
    options: { retryAfterSeconds?: number | undefined; status?: 403 | 429; times?: number } = {},
  ) {
    const status = options.status ?? 403;
    const retryAfter = 'retryAfterSeconds' in options ? options.retryAfterSeconds : 60;
    return {
      route,
      times: options.times ?? 1,
      fault: {
        kind: 'error',
        status,
        body: errorBody(
          status,
          'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. ' +
            'If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.',
          'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
        ),
        headers: {
          ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
          'x-ratelimit-remaining': '4990',
        },
      },
    } satisfies GitHubFaultRule;
  },
  /** 5xx with GitHub's JSON body, `times` times in a row. */
  serverError(route: GitHubRoute | '*' = '*', status: 500 | 502 | 503 | 504 = 500, times = 1) {
    const message = status === 500 ? 'Server Error' : status === 502 ? 'Bad Gateway' : 'Service Unavailable';
    return {
      route,
      times,
      fault: { kind: 'error', status, body: { message } },
    } satisfies GitHubFaultRule;
  },
  /** 401 Bad credentials, as for a revoked or expired token. */
  badCredentials(route: GitHubRoute | '*' = '*') {
    return refusal(route, 401, 'Bad credentials');
  },
  /** 403 "Resource not accessible by integration". */
  forbidden(route: GitHubRoute | '*' = '*') {
    return refusal(route, 403, 'Resource not accessible by integration');
  },
  /** 404 Not Found. */
  notFound(route: GitHubRoute | '*' = '*') {
    return refusal(route, 404, 'Not Found');
  },
  /** A proxy's HTML page instead of JSON. */
  htmlPage(route: GitHubRoute | '*' = '*', status = 502) {
    return {
      route,
      fault: {
        kind: 'raw',
        status,
        contentType: 'text/html; charset=utf-8',
        body: '<!DOCTYPE html><html><head><title>Unicorn!</title></head><body>No server is currently available.</body></html>',
      },
    } satisfies GitHubFaultRule;
  },
  /** The connection is destroyed before any answer. */
  reset(route: GitHubRoute | '*' = '*', times = 1) {
    return { route, times, fault: { kind: 'reset' } } satisfies GitHubFaultRule;
  },
  /** Each answer waits `ms` first. */
  delayed(ms: number, route: GitHubRoute | '*' = '*', times = 1) {
    return { route, times, fault: { kind: 'delay', ms } } satisfies GitHubFaultRule;
  },
  /** Never answered. */
  hang(route: GitHubRoute | '*' = '*', times = 1) {
    return { route, times, fault: { kind: 'hang' } } satisfies GitHubFaultRule;
  },
  /** The write happens (comment posted, asset stored) but a gateway error is answered. */
  errorAfterWork(route: GitHubRoute, status = 502) {
    return { route, fault: { kind: 'error-after-work', status } } satisfies GitHubFaultRule;
  },
  /** The write happens but the connection is destroyed before the answer. */
  resetAfterWork(route: GitHubRoute) {
    return { route, fault: { kind: 'reset-after-work' } } satisfies GitHubFaultRule;
  },
  /** The upload is cut after `afterBytes` bytes; the asset stays in state `starter` and holds the name. */
  interruptUpload(afterBytes = 0) {
    return {
      route: 'uploadReleaseAsset',
      fault: { kind: 'interrupt-upload', afterBytes },
    } satisfies GitHubFaultRule;
  },
};

/** The injected rules, served in order: the first that matches a request's route fires. */
export class FaultQueue {
  readonly #rules: { route: GitHubRoute | '*'; fault: GitHubFault; remaining: number }[] = [];

  add(rule: GitHubFaultRule): void {
    const times = rule.times ?? 1;
    if (!(times >= 1)) throw new TypeError(`fault times must be at least 1, got ${times}`);
    if (rule.fault.kind === 'interrupt-upload' && rule.route !== 'uploadReleaseAsset')
      throw new TypeError(
        `an 'interrupt-upload' fault applies only to 'uploadReleaseAsset', not '${rule.route}'`,
      );
    this.#rules.push({ route: rule.route, fault: rule.fault, remaining: times });
  }

  take(route: GitHubRoute | 'unknown'): GitHubFault | undefined {
    const index = this.#rules.findIndex((rule) => rule.route === '*' || rule.route === route);
    const rule = this.#rules[index];
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.#rules.splice(index, 1);
    return rule.fault;
  }
}
