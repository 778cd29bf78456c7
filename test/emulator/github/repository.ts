/**
 * The repository the fake serves, and what every resource's JSON shares with it: links on both
 * origins and github.com, node ids, timestamps.
 */
import type { Exchange } from './exchange.ts';
import type { Handler } from './routes.ts';

/** Where `html_url`s point, as github.com's. */
export const HTML_ORIGIN = 'https://github.com';

export interface Repository {
  /** The API origin (api.github.com's part). */
  url: string;
  /** The uploads origin (uploads.github.com's part). */
  uploadsUrl: string;
  owner: string;
  repo: string;
  id: number;
  /** A private repository also needs read permission for reads. */
  private: boolean;
}

/** `…/repos/{owner}/{repo}` on the API origin. */
export function apiRepoUrl(repository: Repository): string {
  return `${repository.url}/repos/${repository.owner}/${repository.repo}`;
}

/** The repository's page on github.com. */
export function htmlRepoUrl(repository: Repository): string {
  return `${HTML_ORIGIN}/${repository.owner}/${repository.repo}`;
}

/** GitHub's timestamps: ISO 8601 to the second. */
export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function nodeId(prefix: string, id: number): string {
  return `${prefix}_kwDO${Buffer.from(`fake:${id}`).toString('base64url')}`;
}

/** Strictly increasing creation times, so ordering by time is stable within one millisecond. */
export class CreationClock {
  #lastMs = 0;

  now(): number {
    this.#lastMs = Math.max(Date.now(), this.#lastMs + 1);
    return this.#lastMs;
  }
}

/** GET /repos/{owner}/{repo}: `permissions.push` says whether the token may write contents. */
export function getRepo(repository: Repository): Handler {
  return async (exchange: Exchange) => {
    await exchange.drain();
    const push = exchange.token?.permissions.contents === 'write';
    exchange.json(200, {
      id: repository.id,
      node_id: nodeId('R', repository.id),
      name: repository.repo,
      full_name: `${repository.owner}/${repository.repo}`,
      private: repository.private,
      visibility: repository.private ? 'private' : 'public',
      owner: { login: repository.owner, id: 9_919_000, type: 'Organization' },
      html_url: htmlRepoUrl(repository),
      url: apiRepoUrl(repository),
      default_branch: 'main',
      permissions: { admin: false, maintain: false, push, triage: push, pull: true },
    });
  };
}
