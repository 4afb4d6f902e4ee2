/**
 * HTML of the feature page's atlas and score sections: activation-interval examples, top tokens, and the
 * score breakdown of each explainer/simulator backend (top and random scores, detection, fuzzing, and the
 * simulated against the true activations of every held-out fragment).
 *
 * @module
 */
import {
  type ActivationInterval,
  type FeatureDetail,
  type FeatureResult,
  TOKEN_LOOKUP,
  type TopToken,
} from "@saelab/runs";
import { type Html, markup, tableHtml } from "./html.ts";
import { fragmentsHtml, shadedTokensHtml, visibleToken } from "./html_feature.ts";
import { formatNumber as f } from "./summary.ts";

/**
 * Examples from equal-width intervals of the activation range, highest interval first, each with its bounds
 * and the share of the feature's positive activations inside it.
 *
 * @param intervals The intervals.
 * @param options Shading maximum (the feature's max activation) and tokens shown on each side of the peak.
 * @returns HTML.
 * @example
 * ```ts
 * import { intervalsHtml } from "@saelab/report";
 * intervalsHtml([{ low: 0, high: 1, share: 0.5, fragments: [] }], { max: 1 }).includes("50"); // true
 * ```
 */
export function intervalsHtml(
  intervals: readonly ActivationInterval[],
  options: { max: number; window?: number },
): Html {
  if (intervals.length === 0) return markup`<p class="empty">No intervals.</p>`;
  const parts = intervals.map((q) =>
    markup`<h3>Interval ${f(q.low)} – ${f(q.high)} <span class="muted">· ${
      (q.share * 100).toFixed(q.share < 0.01 && q.share > 0 ? 2 : 1)
    }% of the positive activations</span></h3>${
      q.fragments.length
        ? fragmentsHtml(q.fragments, options)
        : markup`<p class="empty">No other fragment peaks here.</p>`
    }`
  );
  return markup`<div class="intervals">${parts}</div>`;
}

/**
 * The tokens a feature fires on most strongly, with their largest activation and how often it fires on them.
 *
 * @param tokens Top tokens, largest activation first.
 * @param options How many fragments they were counted in (for the caption).
 * @returns HTML.
 * @example
 * ```ts
 * import { topTokensHtml } from "@saelab/report";
 * topTokensHtml([{ token: " the", max: 2, count: 3 }], { fragments: 5 }).includes("the"); // true
 * ```
 */
export function topTokensHtml(tokens: readonly TopToken[], options: { fragments: number }): Html {
  const table = tableHtml(tokens, {
    className: "data compact top-tokens",
    empty: "The feature does not fire on these fragments.",
    columns: [
      {
        label: "token",
        cell: (t) => markup`<code class="token" title="${JSON.stringify(t.token)}">${visibleToken(t.token)}</code>`,
      },
      { label: "max activation", numeric: true, cell: (t) => f(t.max) },
      { label: "positions", numeric: true, cell: (t) => String(t.count) },
    ],
  });
  return markup`<p class="lead">Among the ${options.fragments} fragments on this page (top and interval examples).</p>${table}`;
}

/** What a backend's numbers measure, by backend name. */
function backendNote(backend: string): Html {
  if (backend === "synthetic") {
    return markup`<p class="note"><strong>synthetic</strong>: made-up numbers of a demo run, no measurement.</p>`;
  }
  if (backend === TOKEN_LOOKUP) {
    return markup`<p class="note"><strong>${backend}</strong> is a token-lookup simulator: the "explanation" is a
table of the current and previous tokens, and its score measures how well those tokens predict the activations.
It is a baseline to compare dictionaries with, <em>not</em> a measure of interpretability; rescore with
<code>--backend llm</code> for explanations and simulations by a language model (Bills et al.).</p>`;
  }
  return markup`<p class="note"><strong>${backend}</strong>: explained and simulated by a language model after Bills
et al.; the correlation compares its simulated activations with the true ones on held-out fragments.</p>`;
}

const num = (v: number | null | undefined) => (typeof v === "number" ? f(v) : "–");

