/**
 * Which route a request is: Octokit's method names for GitHub's paths, both the
 * `/repos/{owner}/{repo}/…` form and the `/repositories/{id}/…` form Link headers use, on the origin
 * that serves it (uploads only on the uploads origin, everything else only on the API origin).
 */
import { decodeSegment } from '../loopback-server.ts';
import type { Exchange } from './exchange.ts';
import { DOCS } from './faults.ts';
import type { Repository } from './repository.ts';
import type { GitHubFault, GitHubRoute } from './types.ts';

export interface Match {
  route: GitHubRoute;
  /** Path after `/repos/{o}/{r}` or `/repositories/{id}`, for Link headers. */
  rest: string;
  params: string[];
}

/** Answers one route's requests; `fault` is the one that fired on it, if any. */
export type Handler = (exchange: Exchange, match: Match, fault: GitHubFault | undefined) => Promise<void>;

export const DOCS_URL: Record<GitHubRoute, string> = {
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

export function matchRoute(
  method: string,
  pathname: string,
  host: 'api' | 'uploads',
  repository: Repository,
): Match | undefined {
  const segments = pathname.split('/').slice(1).map(decodeSegment);
  let rest: string[];
  if (segments[0] === 'repos' && segments.length >= 3) {
    if (
      segments[1]!.toLowerCase() !== repository.owner.toLowerCase() ||
      segments[2]!.toLowerCase() !== repository.repo.toLowerCase()
    )
      return undefined;
    rest = segments.slice(3);
  } else if (segments[0] === 'repositories' && segments.length >= 2) {
    if (segments[1] !== String(repository.id)) return undefined;
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
