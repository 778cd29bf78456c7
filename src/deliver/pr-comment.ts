/**
 * One comment per workflow step on a pull request, found again by a hidden marker and updated in
 * place: a re-run or a later run never adds a second one, and never takes over someone else's.
 */
import { withRetries, type RetryContext } from '../net/retry.ts';
import {
  classifyGithub,
  findInPages,
  isGithubError,
  plainUrl,
  type GithubLimits,
  type GithubRun,
  type Octokit,
} from './github.ts';

export interface CommentTarget {
  owner: string;
  repo: string;
  pullRequest: number;
}

export interface PostedComment {
  /** Undefined when GitHub's answer held no plain https link. */
  url: string | undefined;
  created: boolean;
}

/** A token that may not write to the pull request (a fork's read-only GITHUB_TOKEN, say). */
export class CommentNotAllowedError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'CommentNotAllowedError';
    this.status = status;
  }
}

/** Who the comment belongs to: the workflow, the job and the step, so two steps keep two comments. */
export function commentMarker(run: GithubRun): string {
  const owner = [run.workflowRef, run.job, run.step].join(' / ').replace(/--+>?|[<>]/g, '_');
  return `<!-- kling-video-to-audio: ${owner} -->`;
}

type Context = RetryContext & { deadlineMs: number; limits: GithubLimits };

interface Comment {
  id: number;
  body?: string;
  user?: { login?: string; type?: string } | null;
}

export async function upsertComment(
  octokit: Octokit,
  target: CommentTarget,
  marker: string,
  body: string,
  context: Context,
): Promise<PostedComment> {
  const text = `${marker}\n${body}`;
  const retry = <T>(operation: string, call: () => Promise<T>) =>
    withRetries(
      {
        operation,
        classify: classifyGithub(() => context.clock.now(), context.limits),
        deadlineMs: context.deadlineMs,
      },
      call,
      context,
    );
  const { owner, repo, pullRequest } = target;
  try {
    const mine = await retry("Looking for the step's pull request comment", () =>
      findMine(octokit, target, marker, context),
    );
    if (mine) {
      const { data } = await retry('Updating the pull request comment', () =>
        octokit.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body: text }),
      );
      return { url: plainUrl(data.html_url), created: false };
    }
    const { data } = await retry('Writing the pull request comment', () =>
      octokit.rest.issues.createComment({ owner, repo, issue_number: pullRequest, body: text }),
    );
    return { url: plainUrl(data.html_url), created: true };
  } catch (error) {
    if (isGithubError(error) && (error.status === 401 || error.status === 403 || error.status === 404))
      throw new CommentNotAllowedError(error.status, error.message);
    throw error;
  }
}

/**
 * The comment that starts with the marker and was written by this token's identity: a bot for the
 * job's token, else the user GET /user names. Anyone can paste the marker into a comment of their own.
 */
async function findMine(
  octokit: Octokit,
  target: CommentTarget,
  marker: string,
  context: Context,
): Promise<Comment | undefined> {
  let me: Promise<string | undefined> | undefined;
  const whoAmI = () =>
    (me ??= octokit.rest.users.getAuthenticated().then(
      ({ data }) => data.login,
      () => undefined,
    ));
  const candidates: Comment[] = [];
  const pages = octokit.paginate.iterator(octokit.rest.issues.listComments, {
    owner: target.owner,
    repo: target.repo,
    issue_number: target.pullRequest,
    per_page: context.limits.perPage,
  });
  // Oldest first: the step's comment was written on its first run, so it is usually on page one.
  const bot = await findInPages<Comment>(
    pages,
    (c) => {
      if (!c.body?.startsWith(marker)) return false;
      if (c.user?.type === 'Bot') return true;
      candidates.push(c);
      return false;
    },
    context.limits.maxPages,
  );
  if (bot) return bot;
  if (candidates.length === 0) return undefined;
  const login = await whoAmI();
  return login ? candidates.find((c) => c.user?.login === login) : undefined;
}
