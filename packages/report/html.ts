/**
 * Generic HTML fragments: escaping, chart containers, tables and the page shell. Every dynamic
 * string passes through {@linkcode escapeHtml}; pages carry no inline script or style, so they work
 * under a strict Content-Security-Policy (charts are embedded by `/static/app.js` from the JSON
 * specifications placed in `<script type="application/json">` blocks).
 *
 * @module
 */
import type { VegaLiteSpec } from "./summary.ts";

/**
 * Escape text for HTML element content and quoted attribute values.
 *
 * @param text Any text.
 * @returns The escaped text.
 * @example
 * ```ts
 * import { escapeHtml } from "@saelab/report";
 * escapeHtml(`<a href="x">&'`); // "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
 * ```
 */
export function escapeHtml(text: unknown): string {
  return String(text ?? "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
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
export function chartHtml(id: string, spec: VegaLiteSpec, options: { title?: string; caption?: string } = {}): string {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) {
    throw new TypeError(`Cannot make chart ${JSON.stringify(id)}: id must be a plain name`);
  }
  return `<figure class="chart-box">` +
    (options.title ? `<h3>${escapeHtml(options.title)}</h3>` : "") +
    `<div class="chart" id="chart-${id}" data-spec="spec-${id}" role="img" aria-label="${
      escapeHtml(options.title ?? id)
    }"></div>` +
    `<script type="application/json" id="spec-${id}">${scriptJson(spec)}</script>` +
    (options.caption ? `<figcaption>${escapeHtml(options.caption)}</figcaption>` : "") +
    `</figure>`;
}

/** A column of {@linkcode tableHtml}. */
export interface Column<T> {
  /** Header text. */
  label: string;
  /** Cell HTML (already escaped) for a row. */
  cell: (row: T) => string;
  /** Right-align (numbers). */
  numeric?: boolean;
  /** Header HTML instead of the escaped label (e.g. a sort link). */
  header?: string;
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
): string {
  if (rows.length === 0) return `<p class="empty">${escapeHtml(options.empty ?? "Nothing to show yet.")}</p>`;
  const cls = (c: Column<T>) => (c.numeric ? ` class="num"` : "");
  const head = options.columns
    .map((c) => `<th${cls(c)}${c.help ? ` title="${escapeHtml(c.help)}"` : ""}>${c.header ?? escapeHtml(c.label)}</th>`)
    .join("");
  const body = rows.map((r) => `<tr>${options.columns.map((c) => `<td${cls(c)}>${c.cell(r)}</td>`).join("")}</tr>`)
    .join("");
  return `<div class="table-wrap"><table class="${
    escapeHtml(options.className ?? "data")
  }"><thead><tr>${head}</tr></thead>` +
    `<tbody>${body}</tbody></table></div>`;
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
 * @param body Body HTML.
 * @param options Title, breadcrumbs (`[label, href?]`), whether chart scripts are needed, assets.
 * @returns The document.
 * @example
 * ```ts
 * import { pageHtml } from "@saelab/report";
 * pageHtml("<p>hi</p>", { title: "Runs" }).startsWith("<!doctype html>"); // true
 * ```
 */
export function pageHtml(
  body: string,
  options: { title: string; crumbs?: [string, string?][]; charts?: boolean; assets?: PageAssets },
): string {
  const assets = options.assets ?? DEFAULT_ASSETS;
  const crumbs = (options.crumbs ?? [])
    .map((
      [label, href],
    ) => (href ? `<a href="${escapeHtml(href)}">${escapeHtml(label)}</a>` : `<span>${escapeHtml(label)}</span>`))
    .join(`<span class="sep">/</span>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)} · SAE Lab</title>
${assets.styles.map((s) => `<link rel="stylesheet" href="${escapeHtml(s)}">`).join("\n")}
${assets.icon ? `<link rel="icon" href="${escapeHtml(assets.icon)}" type="image/svg+xml">` : ""}
</head><body>
<header class="top"><a class="brand" href="/">SAE Lab</a><nav class="crumbs">${crumbs}</nav></header>
<main>
${body}
</main>
${options.charts ? assets.chartScripts.map((s) => `<script src="${escapeHtml(s)}"></script>`).join("\n") : ""}
</body></html>
`;
}
