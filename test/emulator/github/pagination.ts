/**
 * Lists as GitHub pages them: `per_page` 30 by default, 100 at most, and a `link` header with
 * rel="prev", "next", "last" and "first" (in that order, each only when it applies) whose absolute
 * URLs use the `/repositories/{id}/…` form.
 */
import type { Exchange, Json } from './exchange.ts';
import type { Repository } from './repository.ts';
import type { Match } from './routes.ts';

const DEFAULT_PER_PAGE = 30;
const MAX_PER_PAGE = 100;

/** Answers the page of `all` the request asks for. */
export function answerPage<T>(
  exchange: Exchange,
  match: Match,
  repository: Repository,
  all: T[],
  toJson: (item: T) => Json,
): void {
  const params = exchange.url.searchParams;
  const perPageText = params.get('per_page');
  const perPageNumber = perPageText === null ? NaN : Number.parseInt(perPageText, 10);
  const perPage = perPageNumber >= 1 ? Math.min(perPageNumber, MAX_PER_PAGE) : DEFAULT_PER_PAGE;
  const pageNumber = Number.parseInt(params.get('page') ?? '1', 10);
  const page = pageNumber >= 1 ? pageNumber : 1;
  const last = Math.max(1, Math.ceil(all.length / perPage));
  const items = all.slice((page - 1) * perPage, page * perPage).map(toJson);
  const linkTo = (target: number): string => {
    const query = new URLSearchParams(params);
    query.delete('page');
    query.append('page', String(target));
    return `<${repository.url}/repositories/${repository.id}${match.rest}?${query.toString()}>`;
  };
  const links: string[] = [];
  if (page > 1) links.push(`${linkTo(Math.min(page - 1, last))}; rel="prev"`);
  if (page < last) links.push(`${linkTo(page + 1)}; rel="next"`, `${linkTo(last)}; rel="last"`);
  if (page > 1) links.push(`${linkTo(1)}; rel="first"`);
  exchange.json(200, items, links.length > 0 ? { link: links.join(', ') } : {});
}
