/**
 * Who a token is. GET /user answers a personal token's user, and 403 "Resource not accessible by
 * integration" for an installation token (the job's GITHUB_TOKEN, a GitHub App's token); GraphQL's
 * `viewer { login }` answers both (`github-actions[bot]` for the job token, `<app>[bot]` for an
 * app's), which is how actions learn it. The GraphQL endpoint knows only that query. A bot acts for
 * its app, which its comments name as `performed_via_github_app`.
 */
import { isObject } from '../loopback-server.ts';
import type { Exchange, Json } from './exchange.ts';
import { HTML_ORIGIN, nodeId, type Repository } from './repository.ts';
import type { Handler } from './routes.ts';
import type { GitHubRoute, GitHubUser } from './types.ts';

/** Who the job's GITHUB_TOKEN acts as. */
export const ACTIONS_BOT: GitHubUser = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' };

const GITHUB_ACTIONS_APP = {
  id: 15368,
  slug: 'github-actions',
  node_id: 'MDM6QXBwMTUzNjg=',
  name: 'GitHub Actions',
  owner: { login: 'github', id: 9919, type: 'Organization' },
};

export function userJson(user: GitHubUser, repository: Repository): Json {
  const page = user.type === 'Bot' ? `apps/${user.login.replace(/\[bot\]$/, '')}` : user.login;
  return {
    login: user.login,
    id: user.id,
    node_id: userNodeId(user),
    avatar_url: `https://avatars.githubusercontent.com/u/${user.id}?v=4`,
    url: `${repository.url}/users/${encodeURIComponent(user.login)}`,
    html_url: `${HTML_ORIGIN}/${page}`,
    type: user.type,
    site_admin: false,
  };
}

/** A bot acts for its app (`<slug>[bot]`); a user's own actions name no app. */
export function appOf(user: GitHubUser, repository: Repository): Json | null {
  if (user.type !== 'Bot') return null;
  if (user.login === ACTIONS_BOT.login) return GITHUB_ACTIONS_APP;
  const slug = user.login.replace(/\[bot\]$/, '');
  return {
    id: 900_000 + (user.id % 100_000),
    slug,
    node_id: nodeId('A', user.id),
    name: slug,
    owner: { login: repository.owner, id: 9_919_000, type: 'Organization' },
  };
}

function userNodeId(user: GitHubUser): string {
  return nodeId(user.type === 'Bot' ? 'BOT' : 'U', user.id);
}

export function userRoutes(repository: Repository) {
  return {
    getAuthenticated: (exchange) => getAuthenticated(exchange, repository),
    graphql: (exchange) => viewer(exchange),
  } satisfies Partial<Record<GitHubRoute, Handler>>;
}

/** A personal token's user; an installation token is no user, and GitHub says so with a 403. */
async function getAuthenticated(exchange: Exchange, repository: Repository): Promise<void> {
  await exchange.drain();
  const token = exchange.token;
  if (!token) return exchange.error(401, 'Requires authentication', 'getAuthenticated');
  if (token.user.type === 'Bot')
    return exchange.error(403, 'Resource not accessible by integration', 'getAuthenticated');
  exchange.json(200, {
    ...userJson(token.user, repository),
    name: null,
    email: null,
    created_at: '2011-01-25T18:44:36Z',
  });
}

/** Only `query { viewer { login … } }`: what every token, an installation's too, may ask. */
async function viewer(exchange: Exchange): Promise<void> {
  const body = await exchange.jsonBody();
  if (body === undefined) return;
  const token = exchange.token;
  if (!token)
    return exchange.json(401, {
      message: 'This endpoint requires you to be authenticated.',
      documentation_url:
        'https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql',
    });
  const query = isObject(body) && typeof body['query'] === 'string' ? body['query'] : '';
  const asked = /^\s*(?:query\b[^{]*)?\{\s*viewer\s*\{([^{}]*)\}\s*\}\s*$/.exec(query);
  if (!asked)
    return exchange.json(200, {
      errors: [{ message: 'the GitHub API fake answers only `query { viewer { login } }`' }],
    });
  const { user } = token;
  const fields: Record<string, unknown> = {
    login: user.login,
    databaseId: user.id,
    id: userNodeId(user),
    __typename: user.type,
  };
  const names = asked[1]!.split(/[\s,]+/).filter(Boolean);
  const unknown = names.find((field) => !(field in fields));
  if (unknown)
    return exchange.json(200, {
      errors: [
        {
          path: ['query', 'viewer', unknown],
          extensions: { code: 'undefinedField', typeName: user.type, fieldName: unknown },
          message: `Field '${unknown}' doesn't exist on type '${user.type}'`,
        },
      ],
    });
  exchange.json(200, { data: { viewer: Object.fromEntries(names.map((field) => [field, fields[field]])) } });
}
