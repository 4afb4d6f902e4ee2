/**
 * HTML fragments of the feature browser and the feature page: token shading, fragment lists,
 * the sortable feature table, pagination, logit effects and nearest features.
 *
 * @module
 */
import { centreOnPeak, type FeatureSummary, type Fragment, type LogitEffects, type Neighbour } from "@saelab/runs";
import { tokenText } from "@saelab/tokenizer";
import { type Html, markup, tableHtml } from "./html.ts";
import { FEATURE_SORT_KEYS, type FeatureSortKey, type Page, type SortOrder } from "./features.ts";
import { formatNumber as f } from "./summary.ts";

/** Number of shading levels above zero (CSS classes `a1` … `a10`). */
export const SHADE_LEVELS = 10;

/**
 * Visible form of a stored token (see `tokenText` of `@saelab/tokenizer`): newline → `↵`, tab → `⇥`,
 * other control characters as `\xHH`; bytes of a split character were stored as `\xHH` already.
 *
 * @param token A decoded token.
 * @returns Its display text.
 * @example
 * ```ts
 * import { visibleToken } from "@saelab/report";
 * visibleToken("a\n\u0012"); // "a↵\\x12"
 * ```
 */
export function visibleToken(token: string): string {
  return tokenText(token);
}

/**
 * Tokens of a fragment, each in a `span.tok` shaded by its activation relative to `max`
 * (class `a0`…`a10`), with the exact value in `title` and `data-act` for hover.
 *
 * @param fragment Tokens and activations.
 * @param options The activation that maps to full shading (usually the feature's max).
 * @returns HTML.
 * @example
 * ```ts
 * import { shadedTokensHtml } from "@saelab/report";
 * shadedTokensHtml({ tokens: [" a", " b"], acts: [0, 2] }, { max: 2 });
 * // '<span class="frag"><span class="tok a0" ...> a</span><span class="tok a10" ...> b</span></span>'
 * ```
 */
export function shadedTokensHtml(fragment: Fragment, options: { max: number; peak?: number }): Html {
  const max = options.max > 0 ? options.max : Math.max(1e-12, ...fragment.acts);
  const spans = fragment.tokens.map((tok, i) => {
    const a = fragment.acts[i] ?? 0;
    const level = a <= 0 ? 0 : Math.max(1, Math.min(SHADE_LEVELS, Math.round((a / max) * SHADE_LEVELS)));
    const value = Number.isFinite(a) ? a.toFixed(3) : String(a);
    return markup`<span class="tok a${level}${i === options.peak ? " peak-tok" : ""}" title="${
      JSON.stringify(tok)
    } → ${value}" data-act="${value}">${visibleToken(tok)}</span>`;
  });
  return markup`<span class="frag">${spans}</span>`;
}

/**
 * A list of fragments with their peak activation, each centred on its peak token (outlined, class `peak-tok`).
 *
 * @param fragments Fragments.
 * @param options Shading maximum; tokens kept on each side of the peak (default: all).
 * @returns HTML.
 * @example
 * ```ts
 * import { fragmentsHtml } from "@saelab/report";
 * fragmentsHtml([], { max: 1 }); // '<p class="empty">No fragments.</p>'
 * ```
 */
export function fragmentsHtml(fragments: readonly Fragment[], options: { max: number; window?: number }): Html {
  if (fragments.length === 0) return markup`<p class="empty">No fragments.</p>`;
  const items = fragments.map((whole) => {
    const fr = centreOnPeak(whole, { before: options.window, after: options.window });
    const peak = Math.max(...fr.acts, 0);
    const src = fr.doc && markup` title="${fr.doc}${fr.start !== undefined ? ` @${fr.start}` : ""}"`;
    return markup`<li><span class="peak"${src}>${f(peak)}</span>${
      shadedTokensHtml(fr, { max: options.max, peak: peak > 0 ? fr.peak : undefined })
    }</li>`;
  });
  return markup`<ol class="fragments">${items}</ol>`;
}

/** Links the feature table needs. */
export interface FeatureTableLinks {
  /** Link to a feature page. */
  feature: (index: number) => string;
  /** Link to the browser sorted by `key` in `order` (page 1). */
  sort: (key: FeatureSortKey, order: SortOrder) => string;
}

const SORT_LABELS: Record<FeatureSortKey, string> = {
  index: "feature",
  score: "score",
  density: "density",
  maxActivation: "max activation",
};

/**
 * The feature browser table with sortable headers (clicking the current key flips the order).
 *
 * @param page The page of summaries.
 * @param options Current sort, links, and the features sampled for scoring (marked "scored").
 * @returns HTML.
 * @example
 * ```ts ignore
 * featureTableHtml(page, { sort: "score", order: "desc", links });
 * ```
 */
