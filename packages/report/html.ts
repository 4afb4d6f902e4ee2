/**
 * Generic HTML fragments: the template tag, chart containers, tables and the page shell. Markup is
 * built with {@linkcode markup}, hono's auto-escaping `html` template: every interpolated string is
 * escaped, and only fragments built by the same tag pass through as markup. Pages carry no inline
 * script or style, so they work under a strict Content-Security-Policy (charts are embedded by
 * `/static/app.js` from the JSON specifications placed in `<script type="application/json">` blocks).
 *
 * @module
 */
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { VegaLiteSpec } from "./summary.ts";

/** Markup built by {@linkcode markup}: placed in a template as is, never escaped again. */
export type Html = HtmlEscapedString;

/**
 * hono's `html` template, synchronous: interpolated strings (and anything but numbers, booleans,
 * `null`, `undefined` and other {@linkcode Html}) are escaped for element content and quoted
 * attribute values; arrays are flattened; `false`, `null` and `undefined` render as nothing.
 * (It is not called `html` because `deno fmt` reflows templates of that name, which would change
 * the whitespace of the pages.)
 *
 * @param strings The literal parts.
 * @param values The interpolated values.
 * @returns The markup.
 * @example
 * ```ts
 * import { markup } from "@saelab/report";
 * String(markup`<b title="${`"&'`}">${"<i>"}</b>`); // '<b title="&quot;&amp;&#39;">&lt;i&gt;</b>'
 * ```
 */
export function markup(strings: TemplateStringsArray, ...values: unknown[]): Html {
  const out = html(strings, ...values);
  if (out instanceof Promise) throw new TypeError("Cannot build HTML: a template value is a Promise");
  return out;
}

/**
 * Join fragments with a separator (escaped unless it is {@linkcode Html}).
 *
 * @param items Fragments.
 * @param separator Put between two fragments.
 * @returns The markup.
 * @example
 * ```ts
 * import { joinHtml, markup } from "@saelab/report";
 * String(joinHtml([markup`<i>a</i>`, markup`<i>b</i>`], ", ")); // "<i>a</i>, <i>b</i>"
 * ```
 */
export function joinHtml(items: readonly Html[], separator: Html | string = ""): Html {
  return markup`${items.flatMap((item, i) => (i ? [separator, item] : [item]))}`;
}

/**
 * Serialise JSON for a `<script type="application/json">` block: `<`, `>`, `&` and the JavaScript
 * line separators are written as `\u` escapes so that the data can never close the block.
 *
 * @param value JSON-serialisable value.
 * @returns Safe JSON text.
 * @example
 * ```ts
 * import { scriptJson } from "@saelab/report";
 * scriptJson({ s: "</script>" }); // '{"s":"\\u003c/script\\u003e"}'
 * ```
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll("<", "\\u003c")
    .replaceAll(">", "\\u003e")
    .replaceAll("&", "\\u0026")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}

/**
 * A chart container: a `<figure>` holding an empty `div.chart` and the specification as JSON.
 * The client script renders every `div.chart` and marks it `data-rendered="true"` (or `"error"`).
 *
 * @param id Unique id within the page (letters, digits, `-`, `_`).
 * @param spec The vega-lite specification.
 * @param options Title and caption.
 * @returns HTML.
 * @example
 * ```ts
 * import { chartHtml } from "@saelab/report";
 * chartHtml("frontier", { mark: "point" }, { title: "Frontier" }).includes('id="chart-frontier"'); // true
 * ```
 */
export function chartHtml(id: string, spec: VegaLiteSpec, options: { title?: string; caption?: string } = {}): Html {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) {
    throw new TypeError(`Cannot make chart ${JSON.stringify(id)}: id must be a plain name`);
  }
  // scriptJson leaves no `<`, `>` or `&` in the text, so it cannot close the script block.
  return markup`<figure class="chart-box">${
    options.title && markup`<h3>${options.title}</h3>`
  }<div class="chart" id="chart-${id}" data-spec="spec-${id}" role="img" aria-label="${
    options.title ?? id
  }"></div><script type="application/json" id="spec-${id}">${raw(scriptJson(spec))}</script>${
    options.caption && markup`<figcaption>${options.caption}</figcaption>`
  }</figure>`;
}

