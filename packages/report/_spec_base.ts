/**
 * Shared pieces of every vega-lite specification.
 *
 * @module
 */
import type { VegaLiteSpec } from "./summary.ts";

/** The vega-lite schema the specifications are written against. */
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** Common top-level fields: schema, description, config. */
export function base(description: string, spec: VegaLiteSpec): VegaLiteSpec {
  return {
    $schema: VEGA_LITE_SCHEMA,
    description,
    ...spec,
    config: {
      font: "system-ui, -apple-system, 'Segoe UI', sans-serif",
      view: { stroke: "#d9dce3" },
      axis: { labelColor: "#3b4252", titleColor: "#2e3440", gridColor: "#eceff4", domainColor: "#aab" },
      legend: { labelColor: "#3b4252", titleColor: "#2e3440" },
      header: { labelFontSize: 13, labelFontWeight: "bold", labelColor: "#2e3440" },
      ...(spec.config as object | undefined),
    },
  };
}

/** `1e-3` style label of an L1 coefficient. */
export function alphaLabel(alpha: number): string {
  if (!Number.isFinite(alpha)) return "?";
  if (alpha === 0) return "0";
  const e = alpha.toExponential(1).replace("e+", "e").replace(".0e", "e");
  return e;
}

/** `R=4` label of a dictionary ratio. */
export function ratioLabel(ratio: number): string {
  return `R=${Number(ratio.toPrecision(3))}`;
}

/** Labels sorted by the numbers they were made from, without duplicates. */
export function sortedLabels(values: readonly number[], label: (v: number) => string): string[] {
  return [...new Set([...values].sort((a, b) => a - b).map(label))];
}

/**
 * Width of a single or layered view: the width of the box it is drawn in (vega-lite `"container"`),
 * refitted when the box resizes, so that no chart runs past its card.
 */
export const FIT_WIDTH = { width: "container", autosize: { type: "fit", contains: "padding", resize: true } } as const;

/** Name of the legend-bound selection of {@linkcode legendPick}. */
export const PICK = "pick";

/**
 * A point selection on `field` bound to the legend: clicking a legend entry keeps that series
 * bright and dims the others (shift-click adds one, double-click clears). Put it in one unit layer.
 */
export function legendPick(field: string): VegaLiteSpec[] {
  return [{ name: PICK, select: { type: "point", fields: [field] }, bind: "legend" }];
}

/** Opacity that follows {@linkcode legendPick}: `on` for picked series (all when none is picked), else `off`. */
export function pickedOpacity(on: number, off = 0.12): VegaLiteSpec {
  return { condition: { param: PICK, value: on }, value: off };
}
