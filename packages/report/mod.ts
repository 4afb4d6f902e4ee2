/**
 * Pure functions from run data to vega-lite specifications and HTML fragments: training curves,
 * the sparsity–reconstruction frontier, dead fractions, the MMCS heatmap, the method comparison
 * with bootstrap intervals, patching curves, circuit graphs, activation histograms, shaded tokens,
 * tables and the page shell. Nothing here reads files, the clock or the environment.
 *
 * ```ts
 * import { frontierSpec, memberPoints } from "@saelab/report";
 * const spec = frontierSpec(memberPoints([]));
 * ```
 *
 * @module
 */
export * from "./summary.ts";
export { alphaLabel, ratioLabel, VEGA_LITE_SCHEMA } from "./_spec_base.ts";
export * from "./specs_sweep.ts";
export * from "./specs_results.ts";
export * from "./specs_toy.ts";
export * from "./toy_text.ts";
export * from "./kinds.ts";
export * from "./specs_kinds.ts";
export * from "./features.ts";
export * from "./html.ts";
export * from "./html_run.ts";
export * from "./html_feature.ts";
export * from "./html_atlas.ts";
export * from "./specs_features.ts";
export * from "./verdict.ts";
export { markdownHtml } from "./markdown.ts";
