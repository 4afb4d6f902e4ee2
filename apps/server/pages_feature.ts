/**
 * The feature page: a sampled feature's full page and a not-sampled feature's page.
 *
 * @module
 */
import {
  chartHtml,
  formatNumber,
  fragmentsHtml,
  type Html,
  logitEffectsHtml,
  logitHistogramSpec,
  markup,
  neighboursHtml,
  pageHtml,
  scoreBreakdownHtml,
} from "@saelab/report";
import type { AtlasEntry, FeatureDetail, FeatureIndex, LogitEffects, Neighbour } from "@saelab/runs";
import { activationHistogramHtml, atlasSectionsHtml, atlasStatsHtml, FRAGMENT_WINDOW } from "./pages_atlas.ts";
import { dictHref, featureHref, runHref } from "./params.ts";

/** A feature's best match in its dictionary's MMCS reference (the next larger dictionary). */
export interface Partner {
  /** The reference dictionary. */
  dict: string;
  /** Its feature with the largest decoder cosine. */
  index: number;
  /** That cosine. */
  cosine: number;
}

function partnerHtml(id: string, partner: Partner | undefined): Html {
  if (!partner) return markup``;
  return markup`<section class="card"><h2>MMCS partner</h2><p>Closest feature in the next larger dictionary
<code>${partner.dict}</code> (the one this dictionary's MMCS is measured against):
<a href="${featureHref(id, partner.dict, partner.index)}">#${partner.index}</a>, decoder cosine ${
    formatNumber(partner.cosine)
  }.</p></section>`;
}

function logitsCard(logits: LogitEffects | undefined): Html {
  return markup`<section class="card"><h2>Logit effects</h2>
${
    logits
      ? markup`<p class="lead">Direct effect of the decoder direction on the logits through the final LayerNorm weight
and the unembedding.</p>${logitEffectsHtml(logits)}${
        logits.histogram &&
        markup`<div class="charts">${chartHtml("logit-histogram", logitHistogramSpec(logits.histogram))}</div>`
      }`
      : markup`<p class="empty">Not available: the hook is not in the residual stream, or the model's unembedding
could not be read when the features were harvested.</p>`
  }
</section>`;
}

/** Where a dictionary's features can be reached: its size and whether it has a feature browser. */
export interface DictReach {
  /** `d_sae` from the dictionary's cfg.json, when it could be read. */
  size?: number;
  /** Whether `features/<dict>/index.json` exists (the browser page answers). */
  browsable: boolean;
}

/**
 * Previous/next links over pages that answer: every index in `[0, size)` when the size is known,
 * else only the features with detail pages.
 */
function featureNav(id: string, dict: string, i: number, options: { reach: DictReach; known: Set<number> }): Html {
  const { size } = options.reach;
  const exists = (j: number) => j >= 0 && (size !== undefined ? j < size : options.known.has(j));
  const prev = exists(i - 1) && markup`<a href="${featureHref(id, dict, i - 1)}" rel="prev">← #${i - 1}</a>`;
  const next = exists(i + 1) && markup`<a href="${featureHref(id, dict, i + 1)}" rel="next">#${i + 1} →</a>`;
  const sampled = [...options.known].sort((a, b) => a - b);
  const before = sampled.filter((j) => j < i).at(-1), after = sampled.find((j) => j > i);
  const jump = (j: number | undefined, label: string) =>
    j !== undefined && j !== i - 1 && j !== i + 1 && markup`<a href="${featureHref(id, dict, j)}">${label}</a>`;
  return markup`<span class="featnav">${jump(before, `← sampled #${before}`)}${prev}${next}${
    jump(after, `sampled #${after} →`)
  }</span>`;
}

function featureCrumbs(id: string, dict: string, options: { i: number; reach: DictReach }): [string, string?][] {
  return [
    ["runs", "/"],
    [id, runHref(id)],
    options.reach.browsable ? [dict, dictHref(id, dict)] : [dict],
    [`#${options.i}`],
  ];
}