/** The numbers of one backend's result with their reference levels. */
function resultTable(r: FeatureResult): Html {
  const rows: { what: string; value: string; reference: string }[] = [
    { what: "simulation correlation, top + random", value: num(r.score), reference: "0 = no linear relation" },
    { what: "simulation correlation, top fragments", value: num(r.topScore), reference: "0" },
    { what: "simulation correlation, random fragments", value: num(r.randomScore), reference: "0" },
  ];
  if (r.detection) {
    rows.push(
      {
        what: `detection accuracy (${r.detection.n} fragments)`,
        value: num(r.detection.accuracy),
        reference: "chance 0.5",
      },
      { what: "detection ROC AUC", value: num(r.detection.auc), reference: "chance 0.5" },
    );
  }
  if (r.fuzzing) {
    rows.push({
      what: `fuzzing balanced accuracy (${r.fuzzing.nCorrect} + ${r.fuzzing.nFuzzed})`,
      value: num(r.fuzzing.balancedAccuracy),
      reference: "chance 0.5",
    });
  }
  return tableHtml(rows, {
    className: "data compact score-breakdown",
    columns: [
      { label: "measure", cell: (x) => x.what },
      { label: "value", numeric: true, cell: (x) => x.value },
      { label: "reference", cell: (x) => markup`<span class="muted">${x.reference}</span>` },
    ],
  });
}

/** Simulated against true activations, one held-out fragment per line. */
function heldOutHtml(detail: FeatureDetail, r: FeatureResult): Html {
  if (!r.heldOut?.length) {
    return markup`<p class="empty">The per-fragment simulations were not stored (scored before they were kept).</p>`;
  }
  const items = r.heldOut.map((h) => {
    const fr = (h.role === "top" ? detail.top : detail.random)[h.at];
    if (!fr || fr.tokens.length !== h.simulated.length) return markup``;
    const simMax = Math.max(1e-12, ...h.simulated);
    return markup`<li class="sim-pair"><span class="peak" title="correlation on this fragment">r ${
      f(h.score)
    }</span><span><span class="frag"><span class="label">${h.role} · true</span></span>${
      shadedTokensHtml(fr, { max: detail.maxActivation })
    }<span class="frag"><span class="label">simulated</span></span>${
      shadedTokensHtml({ tokens: fr.tokens, acts: h.simulated }, { max: simMax })
    }</span></li>`;
  });
  return markup`<ol class="fragments held-out">${items}</ol>`;
}

/**
 * The score breakdown of a scored feature: per backend, what it is, its numbers beside their reference
 * levels, and the simulated against the true activations on each held-out fragment.
 *
 * @param detail The feature's detail.
 * @returns HTML (a notice when the feature has no results).
 * @example
 * ```ts
 * import { scoreBreakdownHtml } from "@saelab/report";
 * const d = { dict: "d", index: 0, density: 0, maxActivation: 1, top: [], random: [],
 *   histogram: { edges: [0, 1], counts: [0] } };
 * scoreBreakdownHtml(d).includes("not scored"); // true
 * ```
 */
export function scoreBreakdownHtml(detail: FeatureDetail): Html {
  const results = Object.entries(detail.results ?? {});
  if (results.length === 0) {
    return typeof detail.score === "number"
      ? markup`${detail.backend ? backendNote(detail.backend) : markup``}<p class="empty">Score ${
        f(detail.score)
      }; its breakdown was not stored with this run.</p>`
      : markup`<p class="empty">This feature was sampled but not scored yet.</p>`;
  }
  return markup`${
    results.map(([backend, r]) =>
      markup`<div class="backend-result"><h3>${backend}${backend === detail.backend ? " (shown)" : ""}</h3>${
        backendNote(backend)
      }${r.error ? markup`<p class="empty">Not scored: ${r.error}</p>` : markup``}${
        r.explanation ? markup`<blockquote class="explanation">${r.explanation}</blockquote>` : markup``
      }${resultTable(r)}<h4>Held-out fragments: true (above) and simulated (below) activations</h4>${
        heldOutHtml(detail, r)
      }</div>`
    )
  }`;
}
