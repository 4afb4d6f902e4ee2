/**
 * The feature browser of one dictionary: every feature's summary, sortable and paginated, the scored ones
 * marked, the log10 density histogram and the search box.
 *
 * @module
 */
import {
  chartHtml,
  densityHistogramSpec,
  featureTableHtml,
  formatNumber,
  type Html,
  markup,
  type Page,
  pageHtml,
  paginationHtml,
} from "@saelab/report";
import type { FeatureIndex, FeatureSummary } from "@saelab/runs";
import { searchFormHtml } from "./pages_atlas.ts";
import { type BrowseQuery, dictHref, featureHref, PAGE_SIZES, runHref } from "./params.ts";

/** The feature browser of one dictionary. */
export function browserPage(
  id: string,
  index: FeatureIndex,
  options: { page: Page<FeatureSummary>; query: BrowseQuery; size?: number },
): Html {
  const { page, query, size } = options;
  const dict = index.dict;
  // an index that lists its sampled features summarises every feature; an older one only the sampled
  const sampled = index.sampled ? new Set(index.sampled) : undefined;
  const links = {
    feature: (i: number) => featureHref(id, dict, i),
    sort: (sort: BrowseQuery["sort"], order: BrowseQuery["order"]) =>
      dictHref(id, dict, { sort, order, per: query.per, q: query.q }),
  };
  const scored = index.features.filter((f) => typeof f.score === "number");
  const per = PAGE_SIZES.map((n) =>
    n === query.per
      ? markup`<span>${n}</span>`
      : markup`<a href="${dictHref(id, dict, { sort: query.sort, order: query.order, per: n, q: query.q })}">${n}</a>`
  );
  const body = markup`<section class="card"><h1>${dict} <span class="badge">${index.method}</span></h1>
<div class="stats">
  <div class="stat"><div class="v">${index.features.length}</div><div class="k">${
    sampled ? "features summarised" : "features harvested"
  }</div></div>
  ${size !== undefined && markup`<div class="stat"><div class="v">${size}</div><div class="k">d_sae</div></div>`}
  <div class="stat"><div class="v">${scored.length}</div><div class="k">scored</div></div>
  <div class="stat"><div class="v">${formatNumber(index.tokens)}</div><div class="k">tokens harvested</div></div>
  <div class="stat"><div class="v">${index.backend ?? "–"}</div><div class="k">explainer backend</div></div>
</div>
${
    sampled
      ? markup`<p class="lead">Every feature is summarised from one pass over ${
        formatNumber(index.tokens)
      } held-out tokens (density, activations, top tokens, fragments on its page); the ${sampled.size} marked
<span class="badge sampled">scored</span> were sampled for explanation and scoring.</p>`
      : size !== undefined && size > index.features.length &&
        markup`<p class="lead">The table lists the ${index.features.length} features sampled for fragments,
explanation and scoring. Every feature from #0 to #${size - 1} has a page:
<a href="${featureHref(id, dict, 0)}">#0</a> steps through them all, the sampled ones in full.</p>`
  }
${searchFormHtml(id, dict, query.q)}
${
    query.q !== undefined &&
    markup`<p class="search-result">${page.total} features match <q>${query.q}</q> (by index, top token or
explanation).</p>`
  }</section>
${
    sampled &&
    markup`<section class="card"><h2>Feature density</h2><div class="charts">${
      chartHtml("density", densityHistogramSpec(index.features.map((f) => f.density)))
    }</div></section>`
  }
<section class="card">
<div class="toolbar"><span class="muted">Features ${page.total ? (page.page - 1) * page.perPage + 1 : 0}–${
    (page.page - 1) * page.perPage + page.items.length
  } of ${page.total}, page ${page.page} of ${page.pages}</span>
<span class="per">per page ${per}</span></div>
${featureTableHtml(page, { sort: query.sort, order: query.order, links, sampled })}
${paginationHtml(page, { href: (n) => dictHref(id, dict, { ...query, page: n }) })}
</section>`;
  return pageHtml(body, {
    title: `${dict} · ${id}`,
    crumbs: [["runs", "/"], [id, runHref(id)], [dict]],
    charts: true,
  });
}
