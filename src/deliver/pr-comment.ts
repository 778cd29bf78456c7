/**
 * One comment per workflow step on a pull request, found again by a hidden marker and updated in
 * place: a re-run or a later run never adds a second one.
 */
import { withRetries, type RetryContext } from '../net/retry.ts';
import { classifyGithub, isGithubError, type GithubRun, type Octokit } from './github.ts';

export interface CommentTarget {
  owner: string;
  repo: string;
  pullRequest: number;
}

export interface PostedComment {
  url: string;
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

export async function upsertComment(
  octokit: Octokit,
  target: CommentTarget,
  marker: string,
  body: string,
  context: RetryContext & { deadlineMs: number },
): Promise<PostedComment> {
  const text = `${marker}\n${body}`;
  const retry = <T>(operation: string, call: () => Promise<T>) =>
    withRetries(
      {
        operation,
        classify: classifyGithub(() => context.clock.now(), { name: 'github', attempts: 3 }),
        deadlineMs: context.deadlineMs,
      },
      call,
      context,
    );
  const { owner, repo, pullRequest } = target;
  try {
    // Every page: on a busy pull request the step's comment may be far back.
    const comments = await retry('Listing the pull request comments', () =>
      octokit.paginate(octokit.rest.issues.listComments, {
        owner,
        repo,
        issue_number: pullRequest,
        per_page: 100,
      }),
    );
    const mine = comments.find((comment) => comment.body?.includes(marker));
    if (mine) {
      const { data } = await retry('Updating the pull request comment', () =>
        octokit.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body: text }),
      );
      return { url: data.html_url, created: false };
    }
    const { data } = await retry('Writing the pull request comment', () =>
      octokit.rest.issues.createComment({ owner, repo, issue_number: pullRequest, body: text }),
    );
    return { url: data.html_url, created: true };
  } catch (error) {
    if (isGithubError(error) && (error.status === 401 || error.status === 403 || error.status === 404))
      throw new CommentNotAllowedError(error.status, error.message);
    throw error;
  }
}
