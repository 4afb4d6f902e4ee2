/**
 * Vega-lite specifications of the SAE sweep: training curves, the sparsity–reconstruction frontier,
 * dead fractions and the MMCS heatmap. Members are drawn in series of one SAE kind and one ratio R
 * (`"tied R=2"`), so that no line joins members of different kinds.
 *
 * @module
 */
import type { MetricRow } from "@saelab/runs";
import { alphaLabel, base, FIT_WIDTH, legendPick, pickedOpacity, ratioLabel, sortedLabels } from "./_spec_base.ts";
import { downsampleRows, type MemberPoint, type VegaLiteSpec } from "./summary.ts";

/**
 * Training curves: one panel per metric (loss, MSE, L0 by default), one line per member.
 *
 * @param rows Rows of `metrics.jsonl`.
 * @param options Metrics to plot and the point budget per member (default 300).
 * @returns A faceted line chart.
 * @example
 * ```ts
 * import { trainingCurvesSpec } from "@saelab/report";
 * const spec = trainingCurvesSpec([{ member: "a", step: 0, loss: 1, mse: 0.9, l0: 12 }]);
 * ```
 */
export function trainingCurvesSpec(
  rows: readonly MetricRow[],
  options: { metrics?: string[]; maxPerMember?: number } = {},
): VegaLiteSpec {
  const metrics = options.metrics ?? ["loss", "mse", "l0"];
  const kept = downsampleRows(rows, { maxPerMember: options.maxPerMember ?? 300 });
  const names = [...new Set(kept.map((r) => r.member))].sort();
  // Twenty colours; past twenty members each further twenty get their own dash pattern, so no two
  // members share both colour and dash.
  const many = names.length > 10;
  const group = new Map(names.map((n, i) => [n, `set ${Math.floor(i / 20) + 1}`]));
  const values = kept.map((r) => {
    const v: Record<string, unknown> = { member: r.member, step: r.step, set: group.get(r.member) };
    for (const m of metrics) v[m] = typeof r[m] === "number" ? r[m] : null;
    return v;
  });
  return base("Training curves per sweep member", {
    data: { values },
    transform: [{ fold: metrics, as: ["metric", "value"] }, { filter: "isValid(datum.value)" }],
    facet: { column: { field: "metric", type: "nominal", title: null, sort: metrics } },
    spec: {
      width: 250,
      height: 190,
      params: legendPick("member"),
      mark: { type: "line", strokeWidth: 1.5, interpolate: "monotone" },
      encoding: {
        x: { field: "step", type: "quantitative", title: "step" },
        y: { field: "value", type: "quantitative", title: null, scale: { zero: false } },
        color: {
          field: "member",
          type: "nominal",
          title: "member",
          sort: "ascending",
          ...(many ? { scale: { scheme: "category20", domain: names } } : {}),
        },
        ...(names.length > 20 ? { strokeDash: { field: "set", type: "nominal", title: "members" } } : {}),
        opacity: pickedOpacity(1, 0.08),
        tooltip: [
          { field: "member", type: "nominal" },
          { field: "metric", type: "nominal" },
          { field: "step", type: "quantitative" },
          { field: "value", type: "quantitative", format: ".4g" },
        ],
      },
    },
    resolve: { scale: { y: "independent" } },
  });
}

/** The series of a member: its SAE kind (when known) and ratio. */
function seriesOf(p: MemberPoint): string {
  return p.variant ? `${p.variant} ${ratioLabel(p.ratio)}` : ratioLabel(p.ratio);
}

/** Series labels in order of kind, then ratio. */
function seriesDomain(points: readonly MemberPoint[]): string[] {
  const sorted = [...points].sort((a, b) =>
    (a.variant ?? "").localeCompare(b.variant ?? "") || a.ratio - b.ratio || a.name.localeCompare(b.name)
  );
  const series = seriesByMember(points);
  return [...new Set(sorted.map((p) => series.get(p.name)!))];
}

/**
 * Series of each member; where two members share kind, R and α (seeds, or kinds the evaluation does
 * not name), each of them gets a series of its own so that no cell, bar or line holds two members.
 */
function seriesByMember(points: readonly MemberPoint[]): Map<string, string> {
  const count = new Map<string, number>();
  const key = (p: MemberPoint) => `${seriesOf(p)}\u0000${alphaLabel(p.alpha)}`;
  for (const p of points) count.set(key(p), (count.get(key(p)) ?? 0) + 1);
  const clash = new Set(points.filter((p) => count.get(key(p))! > 1).map(seriesOf));
  return new Map(points.map((p) => [p.name, clash.has(seriesOf(p)) ? `${seriesOf(p)} · ${p.name}` : seriesOf(p)]));
}

function memberValues(points: readonly MemberPoint[]) {
  const series = seriesByMember(points);
  return points.map((p) => ({
    member: p.name,
    series: series.get(p.name)!,
    variant: p.variant ?? "sae",
    R: ratioLabel(p.ratio),
    ratio: p.ratio,
    alpha: p.alpha,
    alphaLabel: alphaLabel(p.alpha),
    fvu: p.fvu,
    l0: p.l0,
    deadFraction: p.deadFraction,
    mmcs: p.mmcs ?? null,
    mmcsReference: p.mmcsReference ?? null,
    mmcsChance: p.mmcsChance ?? null,
  }));
}

