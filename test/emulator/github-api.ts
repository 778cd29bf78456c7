/**
 * A fake of the GitHub REST endpoints the action uses (issue comments, releases and their assets,
 * the repository, who a token is), on 127.0.0.1, driven by the real Octokit from `@actions/github`.
 *
 * It serves two origins, like github.com does: `url` plays api.github.com and `uploadsUrl` plays
 * uploads.github.com. A release's `upload_url` points at `uploadsUrl`, and asset uploads are only
 * served there (the API origin answers them 404, as api.github.com does), so a client that builds
 * the upload URL itself instead of using `upload_url` fails here as it would in production.
 *
 * Wire behaviour copied from GitHub (sources: docs.github.com REST pages for pagination, comments,
 * releases and assets; error bodies quoted in public issue threads, e.g. softprops/action-gh-release#653,
 * concourse/github-release-resource#151, uutils/coreutils#13839, cli/cli#5008, denoland/deno#24197;
 * how actions learn who their token is: marocchino/sticky-pull-request-comment, fullsend-ai/fullsend#1953).
 * Error bodies are `{"message", "documentation_url", "status": "<code as a string>"}`. Each resource
 * lives in github/ with what it copies: comments.ts, releases.ts (assets and uploads), users.ts
 * (GET /user, GraphQL's viewer); and the plumbing they share: tokens.ts (tokens and permissions),
 * pagination.ts (Link headers), rate-limit.ts, faults.ts, routes.ts, exchange.ts (bodies, answers).
 * This file composes them: one request goes record → fault → token → rate limit → permission → route.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { closeServer, handleRequests, listen, pause } from './loopback-server.ts';
import { Comments } from './github/comments.ts';
import { Exchange } from './github/exchange.ts';
import { FaultQueue } from './github/faults.ts';
import { RateLimit, type RateBudget } from './github/rate-limit.ts';
import { Releases, type AssetOptions, type ReleaseOptions } from './github/releases.ts';
import { CreationClock, getRepo, HTML_ORIGIN, type Repository } from './github/repository.ts';
import { matchRoute, type Handler } from './github/routes.ts';
import { authorize, DEFAULT_TOKEN, tokenPresets, Tokens } from './github/tokens.ts';
import type {
  GitHubApiOptions,
  GitHubFaultRule,
  GitHubRecordedRequest,
  GitHubRoute,
  GitHubUser,
  StoredAsset,
  StoredComment,
  StoredRelease,
  TokenOptions,
  TokenPermissions,
} from './github/types.ts';
import { ACTIONS_BOT, userRoutes } from './github/users.ts';

export { githubFaults } from './github/faults.ts';
export { githubAssetName } from './github/releases.ts';
export { tokenPresets } from './github/tokens.ts';
export type * from './github/types.ts';

/** GitHub's per-asset limit. */
const TWO_GIB = 2 * 1024 * 1024 * 1024;

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

  readonly #servers: Server[];
  readonly #repository: Repository;
  readonly #tokens = new Tokens();
  readonly #rate: RateLimit;
  readonly #faults = new FaultQueue();
  readonly #comments: Comments;
  readonly #releases: Releases;
  readonly #routes: Record<GitHubRoute, Handler>;
  readonly #requests: GitHubRecordedRequest[] = [];
  readonly #awaited = new Set<{ route: GitHubRoute; arrived: (request: GitHubRecordedRequest) => void }>();
  readonly #closing = new AbortController();

  private constructor(
    servers: { api: Server; uploads: Server },
    repository: Repository,
    options: GitHubApiOptions,
  ) {
    this.#servers = [servers.api, servers.uploads];
    this.#repository = repository;
    this.url = repository.url;
    this.uploadsUrl = repository.uploadsUrl;
    this.owner = repository.owner;
    this.repo = repository.repo;
    this.repoId = repository.id;
    this.#rate = new RateLimit(options.rateLimit);
    const clock = new CreationClock();
    this.#comments = new Comments(repository, clock);
    this.#releases = new Releases(repository, clock, {
      maxUploadBytes: options.maxUploadBytes ?? TWO_GIB,
      renameAssets: options.renameAssets ?? false,
    });
    this.#routes = {
      getRepo: getRepo(repository),
      ...this.#comments.routes,
      ...this.#releases.routes,
      ...userRoutes(repository),
    } satisfies Record<GitHubRoute, Handler>;
    this.addToken(DEFAULT_TOKEN, tokenPresets.writeAll);
    for (const [token, permissions] of Object.entries(options.tokens ?? {}))
      this.addToken(token, permissions);
    for (const [host, server] of Object.entries(servers) as ['api' | 'uploads', Server][])
      handleRequests(
        server,
        'github api fake',
        (request, response) => this.#handle(request, response, host),
        (message) => ({
          contentType: 'application/json; charset=utf-8',
          body: JSON.stringify({ message: `fake error: ${message}` }),
        }),
      );
  }

  static async start(options: GitHubApiOptions = {}): Promise<GitHubApi> {
    const api = createServer();
    const uploads = createServer();
    const [url, uploadsUrl] = await Promise.all([listen(api), listen(uploads)]);
    const repository: Repository = {
      url,
      uploadsUrl,
      owner: options.owner ?? 'octo-org',
      repo: options.repo ?? 'octo-repo',
      id: options.repoId ?? 1296269,
      private: options.private ?? false,
    };
    return new GitHubApi({ api, uploads }, repository, options);
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
    this.#tokens.add(token, permissions, options);
  }

  /** The token is refused (401 Bad credentials) from now on, as after the job ends. */
  revokeToken(token: string): void {
    this.#tokens.revoke(token);
  }

  /** Replaces the primary rate-limit budget; at 0 remaining every request gets the rate-limit 403. */
  setRateLimit(budget: { limit?: number; remaining: number; resetInSeconds?: number }): void {
    this.#rate.set(budget);
  }

  get rateLimit(): RateBudget {
    return this.#rate.budget;
  }

  // ---- faults and records ----

  inject(rule: GitHubFaultRule): void {
    this.#faults.add(rule);
  }

  /** Every request received, in arrival order. */
  get requests(): readonly GitHubRecordedRequest[] {
    return this.#requests;
  }

  /**
   * Resolves with the next request on `route` to arrive, as soon as it is recorded (before it is
   * answered): lets a test act at a moment of the client's, however long a loaded machine took.
   */
  nextRequest(route: GitHubRoute): Promise<GitHubRecordedRequest> {
    return new Promise((arrived) => this.#awaited.add({ route, arrived }));
  }

  // ---- comments ----

  /** Adds `count` comments to an issue or pull request (by `login`, default another user), in order. */
  seedComments(
    issueNumber: number,
    count: number,
    options: { body?: (index: number) => string; login?: string } = {},
  ): StoredComment[] {
    const user: GitHubUser = { login: options.login ?? 'octocat', id: 583231, type: 'User' };
    return Array.from({ length: count }, (_, index) => {
      const body = options.body?.(index) ?? `Seeded comment ${index + 1}`;
      return { ...this.#comments.add(issueNumber, body, user) };
    });
  }

  /** Adds one comment, by default as github-actions[bot] (as if an earlier run had posted it). */
  addComment(issueNumber: number, body: string, user: GitHubUser = ACTIONS_BOT): StoredComment {
    return { ...this.#comments.add(issueNumber, body, user) };
  }

  /** The comments of an issue or pull request, oldest first (the order GitHub lists them in). */
  comments(issueNumber: number): StoredComment[] {
    return this.#comments.of(issueNumber).map((comment) => ({ ...comment }));
  }

  // ---- releases and assets ----

  createRelease(options: ReleaseOptions): StoredRelease {
    return { ...this.#releases.create(options) };
  }

  /** Publishes a draft (optionally making it immutable, as the repository setting does). */
  publishRelease(releaseId: number, options: { immutable?: boolean } = {}): StoredRelease {
    return { ...this.#releases.publish(releaseId, options) };
  }

  releases(): StoredRelease[] {
    return this.#releases.all().map((release) => ({ ...release }));
  }

  /** Seeds an asset (e.g. a `starter` left by an earlier broken upload). */
  addAsset(releaseId: number, asset: AssetOptions): StoredAsset {
    return { ...this.#releases.addAsset(releaseId, asset) };
  }

  /** A release's assets (starter ones included), oldest first, with their stored bytes. */
  assets(releaseId: number): StoredAsset[] {
    return this.#releases.assetsOf(releaseId).map((asset) => ({ ...asset }));
  }

  /** Stops listening on both origins and ends every connection, keep-alive ones included. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    await Promise.all(this.#servers.map(closeServer));
  }

  // ---- one request ----

  async #handle(request: IncomingMessage, response: ServerResponse, host: 'api' | 'uploads'): Promise<void> {
    const url = new URL(request.url ?? '/', host === 'api' ? this.url : this.uploadsUrl);
    const method = request.method ?? 'GET';
    const match = matchRoute(method, url.pathname, host, this.#repository);
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
    this.#record(record);
    const exchange = new Exchange(request, response, record, url, this.#rate);

    const fault = this.#faults.take(record.route);
    if (fault?.kind === 'delay' && !(await pause(fault.ms, this.#closing.signal))) return;
    if (fault?.kind === 'hang') return exchange.hang(this.#closing.signal);
    if (fault?.kind === 'reset') {
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'error-after-work' || fault?.kind === 'reset-after-work') exchange.afterWork = fault;
    if (fault?.kind === 'error' || fault?.kind === 'raw') {
      await exchange.drain();
      if (fault.kind === 'error') return exchange.json(fault.status, fault.body, fault.headers ?? {});
      return exchange.send(fault.status, fault.contentType, Buffer.from(fault.body), {});
    }

    // GitHub checks credentials first: a bad token is 401 even on a path that does not exist.
    if (!this.#tokens.authenticate(exchange)) {
      await exchange.drain();
      return exchange.error(401, 'Bad credentials', match?.route);
    }
    if (!match) {
      await exchange.drain();
      return exchange.error(404, 'Not Found');
    }
    // Storage, not the API: no rate limit, no permission.
    if (match.route !== 'downloadAsset') {
      if (!(await this.#rate.spend(exchange))) return;
      if (!(await authorize(exchange, match.route, this.#repository.private))) return;
    }
    await this.#routes[match.route](exchange, match, fault);
  }

  #record(record: GitHubRecordedRequest): void {
    this.#requests.push(record);
    for (const waiter of this.#awaited)
      if (waiter.route === record.route) {
        this.#awaited.delete(waiter);
        waiter.arrived(record);
      }
  }
}
