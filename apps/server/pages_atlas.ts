/**
 * The parts of the feature pages that come from the atlas (every feature's statistics, top and
 * activation-interval fragments, top tokens and histogram) and the search box of the feature browser.
 *
 * @module
 */
import {
  chartHtml,
  formatNumber,
  fragmentsHtml,
  histogramSpec,
  type Html,
  intervalsHtml,
  markup,
  topTokensHtml,
} from "@saelab/report";
import type { AtlasEntry } from "@saelab/runs";
import { dictHref } from "./params.ts";

/** Tokens shown on each side of a fragment's peak. */
export const FRAGMENT_WINDOW = 12;

/** One statistic box. */
export function statHtml(value: string, key: string): Html {
  return markup`<div class="stat"><div class="v">${value}</div><div class="k">${key}</div></div>`;
}

/** The statistics boxes of an atlas entry. */
export function atlasStatsHtml(a: AtlasEntry): Html {
  return markup`<div class="stats">${statHtml(formatNumber(a.density), "density")}${
    statHtml(formatNumber(a.maxActivation), "max activation")
  }${statHtml(formatNumber(a.meanActivation), "mean activation (active)")}${
    statHtml(String(a.fragments), "fragments where it fires")
  }</div>`;
}

/** Histogram of an atlas entry or detail. */
export function activationHistogramHtml(hist: AtlasEntry["histogram"]): Html {
  return chartHtml("histogram", histogramSpec(hist), {
    caption: hist.zeros !== undefined
      ? `Plus ${formatNumber(hist.zeros)} tokens where the feature is zero.`
      : undefined,
  });
}

/**
 * The atlas sections of a feature page: top fragments (unless the page shows the scored ones), activation
 * intervals and top tokens.
 */
export function atlasSectionsHtml(a: AtlasEntry, options: { top: boolean }): Html {
  const max = a.maxActivation;
  const shown = a.top.length + a.intervals.reduce((n, q) => n + q.fragments.length, 0);
  return markup`${
    options.top
      ? markup`<section class="card" id="top"><h2>Top-activating fragments</h2>
<p class="lead">The held-out fragments with the largest peaks, each centred on its peak token (outlined) and shaded by
the activation (full colour = max activation ${formatNumber(max)}); hover a token for its value.</p>
${fragmentsHtml(a.top, { max, window: FRAGMENT_WINDOW })}</section>`
      : markup``
  }
<div class="grid2">
<section class="card" id="intervals"><h2>Activation intervals</h2>
<p class="lead">Examples from equal-width intervals of [0, ${formatNumber(max)}] (SAEDashboard's "activation
quantiles"): a fragment belongs to the interval of its peak, the top fragments are not repeated, and the share counts
the feature's positive activations over all held-out tokens.</p>
${intervalsHtml(a.intervals, { max, window: FRAGMENT_WINDOW })}</section>
<section class="card" id="top-tokens"><h2>Top tokens</h2>${topTokensHtml(a.topTokens, { fragments: shown })}</section>
</div>`;
}

/** The search box of a feature browser: feature index, token or explanation text. */
export function searchFormHtml(id: string, dict: string, q: string | undefined): Html {
  return markup`<form class="search" action="${dictHref(id, dict)}" method="get" role="search">
<label for="feature-search">Search</label>
<input type="search" id="feature-search" name="q" value="${q ?? ""}" maxlength="100"
 placeholder="feature index (#12), a token it fires on, or words of its explanation">
<button type="submit">Search</button>${q ? markup` <a href="${dictHref(id, dict)}">clear</a>` : markup``}
</form>`;
}