/** A column of {@linkcode tableHtml}. */
export interface Column<T> {
  /** Header text. */
  label: string;
  /** Cell content for a row: text (escaped) or a {@linkcode markup} fragment. */
  cell: (row: T) => string | Html;
  /** Right-align (numbers). */
  numeric?: boolean;
  /** Header markup instead of the label (e.g. a sort link). */
  header?: Html;
  /** Tooltip on the header. */
  help?: string;
}

/**
 * A table from rows and column definitions.
 *
 * @param rows Rows.
 * @param options Columns, CSS class and the text shown when there are no rows.
 * @returns HTML.
 * @example
 * ```ts
 * import { tableHtml } from "@saelab/report";
 * tableHtml([{ a: 1 }], { columns: [{ label: "a", cell: (r) => String(r.a), numeric: true }] });
 * ```
 */
export function tableHtml<T>(
  rows: readonly T[],
  options: { columns: Column<T>[]; className?: string; empty?: string },
): Html {
  if (rows.length === 0) return markup`<p class="empty">${options.empty ?? "Nothing to show yet."}</p>`;
  const cls = (c: Column<T>) => c.numeric && markup` class="num"`;
  const head = options.columns.map((c) =>
    markup`<th${cls(c)}${c.help && markup` title="${c.help}"`}>${c.header ?? c.label}</th>`
  );
  const body = rows.map((r) => markup`<tr>${options.columns.map((c) => markup`<td${cls(c)}>${c.cell(r)}</td>`)}</tr>`);
  return markup`<div class="table-wrap"><table class="${
    options.className ?? "data"
  }"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** Where the page shell finds its assets. */
export interface PageAssets {
  /** Stylesheet URLs. */
  styles: string[];
  /** Script URLs loaded (in order) on pages with charts. */
  chartScripts: string[];
  /** Icon URL. */
  icon?: string;
}

/** The assets `apps/server` serves. */
export const DEFAULT_ASSETS: PageAssets = {
  styles: ["/static/style.css"],
  icon: "/static/favicon.svg",
  chartScripts: [
    "/static/vendor/vega.min.js",
    "/static/vendor/vega-lite.min.js",
    "/static/vendor/vega-embed.min.js",
    "/static/app.js",
  ],
};

/**
 * A complete HTML document around a body.
 *
 * @param body Body markup.
 * @param options Title, breadcrumbs (`[label, href?]`), whether chart scripts are needed, assets.
 * @returns The document.
 * @example
 * ```ts
 * import { markup, pageHtml } from "@saelab/report";
 * pageHtml(markup`<p>hi</p>`, { title: "Runs" }).startsWith("<!doctype html>"); // true
 * ```
 */
export function pageHtml(
  body: Html,
  options: { title: string; crumbs?: [string, string?][]; charts?: boolean; assets?: PageAssets },
): Html {
  const assets = options.assets ?? DEFAULT_ASSETS;
  const crumbs = (options.crumbs ?? []).map(([label, href]) =>
    href ? markup`<a href="${href}">${label}</a>` : markup`<span>${label}</span>`
  );
  const styles = assets.styles.map((s) => markup`<link rel="stylesheet" href="${s}">`);
  const scripts = options.charts &&
    joinHtml(assets.chartScripts.map((s) => markup`<script src="${s}"></script>`), "\n");
  return markup`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · SAE Lab</title>
${joinHtml(styles, "\n")}
${assets.icon && markup`<link rel="icon" href="${assets.icon}" type="image/svg+xml">`}
</head><body>
<header class="top"><a class="brand" href="/">SAE Lab</a><nav class="crumbs">${
    joinHtml(crumbs, markup`<span class="sep">/</span>`)
  }</nav></header>
<main>
${body}
</main>
${scripts}
</body></html>
`;
}