const memberTooltip = [
  { field: "member", type: "nominal" },
  { field: "variant", type: "nominal", title: "kind" },
  { field: "R", type: "nominal", title: "R" },
  { field: "alphaLabel", type: "nominal", title: "α" },
  { field: "l0", type: "quantitative", title: "L0", format: ".3g" },
  { field: "fvu", type: "quantitative", title: "FVU", format: ".3g" },
  { field: "deadFraction", type: "quantitative", title: "dead", format: ".1%" },
];

/**
 * Sparsity–reconstruction frontier: FVU against L0, one point per member, coloured by series (kind
 * and R) and shaped by kind, points of the same series joined in order of α.
 *
 * @param points Sweep members.
 * @returns A scatter-and-line chart.
 * @example
 * ```ts
 * import { frontierSpec } from "@saelab/report";
 * const spec = frontierSpec([{ name: "r1", ratio: 1, alpha: 1e-3, fvu: 0.1, l0: 5, deadFraction: 0 }]);
 * ```
 */
export function frontierSpec(points: readonly MemberPoint[]): VegaLiteSpec {
  const domain = seriesDomain(points);
  const kinds = [...new Set(points.map((p) => p.variant ?? "sae"))].sort();
  const color = {
    field: "series",
    type: "nominal",
    title: kinds.length > 1 ? "kind, ratio R" : "ratio R",
    scale: { domain },
  };
  const shape = { field: "variant", type: "nominal", title: "kind", scale: { domain: kinds } };
  const x = { field: "l0", type: "quantitative", title: "L0 (active features per token)", scale: { zero: false } };
  const y = { field: "fvu", type: "quantitative", title: "fraction of variance unexplained", scale: { zero: false } };
  return base("Sparsity–reconstruction frontier (FVU against L0) across the sweep", {
    ...FIT_WIDTH,
    height: 280,
    data: { values: memberValues(points) },
    resolve: { legend: { color: "independent" } },
    layer: [
      {
        mark: { type: "line" },
        encoding: {
          x,
          y,
          color: { ...color, legend: null },
          detail: { field: "series" },
          order: { field: "alpha" },
          opacity: pickedOpacity(0.45, 0.06),
        },
      },
      {
        params: legendPick("series"),
        mark: { type: "point", filled: true, size: 80 },
        encoding: {
          x,
          y,
          color: { ...color, legend: { symbolOpacity: 1, symbolType: "circle" } },
          opacity: pickedOpacity(1, 0.15),
          ...(kinds.length > 1 ? { shape } : {}),
          tooltip: memberTooltip,
        },
      },
    ],
  });
}

/**
 * Dead-feature fraction per member: bars grouped by α, one bar per series (kind and R).
 *
 * @param points Sweep members.
 * @returns A grouped bar chart.
 * @example
 * ```ts
 * import { deadFractionSpec } from "@saelab/report";
 * const spec = deadFractionSpec([{ name: "r1", ratio: 1, alpha: 1e-3, fvu: 0.1, l0: 5, deadFraction: 0.2 }]);
 * ```
 */
export function deadFractionSpec(points: readonly MemberPoint[]): VegaLiteSpec {
  const rDomain = seriesDomain(points);
  const aDomain = sortedLabels(points.map((p) => p.alpha), alphaLabel);
  const title = points.some((p) => p.variant) ? "kind, ratio R" : "ratio R";
  const none = points.every((p) => !(p.deadFraction > 0));
  const bars: VegaLiteSpec = {
    params: legendPick("series"),
    mark: { type: "bar" },
    encoding: {
      x: { field: "alphaLabel", type: "ordinal", title: "L1 coefficient α", sort: aDomain, axis: { labelAngle: 0 } },
      xOffset: { field: "series", type: "nominal", sort: rDomain },
      y: {
        field: "deadFraction",
        type: "quantitative",
        title: "dead features",
        // With every fraction 0 the domain would be [0, 0] and the axis would print 0.000000%.
        axis: { format: none ? ".0%" : "%" },
        ...(none ? { scale: { domain: [0, 0.1] } } : {}),
      },
      color: { field: "series", type: "nominal", title, scale: { domain: rDomain } },
      opacity: pickedOpacity(1, 0.2),
      tooltip: memberTooltip,
    },
  };
  const note: VegaLiteSpec = {
    data: { values: [{ text: "no dead features: every feature of every member fired" }] },
    mark: { type: "text", fontSize: 13, color: "#4b5563", x: { expr: "width / 2" }, y: { expr: "height / 2" } },
    encoding: { text: { field: "text" } },
  };
  return base("Fraction of dead features per sweep member", {
    ...FIT_WIDTH,
    height: 240,
    data: { values: memberValues(points) },
    layer: none ? [bars, note] : [bars],
  });
}

