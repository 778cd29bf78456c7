/** The GitHub REST fake's public types: routes, faults, recorded requests, and what it stores. */
import type { IncomingHttpHeaders } from 'node:http';

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
