/**
 * The feature browser (sortable, paginated) and the feature page.
 *
 * @module
 */
import {
  chartHtml,
  featureTableHtml,
  formatNumber,
  fragmentsHtml,
  histogramSpec,
  type Html,
  logitEffectsHtml,
  markup,
  neighboursHtml,
  type Page,
  pageHtml,
  paginationHtml,
} from "@saelab/report";
import type { FeatureDetail, FeatureIndex, FeatureSummary } from "@saelab/runs";
import { type BrowseQuery, dictHref, featureHref, PAGE_SIZES, runHref } from "./params.ts";

/** The feature browser of one dictionary. */
export function browserPage(
  id: string,
  index: FeatureIndex,
  options: { page: Page<FeatureSummary>; query: BrowseQuery },
): Html {
  const { page, query } = options;
  const dict = index.dict;
  const links = {
    feature: (i: number) => featureHref(id, dict, i),
    sort: (sort: BrowseQuery["sort"], order: BrowseQuery["order"]) =>
      dictHref(id, dict, { sort, order, per: query.per }),
  };
  const scored = index.features.filter((f) => typeof f.score === "number");
  const per = PAGE_SIZES.map((n) =>
    n === query.per
      ? markup`<span>${n}</span>`
      : markup`<a href="${dictHref(id, dict, { sort: query.sort, order: query.order, per: n })}">${n}</a>`
  );
  const body = markup`<section class="card"><h1>${dict} <span class="badge">${index.method}</span></h1>
<div class="stats">
  <div class="stat"><div class="v">${index.features.length}</div><div class="k">features</div></div>
  <div class="stat"><div class="v">${scored.length}</div><div class="k">scored</div></div>
  <div class="stat"><div class="v">${formatNumber(index.tokens)}</div><div class="k">tokens harvested</div></div>
  <div class="stat"><div class="v">${index.backend ?? "–"}</div><div class="k">explainer backend</div></div>
</div></section>
<section class="card">
<div class="toolbar"><span class="muted">Features ${page.total ? (page.page - 1) * page.perPage + 1 : 0}–${
    (page.page - 1) * page.perPage + page.items.length
  } of ${page.total}, page ${page.page} of ${page.pages}</span>
<span class="per">per page ${per}</span></div>
${featureTableHtml(page, { sort: query.sort, order: query.order, links })}
${paginationHtml(page, { href: (n) => dictHref(id, dict, { ...query, page: n }) })}
</section>`;
  return pageHtml(body, { title: `${dict} · ${id}`, crumbs: [["runs", "/"], [id, runHref(id)], [dict]] });
}

/** The page of one feature. */
export function featurePage(
  id: string,
  f: FeatureDetail,
  options: { index: FeatureIndex | null },
): Html {
  const dict = f.dict;
  const explanations = new Map(
    (options.index?.features ?? []).flatMap((s) => (s.explanation ? [[s.index, s.explanation]] : [])),
  );
  const known = new Set((options.index?.features ?? []).map((s) => s.index));
  const prev = known.has(f.index - 1) &&
    markup`<a href="${featureHref(id, dict, f.index - 1)}">← #${f.index - 1}</a>`;
  const next = known.has(f.index + 1) &&
    markup`<a href="${featureHref(id, dict, f.index + 1)}">#${f.index + 1} →</a>`;
  const stat = (v: string, k: string) =>
    markup`<div class="stat"><div class="v">${v}</div><div class="k">${k}</div></div>`;
  const max = f.maxActivation;
  const body = markup`<section class="card">
<div class="toolbar"><h1>Feature #${f.index} <span class="badge">${dict}</span></h1><span class="featnav">${prev}${next}</span></div>
${
    f.explanation
      ? markup`<blockquote class="explanation">${f.explanation}</blockquote>`
      : markup`<p class="empty">Not explained yet.</p>`
  }
<div class="stats">
  ${stat(formatNumber(f.score), "score")}
  ${stat(f.backend ?? "–", "backend")}
  ${stat(formatNumber(f.density), "density")}
  ${stat(formatNumber(f.maxActivation), "max activation")}
  ${stat(formatNumber(f.meanActivation), "mean activation (active)")}
</div></section>
<section class="card"><h2>Top-activating fragments</h2>
<p class="lead">Each token is shaded by the feature's activation (full colour = max activation ${
    formatNumber(max)
  }); hover a token for its value.</p>
${fragmentsHtml(f.top, { max })}</section>
<section class="card"><h2>Random active fragments</h2>${fragmentsHtml(f.random, { max })}</section>
<div class="grid2">
<section class="card"><h2>Activation histogram</h2>
<div class="charts">${
    chartHtml("histogram", histogramSpec(f.histogram), {
      caption: f.histogram.zeros !== undefined
        ? `Plus ${formatNumber(f.histogram.zeros)} tokens where the feature is zero.`
        : undefined,
    })
  }</div></section>
<section class="card"><h2>Logit effects</h2>
${
    f.logits
      ? markup`<p class="lead">Direct effect of the decoder direction on the logits through the unembedding.</p>${
        logitEffectsHtml(f.logits)
      }`
      : markup`<p class="empty">Not available: the model's unembedding was not available when the features were harvested.</p>`
  }
</section></div>
<section class="card"><h2>Nearest features by decoder cosine</h2>
${
    f.neighbours
      ? neighboursHtml(f.neighbours, { href: (i) => featureHref(id, dict, i), explanations })
      : markup`<p class="empty">Not computed.</p>`
  }
</section>`;
  return pageHtml(body, {
    title: `#${f.index} · ${dict} · ${id}`,
    crumbs: [["runs", "/"], [id, runHref(id)], [dict, dictHref(id, dict)], [`#${f.index}`]],
    charts: true,
  });
}

/** A small page for errors (400/404) and notices. */
export function messagePage(title: string, message: string, options: { crumbs?: [string, string?][] } = {}): Html {
  return pageHtml(
    markup`<section class="card"><h1>${title}</h1><p>${message}</p><p><a href="/">← all runs</a></p></section>`,
    {
      title,
      crumbs: options.crumbs ?? [["runs", "/"]],
    },
  );
}