/** The page of one feature. */
export function featurePage(
  id: string,
  f: FeatureDetail,
  options: { index: FeatureIndex | null; reach?: DictReach; partner?: Partner; atlas?: AtlasEntry },
): Html {
  const dict = f.dict;
  const { atlas } = options;
  const reach = options.reach ?? { browsable: options.index !== null };
  const explanations = new Map(
    (options.index?.features ?? []).flatMap((s) => (s.explanation ? [[s.index, s.explanation]] : [])),
  );
  const known = new Set(options.index?.sampled ?? (options.index?.features ?? []).map((s) => s.index));
  const nav = featureNav(id, dict, f.index, { reach, known });
  const stat = (v: string, k: string) =>
    markup`<div class="stat"><div class="v">${v}</div><div class="k">${k}</div></div>`;
  const max = f.maxActivation;
  const body = markup`<section class="card">
<div class="toolbar"><h1>Feature #${f.index} <span class="badge">${dict}</span> <span class="badge sampled">scored</span></h1>${nav}</div>
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
  ${atlas && stat(String(atlas.fragments), "fragments where it fires")}
</div></section>
<section class="card" id="top"><h2>Top-activating fragments</h2>
<p class="lead">The fragments explained and scored, largest peak first, each centred on its peak token (outlined) and
shaded by the feature's activation (full colour = max activation ${formatNumber(max)}); hover a token for its
value.</p>
${fragmentsHtml(f.top, { max, window: FRAGMENT_WINDOW })}</section>
<section class="card"><h2>Random active fragments</h2>${
    fragmentsHtml(f.random, { max, window: FRAGMENT_WINDOW })
  }</section>
${atlas ? atlasSectionsHtml(atlas, { top: false }) : markup``}
<section class="card" id="score"><h2>Score breakdown</h2>${scoreBreakdownHtml(f)}</section>
<div class="grid2">
<section class="card"><h2>Activation histogram</h2>
<div class="charts">${activationHistogramHtml(f.histogram)}</div></section>
${logitsCard(f.logits ?? atlas?.logits)}</div>
<section class="card"><h2>Nearest features by decoder cosine</h2>
${
    f.neighbours
      ? neighboursHtml(f.neighbours, { href: (i) => featureHref(id, dict, i), explanations })
      : markup`<p class="empty">Not computed.</p>`
  }
</section>
${partnerHtml(id, options.partner)}`;
  return pageHtml(body, {
    title: `#${f.index} · ${dict} · ${id}`,
    crumbs: featureCrumbs(id, dict, { i: f.index, reach }),
    charts: true,
  });
}

/**
 * The page of a feature that has no detail file: it was not sampled for explanation and scoring.
 * It says what the run holds for it (the summary line of the index, when the index has one) and
 * links to the sampled features around it.
 */
export function unsampledFeaturePage(
  id: string,
  dict: string,
  options: {
    i: number;
    index: FeatureIndex | null;
    reach: DictReach;
    neighbours?: Neighbour[];
    partner?: Partner;
    atlas?: AtlasEntry;
  },
): Html {
  const { i, index, reach, atlas } = options;
  const summary = index?.features.find((s) => s.index === i);
  const known = new Set(index?.sampled ?? (index?.features ?? []).map((s) => s.index));
  const stat = (v: string, k: string) =>
    markup`<div class="stat"><div class="v">${v}</div><div class="k">${k}</div></div>`;
  const stats = atlas
    ? atlasStatsHtml(atlas)
    : summary
    ? markup`<div class="stats">${stat(formatNumber(summary.density), "density")}${
      stat(formatNumber(summary.maxActivation), "max activation")
    }${
      summary.meanActivation !== undefined ? stat(formatNumber(summary.meanActivation), "mean activation (active)") : ""
    }</div>`
    : markup``;
  const why = atlas
    ? markup`<p>This feature was not sampled for explanation and scoring (${known.size} of ${
      reach.size ?? "?"
    } features of <code>${dict}</code> were${
      reach.browsable && markup`; <a href="${dictHref(id, dict)}">browse them</a>`
    }): its statistics, fragments, intervals and top tokens come from the same pass over the held-out tokens as
theirs${atlas.logits ? ", its logit effects from its decoder direction" : ""}; it has no explanation or score.</p>`
    : index
    ? markup`<p>This feature was not sampled for explanation and scoring: the run holds fragments, histograms,
logit effects and neighbours for ${known.size} of ${reach.size ?? "?"} features of <code>${dict}</code>${
      reach.browsable && markup` (<a href="${dictHref(id, dict)}">browse them</a>)`
    }.${summary ? " The line above is its summary from the dictionary's feature index." : ""}</p>`
    : markup`<p>No features of <code>${dict}</code> were harvested in this run, so it has no statistics for this
feature beyond the dictionary's weights (<code>d_sae</code> = ${reach.size ?? "?"}).</p>`;
  const body = markup`<section class="card">
<div class="toolbar"><h1>Feature #${i} <span class="badge">${dict}</span> <span class="badge">not sampled</span></h1>${
    featureNav(id, dict, i, { reach, known })
  }</div>
${stats}${why}</section>
${
    atlas
      ? markup`${atlasSectionsHtml(atlas, { top: true })}<div class="grid2"><section class="card">
<h2>Activation histogram</h2><div class="charts">${activationHistogramHtml(atlas.histogram)}</div></section>
${logitsCard(atlas.logits)}</div>`
      : markup``
  }
${
    options.neighbours
      ? markup`<section class="card"><h2>Nearest features by decoder cosine</h2>
<p class="lead">Computed from the dictionary's decoder.</p>${
        neighboursHtml(options.neighbours, {
          href: (j) => featureHref(id, dict, j),
          explanations: new Map(
            (index?.features ?? []).flatMap((s) => (s.explanation ? [[s.index, s.explanation]] : [])),
          ),
        })
      }</section>`
      : markup``
  }
${partnerHtml(id, options.partner)}`;
  return pageHtml(body, {
    title: `#${i} · ${dict} · ${id}`,
    crumbs: featureCrumbs(id, dict, { i, reach }),
    charts: atlas !== undefined,
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
