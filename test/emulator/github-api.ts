/**
 * A fake of the GitHub REST endpoints the action uses (issue comments, releases and their assets,
 * the repository), on 127.0.0.1, driven by the real Octokit from `@actions/github`.
 *
 * It serves two origins, like github.com does: `url` plays api.github.com and `uploadsUrl` plays
 * uploads.github.com. A release's `upload_url` points at `uploadsUrl`, and asset uploads are only
 * served there (the API origin answers them 404, as api.github.com does), so a client that builds
 * the upload URL itself instead of using `upload_url` fails here as it would in production.
 *
 * Wire behaviour copied from GitHub (sources: docs.github.com REST pages for pagination, comments,
 * releases and assets; error bodies quoted in public issue threads, e.g. softprops/action-gh-release#653,
 * concourse/github-release-resource#151, uutils/coreutils#13839, cli/cli#5008, denoland/deno#24197):
 * - Auth: `Authorization: token X` or `Bearer X`. Unknown token → 401 "Bad credentials" (before any
 *   other check, even on public data). A write without the permission → 403 "Resource not accessible
 *   by integration" with `x-accepted-github-permissions`, which is what a fork PR's GITHUB_TOKEN gets.
 * - Error bodies are `{"message", "documentation_url", "status": "<code as a string>"}`.
 * - Lists: `per_page` default 30, max 100; a `link` header with rel="prev", "next", "last", "first"
 *   (in that order, each only when it applies) whose absolute URLs use the `/repositories/{id}/…`
 *   form, which this fake serves too.
 * - Releases: drafts are 404 by tag and by id, and only listed, for a token with push access
 *   (contents: write). A draft's html_url and download URLs use an `untagged-…` slug.
 * - Uploads need a Content-Length (chunked bodies → 400 "Bad Content-Length: "); a taken name →
 *   422 already_exists; a published immutable release → 422 "Cannot upload assets to an immutable
 *   release." and a delete there → 422 Validation Failed "Cannot delete asset from an immutable
 *   release". An upload cut off midway leaves an asset in state `starter` that still holds the name.
 * - Who a token is: GET /user answers a personal token's user, and 403 "Resource not accessible by
 *   integration" for an installation token (the job's GITHUB_TOKEN, a GitHub App's token); GraphQL's
 *   `viewer { login }` answers both (`github-actions[bot]` for the job token, `<app>[bot]` for an
 *   app's), which is how actions learn it (marocchino/sticky-pull-request-comment, fullsend-ai/fullsend#1953).
 *   The fake's GraphQL endpoint knows only that query. A bot's comments carry its app as
 *   `performed_via_github_app`; a user's carry null.
 * - An asset is renamed with PATCH /releases/assets/{id} {name}; a name taken by another asset of the
 *   release is 422 already_exists.
 * - Asset names are kept exactly as given by default. GitHub renames names with special characters
 *   ("GitHub renames asset filenames that have special characters, non-alphanumeric characters, and
 *   leading or trailing periods"); `renameAssets: true` applies an approximation of that.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// ---------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------

export type Access = 'none' | 'read' | 'write';

/** GitHub App permission scopes, as a workflow's `permissions:` block sets them for GITHUB_TOKEN. */
export interface TokenPermissions {
  contents?: Access;
  issues?: Access;
  pullRequests?: Access;
}

export interface TokenOptions {
  /** The account the token acts as; default `github-actions[bot]` (id 41898282, type Bot). */
  login?: string;
  userId?: number;
  type?: 'Bot' | 'User';
}

/** Ready-made permission sets. */
export const tokenPresets = {
  /** GITHUB_TOKEN with `permissions: write-all` (or the permissive repository default). */
  writeAll: { contents: 'write', issues: 'write', pullRequests: 'write' },
  /** GITHUB_TOKEN on a pull_request from a fork: everything read-only, whatever the workflow asks. */
  forkPullRequest: { contents: 'read', issues: 'read', pullRequests: 'read' },
  /** `permissions: { pull-requests: write }` only: comments yes, releases no. */
  pullRequestsWrite: { contents: 'read', issues: 'none', pullRequests: 'write' },
} as const satisfies Record<string, TokenPermissions>;

/** Octokit method names, which is how faults pick a route. `downloadAsset` is the fake's own. */
export type GitHubRoute =
  | 'getRepo'
  | 'listComments'
  | 'createComment'
  | 'getComment'
  | 'updateComment'
  | 'deleteComment'
  | 'listReleases'
  | 'getRelease'
  | 'getLatestRelease'
  | 'getReleaseByTag'
  | 'listReleaseAssets'
  | 'uploadReleaseAsset'
  | 'getReleaseAsset'
  | 'updateReleaseAsset'
  | 'deleteReleaseAsset'
  | 'getAuthenticated'
  | 'graphql'
  | 'downloadAsset';

