/**
 * Validation of route parameters and query strings. Anything malformed is a 400 before any file is
 * touched; names are checked against the run-id pattern, so `..`, slashes (encoded or not) and
 * absolute paths never reach the file system.
 *
 * @module
 */
import { HTTPException } from "hono/http-exception";
import { isValidId } from "@saelab/runs";
import { FEATURE_SORT_KEYS, type FeatureSortKey, MAX_SEARCH_LENGTH, type SortOrder } from "@saelab/report";

/** Throw a 400 with a message. */
export function badRequest(message: string): never {
  throw new HTTPException(400, { message });
}

/** A run id or dictionary name from a route parameter, or a 400. */
export function nameParam(value: string | undefined, what: string): string {
  if (!isValidId(value)) {
    badRequest(`Invalid ${what}: use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return value;
}

/** A feature index from a route parameter, or a 400. */
export function indexParam(value: string | undefined): number {
  if (!value || !/^\d{1,9}$/.test(value)) badRequest("Invalid feature index: expected a non-negative integer");
  return Number(value);
}

/** Feature-browser query: sort key, order, page and page size. */
export interface BrowseQuery {
  /** Sort key. */
  sort: FeatureSortKey;
  /** Order. */
  order: SortOrder;
  /** 1-based page. */
  page: number;
  /** Features per page. */
  per: number;
  /** Search text (feature index, token or explanation words), when given. */
  q?: string;
}

/** Page sizes offered by the browser. */
export const PAGE_SIZES = [25, 50, 100, 250];

/**
 * Parse the feature-browser query; missing fields take defaults (score descending when the
 * dictionary has scores, else index ascending; page 1; `perPage`; no search).
 */
export function browseQuery(
  query: (name: string) => string | undefined,
  options: { scored: boolean; perPage: number },
): BrowseQuery {
  const sortRaw = query("sort");
  if (sortRaw !== undefined && !(FEATURE_SORT_KEYS as readonly string[]).includes(sortRaw)) {
    badRequest(`Invalid sort: use one of ${FEATURE_SORT_KEYS.join(", ")}`);
  }
  const sort = (sortRaw ?? (options.scored ? "score" : "index")) as FeatureSortKey;
  const orderRaw = query("order");
  if (orderRaw !== undefined && orderRaw !== "asc" && orderRaw !== "desc") badRequest("Invalid order: use asc or desc");
  const order = (orderRaw ?? (sort === "index" ? "asc" : "desc")) as SortOrder;
  const int = (name: string, fallback: number, max: number) => {
    const raw = query(name);
    if (raw === undefined || raw === "") return fallback;
    if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
      badRequest(`Invalid ${name}: expected an integer from 1 to ${max}`);
    }
    return Number(raw);
  };
  const q = query("q")?.trim();
  if (q && q.length > MAX_SEARCH_LENGTH) {
    badRequest(`Invalid q: search text of at most ${MAX_SEARCH_LENGTH} characters`);
  }
  return { sort, order, page: int("page", 1, 999_999), per: int("per", options.perPage, 1000), ...(q ? { q } : {}) };
}

/** URL of a run page. */
export const runHref = (id: string): string => `/runs/${encodeURIComponent(id)}`;
/** URL of a feature browser. */
export const dictHref = (id: string, dict: string, q: Partial<BrowseQuery> = {}): string => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return `${runHref(id)}/dicts/${encodeURIComponent(dict)}${s ? `?${s}` : ""}`;
};
/** URL of a feature page. */
export const featureHref = (id: string, dict: string, index: number): string =>
  `${runHref(id)}/dicts/${encodeURIComponent(dict)}/features/${index}`;
