/**
 * One comment per workflow step on a pull request, found again by a hidden marker and updated in
 * place: a re-run or a later run never adds a second one, and never takes over someone else's.
 */
import { Inputs } from '../constants.ts';
import { withRetries, type RetryContext } from '../net/retry.ts';
import { policy } from '../policy.ts';
import type { Delivery } from './delivery.ts';
import {
  classifyGithub,
  githubCalls,
  isGithubError,
  octokitFor,
  plainUrl,
  type GithubLimits,
  type GithubRun,
  type Octokit,
} from './github.ts';

export interface CommentSettings {
  prComment: boolean;
  githubToken: string;
}

/** The run's page, which the comment links for what it leaves out. */
export interface RunPage {
  serverUrl: string;
  repository: string;
  runId: string;
}

/** The pull request's comment (`pr_comment`); it never fails the step, but says what would fix it. */
export function commentDelivery(settings: CommentSettings, github: GithubRun, run: RunPage): Delivery {
  return {
    tells: true,
    async deliver(context, ending) {
      if (!settings.prComment) return undefined;
      const { log, report } = context;
      if (github.pullRequest === undefined) {
        log.info(
          `${Inputs.PrComment}: this run is not for a pull request (event ${github.eventName || 'unknown'}); no comment written.`,
        );
        return undefined;
      }
      const marker = commentMarker(github);
      const body = report.comment(context.endings, ending, {
        // The marker and its line break go first.
        maxChars: policy.report.commentMaxChars - marker.length - 1,
        summaryUrl: plainUrl(`${run.serverUrl}/${run.repository}/actions/runs/${run.runId}`),
      });
      try {
        const posted = await upsertComment(
          await octokitFor(settings.githubToken, github.apiUrl, context),
          { owner: github.owner, repo: github.repo, pullRequest: github.pullRequest },
          marker,
          body,
          githubCalls(context, github.apiUrl),
        );
        if (posted.url) report.commented(posted.url);
        log.info(
          `${posted.created ? 'Wrote' : 'Updated'} the pull request comment${posted.url ? `: ${posted.url}` : '.'}`,
        );
      } catch (error) {
        if (error instanceof CommentNotAllowedError)
          log.warning(
            `${Inputs.PrComment}: GitHub refused the comment (HTTP ${error.status}). ${Inputs.GithubToken} needs \`pull-requests: write\`; ` +
              `a pull request from a fork gets a read-only GITHUB_TOKEN, so skip ${Inputs.PrComment} there.`,
          );
        else
          log.warning(
            `${Inputs.PrComment}: the comment could not be written: ${error instanceof Error ? error.message : String(error)}`,
          );
      }
      return undefined;
    },
  };
}

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
class CommentNotAllowedError extends Error {
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

async function upsertComment(
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
 * The comment that starts with the marker and was written by this token's identity: anyone, another
 * app's bot too, can paste the marker into a comment of their own. Who the token is is asked only
 * once a comment carries the marker.
 */
async function findMine(
  octokit: Octokit,
  target: CommentTarget,
  marker: string,
  context: Context,
): Promise<Comment | undefined> {
  let me: Promise<string> | undefined;
  const pages = octokit.paginate.iterator(octokit.rest.issues.listComments, {
    owner: target.owner,
    repo: target.repo,
    issue_number: target.pullRequest,
    per_page: context.limits.perPage,
  });
  // Oldest first: the step's comment was written on its first run, so it is usually on page one.
  let read = 0;
  for await (const page of pages) {
    for (const comment of page.data as Comment[]) {
      const author = comment.user?.login;
      if (!author || !comment.body?.startsWith(marker)) continue;
      if (author.toLowerCase() === (await (me ??= tokenLogin(octokit))).toLowerCase()) return comment;
    }
    if (++read >= context.limits.maxPages) return undefined;
  }
  return undefined;
}

/**
 * The login this token writes as. GET /user answers only a person's token (an installation token,
 * the job's GITHUB_TOKEN included, gets 403); GraphQL's viewer answers every kind: `octocat` for a
 * personal token, `github-actions[bot]` for the job token, `<app>[bot]` for a GitHub App's.
 */
async function tokenLogin(octokit: Octokit): Promise<string> {
  const { viewer } = await octokit.graphql<{ viewer?: { login?: unknown } }>('query { viewer { login } }');
  const login = viewer?.login;
  if (typeof login !== 'string' || login === '')
    throw new Error("GitHub's answer did not say which account the token belongs to");
  return login;
}