export function featureTableHtml(
  page: Page<FeatureSummary>,
  options: { sort: FeatureSortKey; order: SortOrder; links: FeatureTableLinks; sampled?: ReadonlySet<number> },
): Html {
  const header = (key: FeatureSortKey) => {
    const active = key === options.sort;
    const next: SortOrder = active ? (options.order === "desc" ? "asc" : "desc") : key === "index" ? "asc" : "desc";
    const arrow = active ? (options.order === "desc" ? " ▼" : " ▲") : "";
    return markup`<a class="sort${active ? " active" : ""}" href="${options.links.sort(key, next)}">${
      SORT_LABELS[key]
    }${arrow}</a>`;
  };
  if (!FEATURE_SORT_KEYS.includes(options.sort)) throw new TypeError(`Cannot sort by ${options.sort}`);
  return tableHtml(page.items, {
    className: "data features",
    empty: "No features were harvested for this dictionary.",
    columns: [
      {
        label: "feature",
        header: header("index"),
        numeric: true,
        cell: (s) =>
          markup`<a href="${options.links.feature(s.index)}">#${s.index}</a>${
            options.sampled?.has(s.index) &&
            markup` <span class="badge sampled" title="sampled for scoring">scored</span>`
          }`,
      },
      {
        label: "explanation",
        cell: (s) =>
          s.explanation ||
          markup`<span class="muted">${
            options.sampled && !options.sampled.has(s.index) ? "not sampled" : "not explained"
          }</span>`,
      },
      {
        label: "top tokens",
        cell: (s) =>
          markup`${
            (s.topTokens ?? []).slice(0, 4).map((t) =>
              markup`<code class="token" title="${JSON.stringify(t)}">${visibleToken(t)}</code> `
            )
          }`,
      },
      { label: "score", header: header("score"), numeric: true, cell: (s) => f(s.score) },
      { label: "density", header: header("density"), numeric: true, cell: (s) => f(s.density) },
      { label: "max activation", header: header("maxActivation"), numeric: true, cell: (s) => f(s.maxActivation) },
    ],
  });
}

/**
 * Previous/next links and page numbers (first, last and a window around the current page).
 *
 * @param page Current page facts.
 * @param options Link to page `n`.
 * @returns HTML (empty when there is one page).
 * @example
 * ```ts
 * import { paginationHtml } from "@saelab/report";
 * paginationHtml({ page: 1, pages: 1 }, { href: (n) => `?page=${n}` }); // ""
 * ```
 */
export function paginationHtml(
  page: { page: number; pages: number },
  options: { href: (n: number) => string },
): Html {
  if (page.pages <= 1) return markup``;
  const link = (n: number, label: string, cls = "") =>
    markup`<a class="${cls}" href="${options.href(n)}"${n === page.page && markup` aria-current="page"`}>${label}</a>`;
  const shown = new Set([1, page.pages]);
  for (let n = page.page - 2; n <= page.page + 2; n++) if (n >= 1 && n <= page.pages) shown.add(n);
  const nums = [...shown].sort((a, b) => a - b);
  const parts: Html[] = [];
  nums.forEach((n, i) => {
    if (i > 0 && n - nums[i - 1] > 1) parts.push(markup`<span class="gap">…</span>`);
    parts.push(link(n, String(n), n === page.page ? "current" : ""));
  });
  const prev = page.page > 1
    ? link(page.page - 1, "← previous", "prev")
    : markup`<span class="prev disabled">← previous</span>`;
  const next = page.page < page.pages
    ? link(page.page + 1, "next →", "next")
    : markup`<span class="next disabled">next →</span>`;
  return markup`<nav class="pagination">${prev}${parts}${next}</nav>`;
}

/**
 * Two tables of logit effects: tokens promoted and suppressed by the feature's decoder direction.
 *
 * @param logits Positive and negative effects.
 * @returns HTML.
 * @example
 * ```ts
 * import { logitEffectsHtml } from "@saelab/report";
 * logitEffectsHtml({ positive: [{ token: " whale", value: 1.2 }], negative: [] }).includes("whale"); // true
 * ```
 */
export function logitEffectsHtml(logits: LogitEffects): Html {
  const side = (title: string, rows: LogitEffects["positive"], cls: string) => {
    const table = tableHtml(rows, {
      className: "data compact",
      empty: "none",
      columns: [
        {
          label: "token",
          cell: (r) => markup`<code class="token" title="${JSON.stringify(r.token)}">${visibleToken(r.token)}</code>`,
        },
        { label: "effect", numeric: true, cell: (r) => f(r.value) },
      ],
    });
    return markup`<div class="logits ${cls}"><h4>${title}</h4>${table}</div>`;
  };
  return markup`<div class="logit-pair">${side("promoted", logits.positive, "pos")}${
    side("suppressed", logits.negative, "neg")
  }</div>`;
}

/**
 * Nearest features by decoder cosine, each linking to its page.
 *
 * @param neighbours Neighbours, most similar first.
 * @param options Link to a feature page, and optional summaries for their explanations.
 * @returns HTML.
 * @example
 * ```ts
 * import { neighboursHtml } from "@saelab/report";
 * neighboursHtml([{ index: 3, cosine: 0.8 }], { href: (i) => `/f/${i}` }).includes("/f/3"); // true
 * ```
 */
export function neighboursHtml(
  neighbours: readonly Neighbour[],
  options: { href: (index: number) => string; explanations?: Map<number, string> },
): Html {
  return tableHtml(neighbours, {
    className: "data compact neighbours",
    empty: "No neighbours recorded.",
    columns: [
      {
        label: "feature",
        numeric: true,
        cell: (n) => markup`<a href="${options.href(n.index)}">#${n.index}</a>`,
      },
      { label: "cosine", numeric: true, cell: (n) => f(n.cosine) },
      { label: "explanation", cell: (n) => options.explanations?.get(n.index) ?? "" },
    ],
  });
}
