/**
 * Sorting and paging of feature summaries for the feature browser.
 *
 * @module
 */
import type { FeatureSummary } from "@saelab/runs";

/** Keys the feature browser sorts by. */
export const FEATURE_SORT_KEYS = ["index", "score", "density", "maxActivation"] as const;

/** A key of {@linkcode FEATURE_SORT_KEYS}. */
export type FeatureSortKey = typeof FEATURE_SORT_KEYS[number];

/** Sort direction. */
export type SortOrder = "asc" | "desc";

/**
 * Sort features by a key; features without the key (unscored) go last in either direction,
 * ties break by index.
 *
 * @param features Summaries.
 * @param options Key and order.
 * @returns A new sorted array.
 * @example
 * ```ts
 * import { sortFeatures } from "@saelab/report";
 * const f = [{ index: 0, density: 0.1, maxActivation: 2 }, { index: 1, density: 0.3, maxActivation: 1 }];
 * sortFeatures(f, { sort: "density", order: "desc" }).map((x) => x.index); // [1, 0]
 * ```
 */
export function sortFeatures(
  features: readonly FeatureSummary[],
  options: { sort: FeatureSortKey; order: SortOrder },
): FeatureSummary[] {
  if (!FEATURE_SORT_KEYS.includes(options.sort)) {
    throw new TypeError(`Cannot sort features by ${JSON.stringify(options.sort)}: use ${FEATURE_SORT_KEYS.join(", ")}`);
  }
  const sign = options.order === "asc" ? 1 : -1;
  return [...features].sort((a, b) => {
    const x = a[options.sort], y = b[options.sort];
    const mx = typeof x !== "number" || Number.isNaN(x), my = typeof y !== "number" || Number.isNaN(y);
    if (mx !== my) return mx ? 1 : -1;
    if (!mx && x !== y) return sign * ((x as number) - (y as number));
    return a.index - b.index;
  });
}

/** One page of items. */
export interface Page<T> {
  /** Items on this page. */
  items: T[];
  /** This page, 1-based, clamped into range. */
  page: number;
  /** Number of pages (at least 1). */
  pages: number;
  /** Items per page. */
  perPage: number;
  /** Items in all. */
  total: number;
}

/**
 * Cut one page out of a list.
 *
 * @param items All items.
 * @param options 1-based page (clamped) and page size (1–1000).
 * @returns The page.
 * @example
 * ```ts
 * import { paginate } from "@saelab/report";
 * paginate([1, 2, 3, 4, 5], { page: 2, perPage: 2 }).items; // [3, 4]
 * ```
 */
export function paginate<T>(items: readonly T[], options: { page: number; perPage: number }): Page<T> {
  const perPage = Math.min(1000, Math.max(1, Math.floor(options.perPage) || 1));
  const pages = Math.max(1, Math.ceil(items.length / perPage));
  const page = Math.min(pages, Math.max(1, Math.floor(options.page) || 1));
  return { items: items.slice((page - 1) * perPage, page * perPage), page, pages, perPage, total: items.length };
}

/** Longest search text accepted. */
export const MAX_SEARCH_LENGTH = 100;

/**
 * Features matching a search: a number (optionally after `#`) matches that feature index; any text matches,
 * case-insensitively, a substring of a feature's top tokens (spaces at their ends ignored) or explanation.
 * A number matches both ways (the index first).
 *
 * @param features Summaries.
 * @param query The search text (trimmed; empty matches every feature).
 * @returns The matching summaries, the exact index match first, the rest in the given order.
 * @example
 * ```ts
 * import { searchFeatures } from "@saelab/report";
 * const f = [{ index: 0, density: 0.1, maxActivation: 2, topTokens: [" the"] },
 *   { index: 1, density: 0.3, maxActivation: 1, explanation: "Fires on The." }];
 * searchFeatures(f, "THE").map((x) => x.index); // [0, 1]
 * searchFeatures(f, "#1").map((x) => x.index); // [1]
 * ```
 */
export function searchFeatures(features: readonly FeatureSummary[], query: string): FeatureSummary[] {
  const q = query.trim().toLowerCase();
  if (!q) return [...features];
  const number = /^#?\d{1,9}$/.test(q) ? Number(q.replace("#", "")) : null;
  const exact = number === null ? [] : features.filter((f) => f.index === number);
  const text = q.replace(/^#(?=\d+$)/, "");
  const rest = features.filter((f) =>
    f.index !== number &&
    ((f.explanation?.toLowerCase().includes(text) ?? false) ||
      (f.topTokens ?? []).some((t) => t.trim().toLowerCase().includes(text.trim())))
  );
  return [...exact, ...(q.startsWith("#") ? [] : rest)];
}