export type GitHubFault =
  /** Answer this status and JSON body (plus headers) instead of handling the request. */
  | { kind: 'error'; status: number; body: unknown; headers?: Record<string, string> }
  /** Answer a raw body instead of handling the request (e.g. an HTML error page from a proxy). */
  | { kind: 'raw'; status: number; contentType: string; body: string }
  /** Destroy the connection without answering (the request body is not read). */
  | { kind: 'reset' }
  /** Wait, then handle normally. */
  | { kind: 'delay'; ms: number }
  /** Never answer; the connection stays open until the client gives up or close() is called. */
  | { kind: 'hang' }
  /** Do the work (create the comment, store the asset…), then answer this error instead. */
  | { kind: 'error-after-work'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Do the work, then destroy the connection without answering. */
  | { kind: 'reset-after-work' }
  /** Upload only: read `afterBytes` of the body, then destroy the connection (a `starter` asset stays). */
  | { kind: 'interrupt-upload'; afterBytes: number };

export interface GitHubFaultRule {
  /** A route, or '*' for any request. */
  route: GitHubRoute | '*';
  fault: GitHubFault;
  /** Default 1; Infinity allowed. */
  times?: number;
}

export interface GitHubRecordedRequest {
  method: string;
  /** Which origin was hit: `url` ('api') or `uploadsUrl` ('uploads'). */
  host: 'api' | 'uploads';
  path: string;
  query: Record<string, string>;
  /** Raw header value, e.g. `token ghs_…`. */
  authorization?: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON (or the text when it does not parse); uploads record only `bodyBytes`. */
  body?: unknown;
  /** Bytes of request body read. */
  bodyBytes: number;
  route: GitHubRoute | 'unknown';
  /** 0 until answered, and for reset/hang faults. */
  status: number;
  atMs: number;
}

export interface GitHubUser {
  login: string;
  id: number;
  type: 'Bot' | 'User';
}

export interface StoredComment {
  id: number;
  issueNumber: number;
  body: string;
  user: GitHubUser;
  createdAt: string;
  updatedAt: string;
}

export interface StoredRelease {
  id: number;
  tagName: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  /** Flagged immutable; it only takes effect (and shows in the JSON) once the release is not a draft. */
  immutable: boolean;
  targetCommitish: string;
  createdAt: string;
  publishedAt: string | null;
  /** The `untagged-…` slug a draft's URLs use. */
  untaggedSlug: string;
}

export interface StoredAsset {
  id: number;
  releaseId: number;
  name: string;
  label: string;
  contentType: string;
  /** `starter` while uploading, and forever after an upload that was cut off. */
  state: 'uploaded' | 'starter';
  size: number;
  /** The bytes received (for a starter asset, whatever arrived before the cut). */
  bytes: Buffer;
  createdAt: string;
  updatedAt: string;
  uploader: GitHubUser;
}

export interface GitHubApiOptions {
  /** Default 'octo-org'. */
  owner?: string;
  /** Default 'octo-repo'. */
  repo?: string;
  /** Default 1296269. */
  repoId?: number;
  /** A private repository also needs read permission for reads; default false (public). */
  private?: boolean;
  /** Tokens accepted from the start, besides `defaultToken` (write-all). */
  tokens?: Record<string, TokenPermissions>;
  /** Upload size cap; default 2 GiB (GitHub's per-asset limit). */
  maxUploadBytes?: number;
  /** Rename asset names the way GitHub roughly does; default false (kept as given). */
  renameAssets?: boolean;
  /** Primary rate limit budget for the core resource; default 5000 remaining of 5000. */
  rateLimit?: { limit?: number; remaining?: number };
}

// ---------------------------------------------------------------------------------------------------
// Fault builders
// ---------------------------------------------------------------------------------------------------

const DOCS = 'https://docs.github.com/rest';

function errorBody(status: number, message: string, documentationUrl = DOCS): Record<string, unknown> {
  return { message, documentation_url: documentationUrl, status: String(status) };
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
        body: errorBody(
          status,
          'API rate limit exceeded for installation ID 12345678.',
          'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
        ),
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
    return {
      route,
      fault: { kind: 'error', status: 401, body: errorBody(401, 'Bad credentials') },
    } satisfies GitHubFaultRule;
  },
  /** 403 "Resource not accessible by integration". */
  forbidden(route: GitHubRoute | '*' = '*') {
    return {
      route,
      fault: { kind: 'error', status: 403, body: errorBody(403, 'Resource not accessible by integration') },
    } satisfies GitHubFaultRule;
  },
  /** 404 Not Found. */
  notFound(route: GitHubRoute | '*' = '*') {
    return {
      route,
      fault: { kind: 'error', status: 404, body: errorBody(404, 'Not Found') },
    } satisfies GitHubFaultRule;
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

// ---------------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------------

const ACTIONS_BOT: GitHubUser = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' };
const GITHUB_ACTIONS_APP = {
  id: 15368,
  slug: 'github-actions',
  node_id: 'MDM6QXBwMTUzNjg=',
  name: 'GitHub Actions',
  owner: { login: 'github', id: 9919, type: 'Organization' },
};
const HTML_ORIGIN = 'https://github.com';
const DEFAULT_TOKEN = 'ghs_fakeGitHubApiToken0000000000000000';
const TWO_GIB = 2 * 1024 * 1024 * 1024;
const COMMENT_MAX_CHARS = 65536;
const JSON_BODY_CAP = 25 * 1024 * 1024;
const DOCS_URL: Record<GitHubRoute, string> = {
  getRepo: `${DOCS}/repos/repos#get-a-repository`,
  listComments: `${DOCS}/issues/comments#list-issue-comments`,
  createComment: `${DOCS}/issues/comments#create-an-issue-comment`,
  getComment: `${DOCS}/issues/comments#get-an-issue-comment`,
  updateComment: `${DOCS}/issues/comments#update-an-issue-comment`,
  deleteComment: `${DOCS}/issues/comments#delete-an-issue-comment`,
  listReleases: `${DOCS}/releases/releases#list-releases`,
  getRelease: `${DOCS}/releases/releases#get-a-release`,
  getLatestRelease: `${DOCS}/releases/releases#get-the-latest-release`,
  getReleaseByTag: `${DOCS}/releases/releases#get-a-release-by-tag-name`,
  listReleaseAssets: `${DOCS}/releases/assets#list-release-assets`,
  uploadReleaseAsset: `${DOCS}/releases/assets#upload-a-release-asset`,
  getReleaseAsset: `${DOCS}/releases/assets#get-a-release-asset`,
  updateReleaseAsset: `${DOCS}/releases/assets#update-a-release-asset`,
  deleteReleaseAsset: `${DOCS}/releases/assets#delete-a-release-asset`,
  getAuthenticated: `${DOCS}/users/users#get-the-authenticated-user`,
  graphql: 'https://docs.github.com/graphql',
  downloadAsset: DOCS,
};

/** Which permission a route needs: comments accept issues or pull_requests, releases need contents. */
const NEEDS: Record<GitHubRoute, { scopes: (keyof TokenPermissions)[]; level: 'read' | 'write' } | null> = {
  getRepo: null,
  listComments: { scopes: ['issues', 'pullRequests'], level: 'read' },
  getComment: { scopes: ['issues', 'pullRequests'], level: 'read' },
  createComment: { scopes: ['issues', 'pullRequests'], level: 'write' },
  updateComment: { scopes: ['issues', 'pullRequests'], level: 'write' },
  deleteComment: { scopes: ['issues', 'pullRequests'], level: 'write' },
  listReleases: { scopes: ['contents'], level: 'read' },
  getRelease: { scopes: ['contents'], level: 'read' },
  getLatestRelease: { scopes: ['contents'], level: 'read' },
  getReleaseByTag: { scopes: ['contents'], level: 'read' },
  listReleaseAssets: { scopes: ['contents'], level: 'read' },
  getReleaseAsset: { scopes: ['contents'], level: 'read' },
  downloadAsset: null,
  uploadReleaseAsset: { scopes: ['contents'], level: 'write' },
  updateReleaseAsset: { scopes: ['contents'], level: 'write' },
  deleteReleaseAsset: { scopes: ['contents'], level: 'write' },
  getAuthenticated: null,
  graphql: null,
};

const SCOPE_WIRE_NAME: Record<keyof TokenPermissions, string> = {
  contents: 'contents',
  issues: 'issues',
  pullRequests: 'pull_requests',
};

interface TokenRecord {
  permissions: Required<TokenPermissions>;
  user: GitHubUser;
}

type Json = Record<string, unknown>;

interface Match {
  route: GitHubRoute;
  /** Path after `/repos/{o}/{r}` or `/repositories/{id}`, for Link headers. */
  rest: string;
  params: string[];
}

interface Context {
  request: IncomingMessage;
  response: ServerResponse;
  record: GitHubRecordedRequest;
  url: URL;
  host: 'api' | 'uploads';
  token: TokenRecord | undefined;
  /** Set by an *-after-work fault: the work is done, then this goes out instead of the answer. */
  afterWork: GitHubFault | undefined;
  /** Set once the request body has been consumed (or deliberately abandoned). */
  bodyDone: boolean;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function nodeId(prefix: string, id: number): string {
  return `${prefix}_kwDO${Buffer.from(`fake:${id}`).toString('base64url')}`;
}

function atLeast(access: Access, level: 'read' | 'write'): boolean {
  return level === 'read' ? access !== 'none' : access === 'write';
}

/**
 * An approximation of GitHub's asset renaming (its exact rules are not documented): each run of
 * characters other than letters, digits and `._+@-` becomes one '.', runs of dots collapse, and
 * leading and trailing dots go.
 */
export function githubAssetName(name: string): string {
  const replaced = name
    .replace(/[^A-Za-z0-9._+@-]+/g, '.')
    .replace(/\.{2,}/g, '.')
    .replace(/^\.+|\.+$/g, '');
  return replaced === '' ? 'default' : replaced;
}

// ---------------------------------------------------------------------------------------------------
// The fake
// ---------------------------------------------------------------------------------------------------

export class GitHubApi {
  /** The API origin, 'http://127.0.0.1:PORT' (no trailing slash): pass it as Octokit's baseUrl. */
  readonly url: string;
  /** The uploads origin; releases' `upload_url` points here. */
  readonly uploadsUrl: string;
  readonly owner: string;
  readonly repo: string;
  readonly repoId: number;
  /** A write-all token accepted from the start. */
  readonly defaultToken = DEFAULT_TOKEN;

  readonly #api: Server;
  readonly #uploads: Server;
  readonly #private: boolean;
  readonly #maxUploadBytes: number;
  readonly #renameAssets: boolean;
  readonly #tokens = new Map<string, TokenRecord>();
  readonly #comments = new Map<number, StoredComment>();
  readonly #releases = new Map<number, StoredRelease>();
  readonly #assets = new Map<number, StoredAsset>();
  readonly #requests: GitHubRecordedRequest[] = [];
  readonly #faults: { route: GitHubRoute | '*'; fault: GitHubFault; remaining: number }[] = [];
  readonly #closing = new AbortController();
  #rate: { limit: number; remaining: number; resetEpoch: number };
  #nextCommentId = 1_000_000_001;
  #nextReleaseId = 200_000_001;
  #nextAssetId = 300_000_001;
  // Strictly increasing creation times, so ordering by time is stable within one millisecond.
  #lastMs = 0;

  private constructor(api: Server, uploads: Server, options: GitHubApiOptions) {
    this.#api = api;
    this.#uploads = uploads;
    this.url = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    this.uploadsUrl = `http://127.0.0.1:${(uploads.address() as AddressInfo).port}`;
    this.owner = options.owner ?? 'octo-org';
    this.repo = options.repo ?? 'octo-repo';
    this.repoId = options.repoId ?? 1296269;
    this.#private = options.private ?? false;
    this.#maxUploadBytes = options.maxUploadBytes ?? TWO_GIB;
    this.#renameAssets = options.renameAssets ?? false;
    const limit = options.rateLimit?.limit ?? 5000;
    this.#rate = {
      limit,
      remaining: options.rateLimit?.remaining ?? limit,
      resetEpoch: Math.floor(Date.now() / 1000) + 3600,
    };
    this.addToken(DEFAULT_TOKEN, tokenPresets.writeAll);
    for (const [token, permissions] of Object.entries(options.tokens ?? {}))
      this.addToken(token, permissions);
    for (const [server, host] of [
      [api, 'api'],
      [uploads, 'uploads'],
    ] as const) {
      server.on('request', (request: IncomingMessage, response: ServerResponse) => {
        this.#handle(request, response, host).catch((error: unknown) => answerInternalError(response, error));
      });
    }
  }

  static async start(options: GitHubApiOptions = {}): Promise<GitHubApi> {
    const api = createServer();
    const uploads = createServer();
    api.listen(0, '127.0.0.1');
    uploads.listen(0, '127.0.0.1');
    await Promise.all([once(api, 'listening'), once(uploads, 'listening')]);
    return new GitHubApi(api, uploads, options);
  }

  /** `GITHUB_API_URL`, `GITHUB_SERVER_URL` and `GITHUB_REPOSITORY` for a child process. */
  env(): Record<string, string> {
    return {
      GITHUB_API_URL: this.url,
      GITHUB_SERVER_URL: HTML_ORIGIN,
      GITHUB_REPOSITORY: `${this.owner}/${this.repo}`,
    };
  }

  // ---- tokens ----

  /** Accepts `token` from now on; unset scopes are 'none' (the metadata read every token has aside). */
  addToken(token: string, permissions: TokenPermissions, options: TokenOptions = {}): void {
    const user: GitHubUser =
      options.login === undefined
        ? { ...ACTIONS_BOT, ...(options.type ? { type: options.type } : {}) }
        : {
            login: options.login,
            id: options.userId ?? 5_000_000 + this.#tokens.size,
            type: options.type ?? 'User',
          };
    this.#tokens.set(token, {
      permissions: {
        contents: permissions.contents ?? 'none',
        issues: permissions.issues ?? 'none',
        pullRequests: permissions.pullRequests ?? 'none',
      },
      user,
    });
  }

  /** The token is refused (401 Bad credentials) from now on, as after the job ends. */
  revokeToken(token: string): void {
    this.#tokens.delete(token);
  }

  /** Replaces the primary rate-limit budget; at 0 remaining every request gets the rate-limit 403. */
  setRateLimit(budget: { limit?: number; remaining: number; resetInSeconds?: number }): void {
    this.#rate = {
      limit: budget.limit ?? this.#rate.limit,
      remaining: budget.remaining,
      resetEpoch: Math.floor(Date.now() / 1000) + (budget.resetInSeconds ?? 3600),
    };
  }

  get rateLimit(): { limit: number; remaining: number; resetEpoch: number } {
    return { ...this.#rate };
  }

  // ---- faults and records ----

  inject(rule: GitHubFaultRule): void {
    const times = rule.times ?? 1;
    if (!(times >= 1)) throw new TypeError(`fault times must be at least 1, got ${times}`);
    if (rule.fault.kind === 'interrupt-upload' && rule.route !== 'uploadReleaseAsset')
      throw new TypeError(
        `an 'interrupt-upload' fault applies only to 'uploadReleaseAsset', not '${rule.route}'`,
      );
    this.#faults.push({ route: rule.route, fault: rule.fault, remaining: times });
  }

  /** Every request received, in arrival order. */
  get requests(): readonly GitHubRecordedRequest[] {
    return this.#requests;
  }

  // ---- comments ----

  /** Adds `count` comments to an issue or pull request (by `login`, default another user), in order. */
  seedComments(
    issueNumber: number,
    count: number,
    options: { body?: (index: number) => string; login?: string } = {},
  ): StoredComment[] {
    const user: GitHubUser = { login: options.login ?? 'octocat', id: 583231, type: 'User' };
    const made: StoredComment[] = [];
    for (let index = 0; index < count; index++) {
      made.push(this.#addComment(issueNumber, options.body?.(index) ?? `Seeded comment ${index + 1}`, user));
    }
    return made.map((comment) => ({ ...comment }));
  }

  /** Adds one comment, by default as github-actions[bot] (as if an earlier run had posted it). */
  addComment(issueNumber: number, body: string, user: GitHubUser = ACTIONS_BOT): StoredComment {
    return { ...this.#addComment(issueNumber, body, user) };
  }

  /** The comments of an issue or pull request, oldest first (the order GitHub lists them in). */
  comments(issueNumber: number): StoredComment[] {
    return [...this.#comments.values()]
      .filter((comment) => comment.issueNumber === issueNumber)
      .map((comment) => ({ ...comment }));
  }

  // ---- releases and assets ----

  createRelease(options: {
    tag: string;
    name?: string | null;
    body?: string | null;
    draft?: boolean;
    prerelease?: boolean;
    immutable?: boolean;
    targetCommitish?: string;
  }): StoredRelease {
    const now = this.#now();
    const draft = options.draft ?? false;
    const release: StoredRelease = {
      id: this.#nextReleaseId++,
      tagName: options.tag,
      name: options.name === undefined ? options.tag : options.name,
      body: options.body ?? null,
      draft,
      prerelease: options.prerelease ?? false,
      immutable: options.immutable ?? false,
      targetCommitish: options.targetCommitish ?? 'main',
      createdAt: iso(now),
      publishedAt: draft ? null : iso(now),
      untaggedSlug: `untagged-${randomBytes(10).toString('hex')}`,
    };
    this.#releases.set(release.id, release);
    return { ...release };
  }

  /** Publishes a draft (optionally making it immutable, as the repository setting does). */
  publishRelease(releaseId: number, options: { immutable?: boolean } = {}): StoredRelease {
    const release = this.#releases.get(releaseId);
    if (!release) throw new Error(`no release ${releaseId}`);
    release.draft = false;
    release.publishedAt = iso(this.#now());
    if (options.immutable !== undefined) release.immutable = options.immutable;
    return { ...release };
  }

  releases(): StoredRelease[] {
    return [...this.#releases.values()].map((release) => ({ ...release }));
  }

  /** Seeds an asset (e.g. a `starter` left by an earlier broken upload). */
  addAsset(
    releaseId: number,
    asset: {
      name: string;
      bytes?: Buffer;
      contentType?: string;
      label?: string;
      state?: 'uploaded' | 'starter';
      /** Who uploaded it; default github-actions[bot] (as if an earlier run of the job had). */
      uploader?: GitHubUser;
    },
  ): StoredAsset {
    if (!this.#releases.has(releaseId)) throw new Error(`no release ${releaseId}`);
    const now = iso(this.#now());
    const bytes = asset.bytes ?? Buffer.alloc(0);
    const stored: StoredAsset = {
      id: this.#nextAssetId++,
      releaseId,
      name: asset.name,
      label: asset.label ?? '',
      contentType: asset.contentType ?? 'application/octet-stream',
      state: asset.state ?? 'uploaded',
      size: asset.state === 'starter' ? 0 : bytes.length,
      bytes,
      createdAt: now,
      updatedAt: now,
      uploader: { ...(asset.uploader ?? ACTIONS_BOT) },
    };
    this.#assets.set(stored.id, stored);
    return { ...stored };
  }

  /** A release's assets (starter ones included), oldest first, with their stored bytes. */
  assets(releaseId: number): StoredAsset[] {
    return [...this.#assets.values()]
      .filter((asset) => asset.releaseId === releaseId)
      .map((asset) => ({ ...asset }));
  }

  /** Stops listening on both origins and ends every connection, keep-alive ones included. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    await Promise.all(
      [this.#api, this.#uploads].map(async (server) => {
        const closed = once(server, 'close');
        server.close();
        server.closeAllConnections();
        await closed;
      }),
    );
  }

  // ---------------------------------------------------------------------------------------------------
  // Request handling
  // ---------------------------------------------------------------------------------------------------

  #now(): number {
    this.#lastMs = Math.max(Date.now(), this.#lastMs + 1);
    return this.#lastMs;
  }

  #addComment(issueNumber: number, body: string, user: GitHubUser): StoredComment {
    const now = iso(this.#now());
    const comment: StoredComment = {
      id: this.#nextCommentId++,
      issueNumber,
      body,
      user: { ...user },
      createdAt: now,
      updatedAt: now,
    };
    this.#comments.set(comment.id, comment);
    return comment;
  }

  #takeFault(route: GitHubRoute | 'unknown'): GitHubFault | undefined {
    const index = this.#faults.findIndex((rule) => rule.route === '*' || rule.route === route);
    const rule = this.#faults[index];
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.#faults.splice(index, 1);
    return rule.fault;
  }

  async #handle(request: IncomingMessage, response: ServerResponse, host: 'api' | 'uploads'): Promise<void> {
    const url = new URL(request.url ?? '/', host === 'api' ? this.url : this.uploadsUrl);
    const method = request.method ?? 'GET';
    const match = this.#match(method, url.pathname, host);
    const record: GitHubRecordedRequest = {
      method,
      host,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(request.headers.authorization === undefined
        ? {}
        : { authorization: request.headers.authorization }),
      headers: { ...request.headers },
      bodyBytes: 0,
      route: match?.route ?? 'unknown',
      status: 0,
      atMs: performance.now(),
    };
    this.#requests.push(record);
    const context: Context = {
      request,
      response,
      record,
      url,
      host,
      token: undefined,
      afterWork: undefined,
      bodyDone: false,
    };

    const fault = this.#takeFault(record.route);
    if (fault?.kind === 'delay' && !(await pause(fault.ms, this.#closing.signal))) return;
    if (fault?.kind === 'hang') return this.#hang(response);
    if (fault?.kind === 'reset') {
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'error-after-work' || fault?.kind === 'reset-after-work') context.afterWork = fault;

    if (fault?.kind === 'error' || fault?.kind === 'raw') {
      await this.#drain(context);
      if (fault.kind === 'error') return this.#json(context, fault.status, fault.body, fault.headers ?? {});
      return this.#send(context, fault.status, fault.contentType, Buffer.from(fault.body), {});
    }
    await this.#dispatch(context, match, fault);
  }

  /** Never answers; resolves once the connection is gone or the fake closes. */
  async #hang(response: ServerResponse): Promise<void> {
    const gone = new AbortController();
    response.once('close', () => gone.abort());
    await untilAborted(AbortSignal.any([gone.signal, this.#closing.signal]));
  }

  #match(method: string, pathname: string, host: 'api' | 'uploads'): Match | undefined {
    const segments = pathname.split('/').slice(1).map(decodeSegment);
    let rest: string[];
    if (segments[0] === 'repos' && segments.length >= 3) {
      if (
        segments[1]!.toLowerCase() !== this.owner.toLowerCase() ||
        segments[2]!.toLowerCase() !== this.repo.toLowerCase()
      )
        return undefined;
      rest = segments.slice(3);
    } else if (segments[0] === 'repositories' && segments.length >= 2) {
      if (segments[1] !== String(this.repoId)) return undefined;
      rest = segments.slice(2);
    } else if (host === 'api' && segments[0] === '_fake' && segments[1] === 'downloads' && method === 'GET') {
      return { route: 'downloadAsset', rest: '', params: [segments[2] ?? ''] };
    } else if (host === 'api' && segments.length === 1 && segments[0] === 'user' && method === 'GET') {
      return { route: 'getAuthenticated', rest: '', params: [] };
    } else if (host === 'api' && segments.length === 1 && segments[0] === 'graphql' && method === 'POST') {
      return { route: 'graphql', rest: '', params: [] };
    } else {
      return undefined;
    }
    // Trailing slashes are not routes on GitHub.
    const restPath = rest.length === 0 ? '' : `/${rest.map(encodeURIComponent).join('/')}`;
    const found = routeOf(method, rest);
    if (!found) return undefined;
    // uploads.github.com serves uploads only, and api.github.com does not serve them.
    if ((found.route === 'uploadReleaseAsset') !== (host === 'uploads')) return undefined;
    return { route: found.route, rest: restPath, params: found.params };
  }

  async #dispatch(context: Context, match: Match | undefined, fault: GitHubFault | undefined): Promise<void> {
    // GitHub checks credentials first: a bad token is 401 even on a path that does not exist.
    const rejection = this.#authenticate(context);
    if (rejection) {
      await this.#drain(context);
      return this.#error(context, rejection.status, rejection.message, match?.route);
    }
    if (!match) {
      await this.#drain(context);
      return this.#error(context, 404, 'Not Found');
    }
    if (match.route === 'downloadAsset') return this.#downloadAsset(context, match.params[0]!);
    if (!(await this.#spendRateLimit(context))) return;
    const need = NEEDS[match.route];
    if (need) {
      context.response.setHeader(
        'x-accepted-github-permissions',
        need.scopes.map((scope) => `${SCOPE_WIRE_NAME[scope]}=${need.level}`).join('; '),
      );
      if (!(await this.#authorize(context, match.route, need))) return;
    }
    const [first] = match.params;
    switch (match.route) {
      case 'getRepo':
        return this.#getRepo(context);
      case 'listComments':
        return this.#listComments(context, match, Number(first));
      case 'createComment':
        return this.#createComment(context, Number(first));
      case 'getComment':
        return this.#getComment(context, Number(first));
      case 'updateComment':
        return this.#updateComment(context, Number(first));
      case 'deleteComment':
        return this.#deleteComment(context, Number(first));
      case 'listReleases':
        return this.#listReleases(context, match);
      case 'getRelease':
        return this.#getRelease(context, Number(first));
      case 'getLatestRelease':
        return this.#getLatestRelease(context);
      case 'getReleaseByTag':
        return this.#getReleaseByTag(context, first!);
      case 'listReleaseAssets':
        return this.#listReleaseAssets(context, match, Number(first));
      case 'uploadReleaseAsset':
        return this.#uploadReleaseAsset(context, Number(first), fault);
      case 'getReleaseAsset':
        return this.#getReleaseAsset(context, Number(first));
      case 'updateReleaseAsset':
        return this.#updateReleaseAsset(context, Number(first));
      case 'deleteReleaseAsset':
        return this.#deleteReleaseAsset(context, Number(first));
      case 'getAuthenticated':
        return this.#getAuthenticated(context);
      case 'graphql':
        return this.#graphql(context);
    }
  }

  #authenticate(context: Context): { status: number; message: string } | undefined {
    const header = context.request.headers.authorization;
    if (header === undefined) return undefined;
    const parsed = /^(token|bearer)\s+(\S+)\s*$/i.exec(header);
    const token = parsed ? this.#tokens.get(parsed[2]!) : undefined;
    if (!token) return { status: 401, message: 'Bad credentials' };
    context.token = token;
    return undefined;
  }

  /** Counts the request against the primary limit; answers the rate-limit 403 when none is left. */
  async #spendRateLimit(context: Context): Promise<boolean> {
    const nowEpoch = Math.floor(Date.now() / 1000);
    if (nowEpoch >= this.#rate.resetEpoch) {
      this.#rate = { ...this.#rate, remaining: this.#rate.limit, resetEpoch: nowEpoch + 3600 };
    }
    if (this.#rate.remaining <= 0) {
      await this.#drain(context);
      this.#json(
        context,
        403,
        errorBody(
          403,
          'API rate limit exceeded for installation ID 12345678.',
          'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
        ),
      );
      return false;
    }
    this.#rate.remaining -= 1;
    return true;
  }

  /** Answers the refusal and returns false when the caller may not do this. */
  async #authorize(
    context: Context,
    route: GitHubRoute,
    need: { scopes: (keyof TokenPermissions)[]; level: 'read' | 'write' },
  ): Promise<boolean> {
    const token = context.token;
    if (need.level === 'read') {
      // Public data is readable by anyone, with or without a token.
      if (!this.#private) return true;
      if (!token) {
        await this.#drain(context);
        this.#error(context, 404, 'Not Found', route);
        return false;
      }
    } else if (!token) {
      await this.#drain(context);
      this.#error(context, 401, 'Requires authentication', route);
      return false;
    }
    if (need.scopes.some((scope) => atLeast(token.permissions[scope], need.level))) return true;
    await this.#drain(context);
    this.#error(context, 403, 'Resource not accessible by integration', route);
    return false;
  }

  #canPush(context: Context): boolean {
    return context.token?.permissions.contents === 'write';
  }

  // ---- repository ----

  async #getRepo(context: Context): Promise<void> {
    await this.#drain(context);
    const contents = context.token?.permissions.contents ?? 'none';
    const push = contents === 'write';
    this.#json(context, 200, {
      id: this.repoId,
      node_id: nodeId('R', this.repoId),
      name: this.repo,
      full_name: `${this.owner}/${this.repo}`,
      private: this.#private,
      visibility: this.#private ? 'private' : 'public',
      owner: { login: this.owner, id: 9_919_000, type: 'Organization' },
      html_url: `${HTML_ORIGIN}/${this.owner}/${this.repo}`,
      url: `${this.url}/repos/${this.owner}/${this.repo}`,
      default_branch: 'main',
      permissions: { admin: false, maintain: false, push, triage: push, pull: true },
    });
  }

  // ---- comments ----

  #commentJson(comment: StoredComment): Json {
    const apiRepo = `${this.url}/repos/${this.owner}/${this.repo}`;
    const htmlRepo = `${HTML_ORIGIN}/${this.owner}/${this.repo}`;
    const isActions = comment.user.login === ACTIONS_BOT.login;
    return {
      url: `${apiRepo}/issues/comments/${comment.id}`,
      html_url: `${htmlRepo}/pull/${comment.issueNumber}#issuecomment-${comment.id}`,
      issue_url: `${apiRepo}/issues/${comment.issueNumber}`,
      id: comment.id,
      node_id: nodeId('IC', comment.id),
      user: this.#userJson(comment.user),
      created_at: comment.createdAt,
      updated_at: comment.updatedAt,
      author_association: isActions ? 'NONE' : 'CONTRIBUTOR',
      body: comment.body,
      reactions: {
        url: `${apiRepo}/issues/comments/${comment.id}/reactions`,
        total_count: 0,
        '+1': 0,
        '-1': 0,
        laugh: 0,
        hooray: 0,
        confused: 0,
        heart: 0,
        rocket: 0,
        eyes: 0,
      },
      performed_via_github_app: this.#appOf(comment.user),
    };
  }

  /** A bot acts for its app (`<slug>[bot]`); a user's own comments name no app. */
  #appOf(user: GitHubUser): Json | null {
    if (user.type !== 'Bot') return null;
    if (user.login === ACTIONS_BOT.login) return GITHUB_ACTIONS_APP;
    const slug = user.login.replace(/\[bot\]$/, '');
    return {
      id: 900_000 + (user.id % 100_000),
      slug,
      node_id: nodeId('A', user.id),
      name: slug,
      owner: { login: this.owner, id: 9_919_000, type: 'Organization' },
    };
  }

  #userJson(user: GitHubUser): Json {
    return {
      login: user.login,
      id: user.id,
      node_id: nodeId(user.type === 'Bot' ? 'BOT' : 'U', user.id),
      avatar_url: `https://avatars.githubusercontent.com/u/${user.id}?v=4`,
      url: `${this.url}/users/${encodeURIComponent(user.login)}`,
      html_url: `${HTML_ORIGIN}/${user.type === 'Bot' ? 'apps/' + user.login.replace(/\[bot\]$/, '') : user.login}`,
      type: user.type,
      site_admin: false,
    };
  }

  async #listComments(context: Context, match: Match, issueNumber: number): Promise<void> {
    await this.#drain(context);
    if (!(issueNumber >= 1)) return this.#error(context, 404, 'Not Found', 'listComments');
    const all = [...this.#comments.values()].filter((comment) => comment.issueNumber === issueNumber);
    this.#page(context, match, all, (comment) => this.#commentJson(comment));
  }

  async #createComment(context: Context, issueNumber: number): Promise<void> {
    const body = await this.#jsonBody(context);
    if (body === undefined) return;
    if (!(issueNumber >= 1)) return this.#error(context, 404, 'Not Found', 'createComment');
    const text = this.#commentText(context, body, 'createComment');
    if (text === undefined) return;
    const comment = this.#addComment(issueNumber, text, context.token!.user);
    this.#json(context, 201, this.#commentJson(comment), {
      location: `${this.url}/repos/${this.owner}/${this.repo}/issues/comments/${comment.id}`,
    });
  }

  /** The `body` string of a comment request, or undefined once the 422 has been answered. */
  #commentText(context: Context, body: unknown, route: GitHubRoute): string | undefined {
    const text = isObject(body) ? body['body'] : undefined;
    if (typeof text !== 'string') {
      this.#error(context, 422, 'Invalid request.\n\n"body" wasn\'t supplied.', route);
      return undefined;
    }
    if (text.length > COMMENT_MAX_CHARS) {
      this.#validationFailed(context, route, {
        resource: 'IssueComment',
        code: 'unprocessable',
        field: 'data',
        message: `Body is too long (maximum is ${COMMENT_MAX_CHARS} characters)`,
      });
      return undefined;
    }
    return text;
  }

  async #getComment(context: Context, id: number): Promise<void> {
    await this.#drain(context);
    const comment = this.#comments.get(id);
    if (!comment) return this.#error(context, 404, 'Not Found', 'getComment');
    this.#json(context, 200, this.#commentJson(comment));
  }

  async #updateComment(context: Context, id: number): Promise<void> {
    const body = await this.#jsonBody(context);
    if (body === undefined) return;
    const comment = this.#comments.get(id);
    if (!comment) return this.#error(context, 404, 'Not Found', 'updateComment');
    const text = this.#commentText(context, body, 'updateComment');
    if (text === undefined) return;
    comment.body = text;
    comment.updatedAt = iso(this.#now());
    this.#json(context, 200, this.#commentJson(comment));
  }

  async #deleteComment(context: Context, id: number): Promise<void> {
    await this.#drain(context);
    if (!this.#comments.delete(id)) return this.#error(context, 404, 'Not Found', 'deleteComment');
    this.#noContent(context);
  }

  // ---- releases ----

  /** A release this caller can see: drafts only with push access. */
  #visibleRelease(context: Context, release: StoredRelease | undefined): release is StoredRelease {
    return release !== undefined && (!release.draft || this.#canPush(context));
  }

  #releaseJson(release: StoredRelease): Json {
    const apiRepo = `${this.url}/repos/${this.owner}/${this.repo}`;
    const htmlRepo = `${HTML_ORIGIN}/${this.owner}/${this.repo}`;
    const slug = release.draft ? release.untaggedSlug : release.tagName;
    return {
      url: `${apiRepo}/releases/${release.id}`,
      assets_url: `${apiRepo}/releases/${release.id}/assets`,
      upload_url: `${this.uploadsUrl}/repos/${this.owner}/${this.repo}/releases/${release.id}/assets{?name,label}`,
      html_url: `${htmlRepo}/releases/tag/${encodeURIComponent(slug)}`,
      id: release.id,
      author: this.#userJson(ACTIONS_BOT),
      node_id: nodeId('RE', release.id),
      tag_name: release.tagName,
      target_commitish: release.targetCommitish,
      name: release.name,
      draft: release.draft,
      immutable: release.immutable && !release.draft,
      prerelease: release.prerelease,
      created_at: release.createdAt,
      updated_at: release.createdAt,
      published_at: release.publishedAt,
      assets: [...this.#assets.values()]
        .filter((asset) => asset.releaseId === release.id)
        .map((asset) => this.#assetJson(asset)),
      tarball_url: `${apiRepo}/tarball/${encodeURIComponent(release.tagName)}`,
      zipball_url: `${apiRepo}/zipball/${encodeURIComponent(release.tagName)}`,
      body: release.body,
    };
  }

  async #listReleases(context: Context, match: Match): Promise<void> {
    await this.#drain(context);
    const visible = [...this.#releases.values()]
      .filter((release) => this.#visibleRelease(context, release))
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : b.id - a.id));
    this.#page(context, match, visible, (release) => this.#releaseJson(release));
  }

  async #getRelease(context: Context, id: number): Promise<void> {
    await this.#drain(context);
    const release = this.#releases.get(id);
    if (!this.#visibleRelease(context, release)) return this.#error(context, 404, 'Not Found', 'getRelease');
    this.#json(context, 200, this.#releaseJson(release));
  }

  async #getLatestRelease(context: Context): Promise<void> {
    await this.#drain(context);
    const latest = [...this.#releases.values()]
      .filter((release) => !release.draft && !release.prerelease)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))[0];
    if (!latest) return this.#error(context, 404, 'Not Found', 'getLatestRelease');
    this.#json(context, 200, this.#releaseJson(latest));
  }

  async #getReleaseByTag(context: Context, tag: string): Promise<void> {
    await this.#drain(context);
    // Drafts are never found by tag, whoever asks: they are only visible through the list.
    const release = [...this.#releases.values()].find(
      (candidate) => !candidate.draft && candidate.tagName === tag,
    );
    if (!release) return this.#error(context, 404, 'Not Found', 'getReleaseByTag');
    this.#json(context, 200, this.#releaseJson(release));
  }

  // ---- assets ----

  #assetJson(asset: StoredAsset): Json {
    const release = this.#releases.get(asset.releaseId)!;
    const slug = release.draft ? release.untaggedSlug : release.tagName;
    const uploaded = asset.state === 'uploaded';
    return {
      url: `${this.url}/repos/${this.owner}/${this.repo}/releases/assets/${asset.id}`,
      id: asset.id,
      node_id: nodeId('RA', asset.id),
      name: asset.name,
      label: asset.label,
      uploader: this.#userJson(asset.uploader),
      content_type: asset.contentType,
      state: asset.state,
      size: asset.size,
      digest: uploaded ? `sha256:${createHash('sha256').update(asset.bytes).digest('hex')}` : null,
      download_count: 0,
      created_at: asset.createdAt,
      updated_at: asset.updatedAt,
      browser_download_url: `${HTML_ORIGIN}/${this.owner}/${this.repo}/releases/download/${encodeURIComponent(slug)}/${encodeURIComponent(asset.name)}`,
    };
  }

  async #listReleaseAssets(context: Context, match: Match, releaseId: number): Promise<void> {
    await this.#drain(context);
    const release = this.#releases.get(releaseId);
    if (!this.#visibleRelease(context, release))
      return this.#error(context, 404, 'Not Found', 'listReleaseAssets');
    const all = [...this.#assets.values()].filter((asset) => asset.releaseId === releaseId);
    this.#page(context, match, all, (asset) => this.#assetJson(asset));
  }

  async #getReleaseAsset(context: Context, id: number): Promise<void> {
    await this.#drain(context);
    const asset = this.#assets.get(id);
    if (!asset || !this.#visibleRelease(context, this.#releases.get(asset.releaseId)))
      return this.#error(context, 404, 'Not Found', 'getReleaseAsset');
    // Accept: application/octet-stream asks for the bytes: GitHub redirects to storage.
    if (/application\/octet-stream/i.test(context.request.headers.accept ?? '')) {
      if (asset.state !== 'uploaded') return this.#error(context, 404, 'Not Found', 'getReleaseAsset');
      return this.#redirect(context, `${this.url}/_fake/downloads/${asset.id}`);
    }
    this.#json(context, 200, this.#assetJson(asset));
  }

  async #downloadAsset(context: Context, idText: string): Promise<void> {
    await this.#drain(context);
    const asset = this.#assets.get(Number(idText));
    if (!asset || asset.state !== 'uploaded') {
      return this.#send(context, 404, 'text/plain', Buffer.from('Not Found'), {});
    }
    this.#send(context, 200, asset.contentType, asset.bytes, {
      'content-disposition': `attachment; filename=${encodeURIComponent(asset.name)}`,
    });
  }

  async #updateReleaseAsset(context: Context, id: number): Promise<void> {
    const route: GitHubRoute = 'updateReleaseAsset';
    const body = await this.#jsonBody(context);
    if (body === undefined) return;
    const asset = this.#assets.get(id);
    const release = asset && this.#releases.get(asset.releaseId);
    if (!asset || !this.#visibleRelease(context, release))
      return this.#error(context, 404, 'Not Found', route);
    if (release.immutable && !release.draft) {
      return this.#validationFailed(context, route, {
        resource: 'ReleaseAsset',
        code: 'custom',
        message: 'Cannot update asset on an immutable release',
      });
    }
    const fields = isObject(body) ? body : {};
    for (const field of ['name', 'label'] as const) {
      const value = fields[field];
      if (value !== undefined && typeof value !== 'string')
        return this.#validationFailed(context, route, { resource: 'ReleaseAsset', code: 'invalid', field });
    }
    const rawName = fields['name'] as string | undefined;
    if (rawName !== undefined) {
      if (rawName === '')
        return this.#validationFailed(context, route, {
          resource: 'ReleaseAsset',
          code: 'missing_field',
          field: 'name',
        });
      const name = this.#renameAssets ? githubAssetName(rawName) : rawName;
      const taken = [...this.#assets.values()].some(
        (other) => other.id !== asset.id && other.releaseId === asset.releaseId && other.name === name,
      );
      if (taken)
        return this.#validationFailed(context, route, {
          resource: 'ReleaseAsset',
          code: 'already_exists',
          field: 'name',
        });
      asset.name = name;
    }
    if (typeof fields['label'] === 'string') asset.label = fields['label'];
    asset.updatedAt = iso(this.#now());
    this.#json(context, 200, this.#assetJson(asset));
  }

  // ---- who the token is ----

  /** A personal token's user; an installation token is no user, and GitHub says so with a 403. */
  async #getAuthenticated(context: Context): Promise<void> {
    await this.#drain(context);
    const token = context.token;
    if (!token) return this.#error(context, 401, 'Requires authentication', 'getAuthenticated');
    if (token.user.type === 'Bot')
      return this.#error(context, 403, 'Resource not accessible by integration', 'getAuthenticated');
    this.#json(context, 200, {
      ...this.#userJson(token.user),
      name: null,
      email: null,
      created_at: '2011-01-25T18:44:36Z',
    });
  }

  /** Only `query { viewer { login … } }`: what every token, an installation's too, may ask. */
  async #graphql(context: Context): Promise<void> {
    const body = await this.#jsonBody(context);
    if (body === undefined) return;
    const token = context.token;
    if (!token)
      return this.#json(context, 401, {
        message: 'This endpoint requires you to be authenticated.',
        documentation_url:
          'https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql',
      });
    const query = isObject(body) && typeof body['query'] === 'string' ? body['query'] : '';
    const viewer = /^\s*(?:query\b[^{]*)?\{\s*viewer\s*\{([^{}]*)\}\s*\}\s*$/.exec(query);
    if (!viewer)
      return this.#json(context, 200, {
        errors: [{ message: 'the GitHub API fake answers only `query { viewer { login } }`' }],
      });
    const fields: Record<string, unknown> = {
      login: token.user.login,
      databaseId: token.user.id,
      id: nodeId(token.user.type === 'Bot' ? 'BOT' : 'U', token.user.id),
      __typename: token.user.type,
    };
    const asked = viewer[1]!.split(/[\s,]+/).filter(Boolean);
    const unknown = asked.find((field) => !(field in fields));
    if (unknown)
      return this.#json(context, 200, {
        errors: [
          {
            path: ['query', 'viewer', unknown],
            extensions: { code: 'undefinedField', typeName: token.user.type, fieldName: unknown },
            message: `Field '${unknown}' doesn't exist on type '${token.user.type}'`,
          },
        ],
      });
    this.#json(context, 200, {
      data: { viewer: Object.fromEntries(asked.map((field) => [field, fields[field]])) },
    });
  }

  async #deleteReleaseAsset(context: Context, id: number): Promise<void> {
    await this.#drain(context);
    const asset = this.#assets.get(id);
    const release = asset && this.#releases.get(asset.releaseId);
    if (!asset || !this.#visibleRelease(context, release))
      return this.#error(context, 404, 'Not Found', 'deleteReleaseAsset');
    if (release.immutable && !release.draft) {
      return this.#validationFailed(context, 'deleteReleaseAsset', {
        resource: 'ReleaseAsset',
        code: 'custom',
        message: 'Cannot delete asset from an immutable release',
      });
    }
    this.#assets.delete(id);
    this.#noContent(context);
  }

  async #uploadReleaseAsset(
    context: Context,
    releaseId: number,
    fault: GitHubFault | undefined,
  ): Promise<void> {
    const { request } = context;
    const route: GitHubRoute = 'uploadReleaseAsset';
    const lengthHeader = request.headers['content-length'];
    // GitHub refuses chunked uploads: the size must be announced.
    if (lengthHeader === undefined || !/^\d+$/.test(lengthHeader)) {
      await this.#drain(context);
      return this.#json(context, 400, { message: 'Bad Content-Length: ' });
    }
    const length = Number(lengthHeader);
    if (length > this.#maxUploadBytes) {
      // Too big to read: answer at once and close, as a server does that will not take the body.
      context.bodyDone = true;
      context.response.setHeader('connection', 'close');
      this.#validationFailed(context, route, {
        resource: 'ReleaseAsset',
        code: 'custom',
        field: 'size',
        message: `size must be less than ${this.#maxUploadBytes}`,
      });
      context.response.once('finish', () => request.socket.destroy());
      return;
    }
    const contentType = request.headers['content-type'];
    const rawName = context.url.searchParams.get('name');
    const release = this.#releases.get(releaseId);
    const problem: (() => void) | undefined = !contentType
      ? () => this.#error(context, 422, 'Content-Type header is required', route)
      : rawName === null || rawName === ''
        ? () =>
            this.#validationFailed(context, route, {
              resource: 'ReleaseAsset',
              code: 'missing_field',
              field: 'name',
            })
        : !this.#visibleRelease(context, release)
          ? () => this.#error(context, 404, 'Not Found', route)
          : release.immutable && !release.draft
            ? () => this.#error(context, 422, 'Cannot upload assets to an immutable release.', route)
            : undefined;
    if (problem) {
      await this.#drain(context);
      return problem();
    }
    const name = this.#renameAssets ? githubAssetName(rawName!) : rawName!;
    if ([...this.#assets.values()].some((asset) => asset.releaseId === releaseId && asset.name === name)) {
      await this.#drain(context);
      return this.#validationFailed(context, route, {
        resource: 'ReleaseAsset',
        code: 'already_exists',
        field: 'name',
      });
    }
    // The asset exists from the first byte, as a starter; it becomes 'uploaded' once every byte is in.
    const now = iso(this.#now());
    const asset: StoredAsset = {
      id: this.#nextAssetId++,
      releaseId,
      name,
      label: context.url.searchParams.get('label') ?? '',
      contentType: contentType!,
      state: 'starter',
      size: 0,
      bytes: Buffer.alloc(0),
      createdAt: now,
      updatedAt: now,
      uploader: context.token!.user,
    };
    this.#assets.set(asset.id, asset);
    const cutAfter = fault?.kind === 'interrupt-upload' ? fault.afterBytes : undefined;
    const bytes = await this.#readUpload(context, length, cutAfter);
    asset.bytes = bytes.data;
    if (!bytes.complete) return;
    asset.state = 'uploaded';
    asset.size = bytes.data.length;
    asset.updatedAt = iso(this.#now());
    this.#json(context, 201, this.#assetJson(asset));
  }

  /** Streams the upload in; `complete` is false when the connection ended early (or was cut). */
  async #readUpload(
    context: Context,
    length: number,
    cutAfter: number | undefined,
  ): Promise<{ data: Buffer; complete: boolean }> {
    const { request } = context;
    context.bodyDone = true;
    const chunks: Buffer[] = [];
    let received = 0;
    try {
      for await (const chunk of request) {
        const buffer = chunk as Buffer;
        if (cutAfter !== undefined && received + buffer.length > cutAfter) {
          chunks.push(buffer.subarray(0, Math.max(0, cutAfter - received)));
          received = cutAfter;
          request.socket.destroy();
          break;
        }
        chunks.push(buffer);
        received += buffer.length;
        context.record.bodyBytes = received;
      }
    } catch {
      // The client went away mid-upload: what arrived stays, as a starter.
    }
    context.record.bodyBytes = received;
    const data = Buffer.concat(chunks);
    return { data, complete: request.complete && received === length && cutAfter === undefined };
  }

  // ---------------------------------------------------------------------------------------------------
  // Bodies and answers
  // ---------------------------------------------------------------------------------------------------

  /** Reads and discards whatever body remains, so the connection stays usable. */
  async #drain(context: Context): Promise<void> {
    if (context.bodyDone) return;
    context.bodyDone = true;
    try {
      for await (const chunk of context.request) context.record.bodyBytes += (chunk as Buffer).length;
    } catch {
      // The client went away; there is nothing left to answer.
    }
  }

  /** The parsed JSON body, or undefined once 400 "Problems parsing JSON" has been answered. */
  async #jsonBody(context: Context): Promise<unknown> {
    context.bodyDone = true;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of context.request) {
      size += (chunk as Buffer).length;
      if (size <= JSON_BODY_CAP) chunks.push(chunk as Buffer);
    }
    context.record.bodyBytes = size;
    const text = Buffer.concat(chunks).toString('utf8');
    // No body at all reads as no parameters; the route then says what is missing.
    if (text === '') return {};
    try {
      const parsed = JSON.parse(text) as unknown;
      context.record.body = parsed;
      return parsed;
    } catch {
      context.record.body = text;
      this.#error(context, 400, 'Problems parsing JSON');
      return undefined;
    }
  }

  /** One page of a list, with GitHub's Link header. */
  #page<T>(context: Context, match: Match, all: T[], toJson: (item: T) => Json): void {
    const params = context.url.searchParams;
    const perPageText = params.get('per_page');
    const perPageNumber = perPageText === null ? NaN : Number.parseInt(perPageText, 10);
    const perPage = perPageNumber >= 1 ? Math.min(perPageNumber, 100) : 30;
    const pageNumber = Number.parseInt(params.get('page') ?? '1', 10);
    const page = pageNumber >= 1 ? pageNumber : 1;
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const items = all.slice((page - 1) * perPage, page * perPage).map(toJson);
    const linkTo = (target: number): string => {
      const query = new URLSearchParams(params);
      query.delete('page');
      query.append('page', String(target));
      return `<${this.url}/repositories/${this.repoId}${match.rest}?${query.toString()}>`;
    };
    const links: string[] = [];
    if (page > 1) links.push(`${linkTo(Math.min(page - 1, last))}; rel="prev"`);
    if (page < last) links.push(`${linkTo(page + 1)}; rel="next"`, `${linkTo(last)}; rel="last"`);
    if (page > 1) links.push(`${linkTo(1)}; rel="first"`);
    this.#json(context, 200, items, links.length > 0 ? { link: links.join(', ') } : {});
  }

  #validationFailed(context: Context, route: GitHubRoute, error: Json): void {
    this.#json(context, 422, {
      message: 'Validation Failed',
      errors: [error],
      documentation_url: DOCS_URL[route],
      status: '422',
    });
  }

  #error(context: Context, status: number, message: string, route?: GitHubRoute): void {
    this.#json(context, status, errorBody(status, message, route ? DOCS_URL[route] : DOCS));
  }

  #noContent(context: Context): void {
    if (this.#replaceAfterWork(context)) return;
    context.record.status = 204;
    context.response.writeHead(204, this.#commonHeaders(context));
    context.response.end();
  }

  #redirect(context: Context, location: string): void {
    context.record.status = 302;
    context.response.writeHead(302, { ...this.#commonHeaders(context), location, 'content-length': 0 });
    context.response.end();
  }

  #json(context: Context, status: number, body: unknown, headers: Record<string, string> = {}): void {
    // An *-after-work fault replaces successful answers only: refusals still go out as they are.
    if (status < 400 && this.#replaceAfterWork(context)) return;
    this.#send(
      context,
      status,
      'application/json; charset=utf-8',
      Buffer.from(JSON.stringify(body)),
      headers,
    );
  }

  /** Sends the *-after-work fault instead of the answer, if one is pending. */
  #replaceAfterWork(context: Context): boolean {
    const fault = context.afterWork;
    if (!fault) return false;
    context.afterWork = undefined;
    if (fault.kind === 'reset-after-work') {
      context.request.socket.destroy();
      return true;
    }
    if (fault.kind === 'error-after-work') {
      const body = fault.body ?? { message: 'Bad Gateway' };
      this.#json(context, fault.status, body, fault.headers ?? {});
      return true;
    }
    return false;
  }

  #send(
    context: Context,
    status: number,
    contentType: string,
    bytes: Buffer,
    headers: Record<string, string>,
  ) {
    const { response } = context;
    if (response.headersSent || response.destroyed) return;
    context.record.status = status;
    response.writeHead(status, {
      ...this.#commonHeaders(context),
      'content-type': contentType,
      'content-length': bytes.length,
      ...headers,
    });
    response.end(bytes);
  }

  #commonHeaders(context: Context): Record<string, string> {
    const used = this.#rate.limit - this.#rate.remaining;
    return {
      'x-github-api-version-selected': '2022-11-28',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
      ...(context.token || context.request.headers.authorization === undefined
        ? {
            'x-ratelimit-limit': String(this.#rate.limit),
            'x-ratelimit-remaining': String(this.#rate.remaining),
            'x-ratelimit-reset': String(this.#rate.resetEpoch),
            'x-ratelimit-used': String(used),
            'x-ratelimit-resource': 'core',
          }
        : {}),
    };
  }
}

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

/** The route for a method and the path after the repository, with its parameters. */
function routeOf(method: string, rest: string[]): { route: GitHubRoute; params: string[] } | undefined {
  const [a, b, c] = rest;
  const n = rest.length;
  const numeric = (text: string | undefined): boolean => text !== undefined && /^\d+$/.test(text);
  if (n === 0) return method === 'GET' ? { route: 'getRepo', params: [] } : undefined;
  if (a === 'issues') {
    if (n === 3 && numeric(b) && c === 'comments') {
      if (method === 'GET') return { route: 'listComments', params: [b!] };
      if (method === 'POST') return { route: 'createComment', params: [b!] };
    }
    if (n === 3 && b === 'comments' && numeric(c)) {
      if (method === 'GET') return { route: 'getComment', params: [c!] };
      if (method === 'PATCH') return { route: 'updateComment', params: [c!] };
      if (method === 'DELETE') return { route: 'deleteComment', params: [c!] };
    }
    return undefined;
  }
  if (a !== 'releases') return undefined;
  if (n === 1 && method === 'GET') return { route: 'listReleases', params: [] };
  if (n === 2 && b === 'latest' && method === 'GET') return { route: 'getLatestRelease', params: [] };
  if (n === 2 && numeric(b) && method === 'GET') return { route: 'getRelease', params: [b!] };
  // A tag may contain slashes: everything after /tags/ is the tag.
  if (n >= 3 && b === 'tags' && method === 'GET')
    return { route: 'getReleaseByTag', params: [rest.slice(2).join('/')] };
  if (n === 3 && numeric(b) && c === 'assets') {
    if (method === 'GET') return { route: 'listReleaseAssets', params: [b!] };
    if (method === 'POST') return { route: 'uploadReleaseAsset', params: [b!] };
  }
  if (n === 3 && b === 'assets' && numeric(c)) {
    if (method === 'GET') return { route: 'getReleaseAsset', params: [c!] };
    if (method === 'PATCH') return { route: 'updateReleaseAsset', params: [c!] };
    if (method === 'DELETE') return { route: 'deleteReleaseAsset', params: [c!] };
  }
  return undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Resolves true after `ms`, or false as soon as the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** A bug in the fake must show up as a 500 in the test that hit it, not as a hang. */
function answerInternalError(response: ServerResponse, error: unknown): void {
  if (!response.socket || response.socket.destroyed) return;
  console.error('github api fake: request handler failed', error);
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
  response.end(
    JSON.stringify({ message: `fake error: ${error instanceof Error ? error.message : String(error)}` }),
  );
}
