/**
 * Issue comments (a pull request's conversation is its issue's): listed oldest first, created,
 * read, edited and deleted; a body over 65,536 characters is 422.
 */
import { isObject } from '../loopback-server.ts';
import type { Exchange, Json } from './exchange.ts';
import { answerPage } from './pagination.ts';
import { apiRepoUrl, htmlRepoUrl, iso, nodeId, type CreationClock, type Repository } from './repository.ts';
import type { Handler, Match } from './routes.ts';
import type { GitHubRoute, GitHubUser, StoredComment } from './types.ts';
import { ACTIONS_BOT, appOf, userJson } from './users.ts';

const COMMENT_MAX_CHARS = 65536;

export class Comments {
  readonly #repository: Repository;
  readonly #clock: CreationClock;
  readonly #comments = new Map<number, StoredComment>();
  #nextId = 1_000_000_001;

  constructor(repository: Repository, clock: CreationClock) {
    this.#repository = repository;
    this.#clock = clock;
  }

  /** Adds a comment as `user`; the stored record itself, for the fake to change. */
  add(issueNumber: number, body: string, user: GitHubUser): StoredComment {
    const now = iso(this.#clock.now());
    const comment: StoredComment = {
      id: this.#nextId++,
      issueNumber,
      body,
      user: { ...user },
      createdAt: now,
      updatedAt: now,
    };
    this.#comments.set(comment.id, comment);
    return comment;
  }

  /** The comments of an issue or pull request, oldest first (the order GitHub lists them in). */
  of(issueNumber: number): StoredComment[] {
    return [...this.#comments.values()].filter((comment) => comment.issueNumber === issueNumber);
  }

  readonly routes = {
    listComments: (exchange, match) => this.#list(exchange, match, Number(match.params[0])),
    createComment: (exchange, match) => this.#create(exchange, Number(match.params[0])),
    getComment: (exchange, match) => this.#get(exchange, Number(match.params[0])),
    updateComment: (exchange, match) => this.#update(exchange, Number(match.params[0])),
    deleteComment: (exchange, match) => this.#delete(exchange, Number(match.params[0])),
  } satisfies Partial<Record<GitHubRoute, Handler>>;

  #json(comment: StoredComment): Json {
    const apiRepo = apiRepoUrl(this.#repository);
    const isActions = comment.user.login === ACTIONS_BOT.login;
    return {
      url: `${apiRepo}/issues/comments/${comment.id}`,
      html_url: `${htmlRepoUrl(this.#repository)}/pull/${comment.issueNumber}#issuecomment-${comment.id}`,
      issue_url: `${apiRepo}/issues/${comment.issueNumber}`,
      id: comment.id,
      node_id: nodeId('IC', comment.id),
      user: userJson(comment.user, this.#repository),
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
      performed_via_github_app: appOf(comment.user, this.#repository),
    };
  }

  async #list(exchange: Exchange, match: Match, issueNumber: number): Promise<void> {
    await exchange.drain();
    if (!(issueNumber >= 1)) return exchange.error(404, 'Not Found', 'listComments');
    answerPage(exchange, match, this.#repository, this.of(issueNumber), (comment) => this.#json(comment));
  }

  async #create(exchange: Exchange, issueNumber: number): Promise<void> {
    const body = await exchange.jsonBody();
    if (body === undefined) return;
    if (!(issueNumber >= 1)) return exchange.error(404, 'Not Found', 'createComment');
    const text = commentText(exchange, body, 'createComment');
    if (text === undefined) return;
    const comment = this.add(issueNumber, text, exchange.token!.user);
    exchange.json(201, this.#json(comment), {
      location: `${apiRepoUrl(this.#repository)}/issues/comments/${comment.id}`,
    });
  }

  async #get(exchange: Exchange, id: number): Promise<void> {
    await exchange.drain();
    const comment = this.#comments.get(id);
    if (!comment) return exchange.error(404, 'Not Found', 'getComment');
    exchange.json(200, this.#json(comment));
  }

  async #update(exchange: Exchange, id: number): Promise<void> {
    const body = await exchange.jsonBody();
    if (body === undefined) return;
    const comment = this.#comments.get(id);
    if (!comment) return exchange.error(404, 'Not Found', 'updateComment');
    const text = commentText(exchange, body, 'updateComment');
    if (text === undefined) return;
    comment.body = text;
    comment.updatedAt = iso(this.#clock.now());
    exchange.json(200, this.#json(comment));
  }

  async #delete(exchange: Exchange, id: number): Promise<void> {
    await exchange.drain();
    if (!this.#comments.delete(id)) return exchange.error(404, 'Not Found', 'deleteComment');
    exchange.noContent();
  }
}

/** The `body` string of a comment request, or undefined once the 422 has been answered. */
function commentText(exchange: Exchange, body: unknown, route: GitHubRoute): string | undefined {
  const text = isObject(body) ? body['body'] : undefined;
  if (typeof text !== 'string') {
    exchange.error(422, 'Invalid request.\n\n"body" wasn\'t supplied.', route);
    return undefined;
  }
  if (text.length > COMMENT_MAX_CHARS) {
    exchange.validationFailed(route, {
      resource: 'IssueComment',
      code: 'unprocessable',
      field: 'data',
      message: `Body is too long (maximum is ${COMMENT_MAX_CHARS} characters)`,
    });
    return undefined;
  }
  return text;
}
