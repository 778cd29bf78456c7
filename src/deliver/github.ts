/**
 * What the GitHub deliveries (PR comment, release assets) share: where the run is, a client loaded
 * only when one of them is asked for, and how a failed GitHub call is retried.
 */
import { readFileSync } from 'node:fs';
import { isLoopbackHost } from '../net/address.ts';
import type { Budget, Classify } from '../net/retry.ts';
import { policy } from '../policy.ts';
import type { Clock, Log, Sleep } from '../runtime.ts';

/** The run, as the runner's GITHUB_* variables and event payload describe it. */
export interface GithubRun {
  apiUrl: string;
  owner: string;
  repo: string;
  eventName: string;
  /** Set on pull_request and pull_request_target events. */
  pullRequest?: number;
  /** The workflow's file and name, the job and the step: who a PR comment belongs to. */
  workflowRef: string;
  job: string;
  step: string;
}

export function githubRun(env: NodeJS.ProcessEnv): GithubRun {
  const [owner = '', repo = ''] = (env.GITHUB_REPOSITORY ?? '').split('/');
  return {
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
    owner,
    repo,
    eventName: env.GITHUB_EVENT_NAME ?? '',
    pullRequest: pullRequestNumber(env.GITHUB_EVENT_PATH),
    // The ref's path part (owner/repo/.github/workflows/file.yml), without the @ref that changes per branch.
    workflowRef: (env.GITHUB_WORKFLOW_REF ?? env.GITHUB_WORKFLOW ?? '').replace(/@.*$/, ''),
    job: env.GITHUB_JOB ?? '',
    step: env.GITHUB_ACTION ?? '',
  };
}

function pullRequestNumber(eventPath: string | undefined): number | undefined {
  if (!eventPath) return undefined;
  try {
    const event = JSON.parse(readFileSync(eventPath, 'utf8')) as { pull_request?: { number?: unknown } };
    const number = event.pull_request?.number;
    return typeof number === 'number' && Number.isInteger(number) && number > 0 ? number : undefined;
  } catch {
    return undefined;
  }
}

/** A URL GitHub sent, passed on only when it is one plain https (or loopback http) link. */
export function plainUrl(url: unknown): string | undefined {
  if (typeof url !== 'string' || url.length > 2048 || /[\s\p{Cc}<>"`]/u.test(url)) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname))
      ? url
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Pages of a list, until `found` matches or the pages run out (at most `maxPages`): a match on the
 * first page ends the reading, and a list that never ends cannot hold the step.
 */
export async function findInPages<T>(
  pages: AsyncIterable<{ data: T[] }>,
  found: (item: T) => boolean,
  maxPages: number,
): Promise<T | undefined> {
  let read = 0;
  for await (const page of pages) {
    const match = page.data.find(found);
    if (match !== undefined) return match;
    if (++read >= maxPages) return undefined;
  }
  return undefined;
}

/** The Octokit the deliveries use; typed loosely so the bundle loads @actions/github only when needed. */
export type Octokit = Awaited<ReturnType<typeof loadOctokit>>;

/** Loads @actions/github on first use: a step without PR comment or release never pays for it. */
async function loadOctokit(token: string, apiUrl: string, signal: AbortSignal) {
  const { getOctokit } = await import('@actions/github');
  return getOctokit(token, { baseUrl: apiUrl, request: { signal } });
}

/** An Octokit RequestError, as far as the deliveries read it. */
export interface GithubError {
  status: number;
  message: string;
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
}

export function isGithubError(error: unknown): error is GithubError {
  return error instanceof Error && typeof (error as { status?: unknown }).status === 'number';
}

export interface GithubLimits {
  attempts: number;
  maxRateLimitWaitMs: number;
  perPage: number;
  maxPages: number;
}

/**
 * GitHub's 5xx, 429 and rate limits are retried (Retry-After or the reset time honoured); a rate
 * limit that asks for longer than `maxWaitMs` is given up on, as is everything else.
 */
export function classifyGithub(now: () => number, limits: GithubLimits): Classify {
  const network: Budget = { name: 'github', attempts: limits.attempts };
  return (error) => {
    if (!isGithubError(error)) return { retry: false };
    const headers = error.response?.headers ?? {};
    if (error.status === 500 && /fetch failed|ECONN|ETIMEDOUT|socket/i.test(error.message))
      return { retry: true, reason: `network error (${error.message})`, budget: network };
    const retryAfter = Number(headers['retry-after']);
    const reset = Number(headers['x-ratelimit-reset']);
    const limited =
      error.status === 429 ||
      (error.status === 403 && (headers['x-ratelimit-remaining'] === '0' || Number.isFinite(retryAfter)));
    if (limited) {
      const waitMs = Number.isFinite(retryAfter)
        ? retryAfter * 1000
        : Number.isFinite(reset)
          ? Math.max(0, reset * 1000 - now())
          : undefined;
      if (waitMs !== undefined && waitMs > limits.maxRateLimitWaitMs) return { retry: false };
      return { retry: true, reason: `GitHub rate limit (HTTP ${error.status})`, retryAfterMs: waitMs };
    }
    if (error.status >= 500)
      return { retry: true, reason: `GitHub answered HTTP ${error.status}`, budget: network };
    return { retry: false };
  };
}

/** What a GitHub delivery needs of the step: time, its deadline, and where to log. */
export interface GithubCallContext {
  clock: Clock;
  sleep: Sleep;
  random: () => number;
  log: Log;
  signal: AbortSignal;
  deadlineMs: number;
}

/** An Octokit for the token, its requests ended by the step's cancellation or deadline. */
export async function octokitFor(
  token: string,
  apiUrl: string,
  context: GithubCallContext,
): Promise<Octokit> {
  const deadline = AbortSignal.timeout(Math.max(0, context.deadlineMs - context.clock.now()));
  return loadOctokit(token, apiUrl, AbortSignal.any([context.signal, deadline]));
}

/** What a GitHub call needs: time, the retry schedule, GitHub's limits and the step's deadline. */
export function githubCalls(context: GithubCallContext, apiUrl: string) {
  const { clock, sleep, random, log, signal, deadlineMs } = context;
  return {
    clock,
    sleep,
    random,
    log,
    signal,
    schedule: policy.retry.schedule,
    limits: policy.github,
    deadlineMs,
    apiUrl,
  };
}
