/**
 * Tokens and permissions: which tokens the fake accepts and as whom, and which GitHub App permission
 * each route needs. A bad token is refused before anything else; a write without the permission gets
 * 403 "Resource not accessible by integration" with `x-accepted-github-permissions`, as a fork PR's
 * GITHUB_TOKEN does.
 */
import type { Exchange } from './exchange.ts';
import type { Access, GitHubRoute, GitHubUser, TokenOptions, TokenPermissions } from './types.ts';
import { ACTIONS_BOT } from './users.ts';

/** Ready-made permission sets. */
export const tokenPresets = {
  /** GITHUB_TOKEN with `permissions: write-all` (or the permissive repository default). */
  writeAll: { contents: 'write', issues: 'write', pullRequests: 'write' },
  /** GITHUB_TOKEN on a pull_request from a fork: everything read-only, whatever the workflow asks. */
  forkPullRequest: { contents: 'read', issues: 'read', pullRequests: 'read' },
  /** `permissions: { pull-requests: write }` only: comments yes, releases no. */
  pullRequestsWrite: { contents: 'read', issues: 'none', pullRequests: 'write' },
} as const satisfies Record<string, TokenPermissions>;

export const DEFAULT_TOKEN = 'ghs_fakeGitHubApiToken0000000000000000';

export interface TokenRecord {
  permissions: Required<TokenPermissions>;
  user: GitHubUser;
}

type Need = { scopes: (keyof TokenPermissions)[]; level: 'read' | 'write' };

/** Which permission a route needs: comments accept issues or pull_requests, releases need contents. */
const NEEDS: Record<GitHubRoute, Need | null> = {
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

export class Tokens {
  readonly #tokens = new Map<string, TokenRecord>();

  /** Accepts `token` from now on; unset scopes are 'none' (the metadata read every token has aside). */
  add(token: string, permissions: TokenPermissions, options: TokenOptions = {}): void {
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

  revoke(token: string): void {
    this.#tokens.delete(token);
  }

  /**
   * Sets the exchange's token from `Authorization: token X` or `Bearer X`; false when the header
   * names no accepted token. No header at all is an anonymous request, not a refusal.
   */
  authenticate(exchange: Exchange): boolean {
    const header = exchange.request.headers.authorization;
    if (header === undefined) return true;
    const parsed = /^(token|bearer)\s+(\S+)\s*$/i.exec(header);
    const token = parsed ? this.#tokens.get(parsed[2]!) : undefined;
    exchange.token = token;
    return token !== undefined;
  }
}

/** Answers the refusal and returns false when the caller may not use `route`. */
export async function authorize(
  exchange: Exchange,
  route: GitHubRoute,
  isPrivate: boolean,
): Promise<boolean> {
  const need = NEEDS[route];
  if (!need) return true;
  exchange.response.setHeader(
    'x-accepted-github-permissions',
    need.scopes.map((scope) => `${SCOPE_WIRE_NAME[scope]}=${need.level}`).join('; '),
  );
  const token = exchange.token;
  if (need.level === 'read') {
    // Public data is readable by anyone, with or without a token.
    if (!isPrivate) return true;
    if (!token) return refuse(exchange, 404, 'Not Found', route);
  } else if (!token) {
    return refuse(exchange, 401, 'Requires authentication', route);
  }
  if (need.scopes.some((scope) => atLeast(token.permissions[scope], need.level))) return true;
  return refuse(exchange, 403, 'Resource not accessible by integration', route);
}

async function refuse(
  exchange: Exchange,
  status: number,
  message: string,
  route: GitHubRoute,
): Promise<false> {
  await exchange.drain();
  exchange.error(status, message, route);
  return false;
}

function atLeast(access: Access, level: 'read' | 'write'): boolean {
  return level === 'read' ? access !== 'none' : access === 'write';
}

/** Whether the token may write contents: drafts are visible only to it. */
export function canPush(exchange: Exchange): boolean {
  return exchange.token?.permissions.contents === 'write';
}