/**
 * MMCS heatmap over series (kind and R) × α: each cell is the mean max cosine similarity of a member's
 * decoder against its reference dictionary (usually the next larger R at the same α). Where the
 * evaluations carry the chance level (`mmcsChance`: the same statistic for random unit vectors of the
 * same sizes), each cell also prints it, and a second panel draws MMCS against α per series with the
 * chance level as a dashed line of the same colour.
 *
 * @param points Sweep members; those without MMCS are left out.
 * @returns A heatmap (with the chance panel beside it when known), or `null` when no member has MMCS.
 * @example
 * ```ts
 * import { mmcsHeatmapSpec } from "@saelab/report";
 * mmcsHeatmapSpec([{ name: "r1", ratio: 1, alpha: 1e-3, fvu: 0.1, l0: 5, deadFraction: 0 }]); // null
 * ```
 */
export function mmcsHeatmapSpec(points: readonly MemberPoint[]): VegaLiteSpec | null {
  const withMmcs = points.filter((p) => p.mmcs !== undefined);
  if (withMmcs.length === 0) return null;
  const rDomain = seriesDomain(withMmcs).reverse();
  const aDomain = sortedLabels(withMmcs.map((p) => p.alpha), alphaLabel);
  const values = memberValues(withMmcs);
  const hasChance = withMmcs.some((p) => p.mmcsChance !== undefined);
  const x = { field: "alphaLabel", type: "ordinal", title: "L1 coefficient α", sort: aDomain, axis: { labelAngle: 0 } };
  const y = {
    field: "series",
    type: "ordinal",
    title: withMmcs.some((p) => p.variant) ? "kind, ratio R" : "ratio R",
    sort: rDomain,
  };
  const chanceTip = hasChance ? [{ field: "mmcsChance", type: "quantitative", format: ".3f", title: "chance" }] : [];
  const heatmap: VegaLiteSpec = {
    width: Math.max(160, 70 * aDomain.length),
    height: Math.max(100, 50 * rDomain.length),
    data: { values },
    encoding: { x, y },
    layer: [
      {
        mark: { type: "rect" },
        encoding: {
          color: { field: "mmcs", type: "quantitative", title: "MMCS", scale: { scheme: "viridis", domain: [0, 1] } },
          tooltip: [...memberTooltip, { field: "mmcs", type: "quantitative", format: ".3f" }, {
            field: "mmcsReference",
            type: "nominal",
            title: "against",
          }, ...chanceTip],
        },
      },
      {
        mark: { type: "text", fontSize: 12, ...(hasChance ? { dy: -6 } : {}) },
        encoding: {
          text: { field: "mmcs", type: "quantitative", format: ".2f" },
          color: { condition: { test: "datum.mmcs > 0.6", value: "black" }, value: "white" },
        },
      },
      ...(hasChance
        ? [{
          transform: [{ filter: "isValid(datum.mmcsChance)" }, {
            calculate: "'chance ' + format(datum.mmcsChance, '.2f')",
            as: "chanceText",
          }],
          mark: { type: "text", fontSize: 9, dy: 8 },
          encoding: {
            text: { field: "chanceText" },
            color: { condition: { test: "datum.mmcs > 0.6", value: "black" }, value: "white" },
          },
        }]
        : []),
    ],
  };
  const title = "Mean max cosine similarity (MMCS) of each member against its reference, over kind, R and α";
  if (!hasChance) return base(title, heatmap);
  const sDomain = seriesDomain(withMmcs);
  const color = { field: "series", type: "nominal", title: y.title, scale: { domain: sDomain } };
  const ax = { field: "alpha", type: "quantitative", title: "L1 coefficient α", scale: { type: "log" } };
  const line: VegaLiteSpec = {
    width: 300,
    height: Math.max(160, 50 * rDomain.length),
    data: { values: values.filter((v) => Number.isFinite(v.alpha) && v.alpha > 0) },
    layer: [
      {
        mark: { type: "line", point: { filled: true, size: 50 } },
        encoding: {
          x: ax,
          y: { field: "mmcs", type: "quantitative", title: "MMCS (dashed: chance)", scale: { domain: [0, 1] } },
          color,
          detail: { field: "series" },
          order: { field: "alpha" },
          tooltip: [...memberTooltip, { field: "mmcs", type: "quantitative", format: ".3f" }, ...chanceTip],
        },
      },
      {
        transform: [{ filter: "isValid(datum.mmcsChance)" }],
        mark: { type: "line", strokeDash: [4, 4], strokeWidth: 1.5, opacity: 0.8 },
        encoding: {
          x: ax,
          y: { field: "mmcsChance", type: "quantitative" },
          color: { ...color, legend: null },
          detail: { field: "series" },
          order: { field: "alpha" },
          tooltip: [{ field: "series", title: "series" }, ...chanceTip],
        },
      },
    ],
  };
  return base(`${title}, with the chance level of random unit vectors of the same sizes`, {
    hconcat: [heatmap, line],
    resolve: { scale: { color: "independent" } },
  });
}
