/**
 * Vega-lite specifications of the feature browser: the dictionary's log10 feature density histogram and a
 * feature's logit-effect histogram.
 *
 * @module
 */
import type { Histogram } from "@saelab/runs";
import { base, FIT_WIDTH } from "./_spec_base.ts";
import type { VegaLiteSpec } from "./summary.ts";

/**
 * Histogram of log10 feature density over a dictionary's features; features that never fire are counted
 * apart (in the title) since their log is −∞.
 *
 * @param densities Each feature's firing density in [0, 1].
 * @param options Bins (default 40).
 * @returns A bar chart of feature counts per log10-density bin.
 * @example
 * ```ts
 * import { densityHistogramSpec } from "@saelab/report";
 * const spec = densityHistogramSpec([0.1, 0.01, 0]);
 * JSON.stringify(spec).includes("1 never fire"); // true
 * ```
 */
export function densityHistogramSpec(densities: readonly number[], options: { bins?: number } = {}): VegaLiteSpec {
  const logs = densities.filter((d) => d > 0).map((d) => Math.log10(d));
  const dead = densities.length - logs.length;
  const bins = options.bins ?? 40;
  const lo = logs.length ? Math.min(...logs) : -1, hi = logs.length ? Math.max(...logs) : 0;
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array(bins).fill(0);
  for (const v of logs) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  const values = counts.map((count, i) => ({ lo: lo + i * width, hi: lo + (i + 1) * width, count }));
  return base(`log10 feature density (${logs.length} features; ${dead} never fire on the held-out tokens)`, {
    ...FIT_WIDTH,
    height: 180,
    data: { values },
    mark: { type: "bar", color: "#4c78a8", binSpacing: 1 },
    encoding: {
      x: {
        field: "lo",
        type: "quantitative",
        bin: "binned",
        title: "log10 density",
        axis: { format: ".2f", labelOverlap: true },
      },
      x2: { field: "hi" },
      y: { field: "count", type: "quantitative", title: "features" },
      tooltip: [
        { field: "lo", type: "quantitative", format: ".2f", title: "from" },
        { field: "hi", type: "quantitative", format: ".2f", title: "to" },
        { field: "count", type: "quantitative", title: "features" },
      ],
    },
  });
}

/**
 * Histogram of a feature's direct logit effect over the whole vocabulary (from pre-binned counts).
 *
 * @param hist Edges and counts.
 * @returns A bar chart of tokens per effect bin, negative effects red and positive ones blue.
 * @example
 * ```ts
 * import { logitHistogramSpec } from "@saelab/report";
 * const spec = logitHistogramSpec({ edges: [-1, 0, 1], counts: [3, 4] });
 * ```
 */
export function logitHistogramSpec(hist: Histogram): VegaLiteSpec {
  const values = hist.counts.map((count, i) => ({
    lo: hist.edges[i],
    hi: hist.edges[i + 1],
    count,
    sign: (hist.edges[i] + hist.edges[i + 1]) / 2 < 0 ? "suppressed" : "promoted",
  }));
  return base("Direct logit effect of the decoder direction over the vocabulary", {
    ...FIT_WIDTH,
    height: 180,
    data: { values },
    mark: { type: "bar", binSpacing: 1 },
    encoding: {
      x: { field: "lo", type: "quantitative", bin: "binned", title: "logit effect", axis: { format: ".2g" } },
      x2: { field: "hi" },
      y: { field: "count", type: "quantitative", title: "tokens" },
      color: {
        field: "sign",
        type: "nominal",
        scale: { domain: ["suppressed", "promoted"], range: ["#e45756", "#4c78a8"] },
        legend: null,
      },
      tooltip: [
        { field: "lo", type: "quantitative", format: ".3g", title: "from" },
        { field: "hi", type: "quantitative", format: ".3g", title: "to" },
        { field: "count", type: "quantitative", title: "tokens" },
      ],
    },
  });
}
