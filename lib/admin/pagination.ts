import { badRequest } from './errors.js';

export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 100;

/** What a list request asks for: at most `limit` items whose cursor key sorts after `after`. */
export interface PageRequest {
  limit: number;
  after?: string;
}

/** A list response, WorkOS-style: `list_metadata.after` is the cursor of the next page, or null at the end. */
export interface ListResponse<T> {
  object: 'list';
  data: T[];
  list_metadata: { after: string | null };
}

/** Reads `limit` and `after` from query values (strings); other values are refused with a 400. */
export function parsePage(limit: string | undefined, after: string | undefined): PageRequest {
  let count = DEFAULT_LIMIT;
  if (limit !== undefined) {
    if (!/^\d{1,3}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LIMIT) {
      throw badRequest(`limit must be an integer between 1 and ${MAX_LIMIT}`);
    }
    count = Number(limit);
  }
  return after ? { limit: count, after } : { limit: count };
}

/**
 * One page of `items`, ordered by `key`. The cursor is the key of the last item returned, and the
 * next page holds the items whose key sorts after it: a page never repeats or skips an item
 * that existed before the listing began, whatever is created or deleted in between (an item
 * created meanwhile shows up only if its key sorts after the cursor).
 */
export function paginate<T>(items: T[], key: (item: T) => string, page: PageRequest): ListResponse<T> {
  const sorted = [...items].sort((a, b) => compare(key(a), key(b)));
  const rest = page.after === undefined ? sorted : sorted.filter((item) => compare(key(item), page.after!) > 0);
  const data = rest.slice(0, page.limit);
  const more = rest.length > data.length;
  return { object: 'list', data, list_metadata: { after: more ? key(data[data.length - 1]!) : null } };
}

/** Plain code-unit order, the order `Array.prototype.sort` uses for strings. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
