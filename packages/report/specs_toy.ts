/**
 * Vega-lite specifications of the ground-truth toy experiment (`toy.json`):
 * MMCS with the true features against α and MMCS between dictionary sizes
 * against α, one line per ratio R and kind, each with its chance level.
 *
 * @module
 */
import { alphaLabel, base, ratioLabel, sortedLabels } from "./_spec_base.ts";
import type { VegaLiteSpec } from "./summary.ts";
import type { ToyJsonMember } from "@saelab/runs";

/** One member of `toy.json`. */
export type ToyMemberRow = ToyJsonMember;

/** The parts of `toy.json` the charts read. */
export interface ToyChartData {
  /** The members. */
  members: readonly ToyMemberRow[];
  /** The member picked without ground truth. */
  chosen?: string;
  /** Chance level of `mmcsTruth` per R (random unit vectors of the same sizes). */
  truthChance?: readonly { ratio: number; value: number }[];
  /** Chance level of `mmcsBetween` per R (the smaller ratio of each pair). */
  betweenChance?: readonly { ratio: number; value: number }[];
}

type Which = "mmcsTruth" | "mmcsBetween";

function toyChart(data: ToyChartData, which: Which, text: { title: string; caption: string[]; y: string }) {
  const rows = data.members.filter((m) => m[which] !== null && Number.isFinite(m[which]) && m.l1 > 0);
  if (rows.length === 0) return null;
  const chance = (which === "mmcsTruth" ? data.truthChance : data.betweenChance) ?? [];
  const domain = sortedLabels([...rows.map((m) => m.ratio), ...chance.map((c) => c.ratio)], ratioLabel);
  const kinds = [...new Set(rows.map((m) => m.kind))].sort();
  const color = { field: "R", type: "nominal", title: "ratio R", scale: { domain } };
  const x = { field: "alpha", type: "quantitative", title: "L1 coefficient α (log scale)", scale: { type: "log" } };
  const y = { field: "value", type: "quantitative", title: text.y, scale: { domain: [0, 1] } };
  const values = rows.map((m) => ({
    member: m.name,
    kind: m.kind,
    R: ratioLabel(m.ratio),
    alpha: m.l1,
    alphaLabel: alphaLabel(m.l1),
    value: m[which],
    l0: m.l0,
    deadFraction: m.deadFraction,
    chosen: m.name === data.chosen,
  }));
  const layers: VegaLiteSpec[] = [
    {
      mark: { type: "line", strokeWidth: 1.5 },
      encoding: {
        x,
        y,
        color,
        strokeDash: { field: "kind", type: "nominal", title: "kind", scale: { domain: kinds } },
        detail: [{ field: "R" }, { field: "kind" }],
        order: { field: "alpha" },
      },
    },
    {
      mark: { type: "point", filled: true, size: 60, opacity: 1 },
      encoding: {
        x,
        y,
        color: { ...color, legend: null },
        shape: { field: "kind", type: "nominal", title: "kind", scale: { domain: kinds } },
        tooltip: [
          { field: "member", type: "nominal" },
          { field: "alphaLabel", type: "nominal", title: "α" },
          { field: "value", type: "quantitative", title: text.y, format: ".3f" },
          { field: "l0", type: "quantitative", title: "L0", format: ".3g" },
          { field: "deadFraction", type: "quantitative", title: "dead", format: ".1%" },
        ],
      },
    },
  ];
  if (values.some((v) => v.chosen)) {
    layers.push({
      transform: [{ filter: "datum.chosen" }],
      mark: { type: "point", shape: "circle", size: 260, strokeWidth: 2, color: "#2e3440", filled: false },
      encoding: { x, y, tooltip: [{ field: "member", type: "nominal", title: "chosen without ground truth" }] },
    });
  }
  if (chance.length > 0) {
    layers.push({
      data: { values: chance.map((c) => ({ R: ratioLabel(c.ratio), value: c.value })) },
      mark: { type: "rule", strokeDash: [4, 3], strokeWidth: 1.2, opacity: 0.8 },
      encoding: {
        y,
        color: { ...color, legend: null },
        tooltip: [{ field: "R", type: "nominal" }, {
          field: "value",
          type: "quantitative",
          title: "chance level",
          format: ".3f",
        }],
      },
    });
  }
  return base(text.title, {
    title: { text: text.title, subtitle: text.caption, anchor: "start" },
    width: 420,
    height: 260,
    data: { values },
    layer: layers,
    resolve: { legend: { color: "independent" } },
  });
}

/**
 * MMCS with the ground truth against α: for each member, the mean over the true features of the best
 * cosine with a learned feature; one line per R (solid/dashed per kind), the chance level of each R
 * (random unit vectors of the same sizes) as a dashed rule, the member chosen without ground truth ringed.
 *
 * @param data `toy.json`'s members, chosen member and chance levels.
 * @returns A line chart on a log α axis, or `null` when no member has α > 0.
 * @example
 * ```ts
 * import { toyTruthSpec } from "@saelab/report";
 * const m = { kind: "untied", l0: 5, deadFraction: 0, mmcsBetween: null };
 * const spec = toyTruthSpec({
 *   members: [{ ...m, name: "a", ratio: 2, l1: 1e-3, mmcsTruth: 0.8 }, { ...m, name: "b", ratio: 2, l1: 1e-2, mmcsTruth: 0.95 }],
 *   truthChance: [{ ratio: 2, value: 0.4 }],
 * });
 * ```
 */
export function toyTruthSpec(data: ToyChartData): VegaLiteSpec | null {
  return toyChart(data, "mmcsTruth", {
    title: "Recovery of known features: MMCS with the ground truth against α",
    caption: [
      "Per member: the mean over the true features of the best cosine with a learned feature (1 = all recovered).",
      "Dashed rules: the same statistic for random unit vectors of the same sizes (chance). Ring: the member chosen",
      "without ground truth (MMCS between sizes, dead features, L0).",
    ],
    y: "MMCS with the true features",
  });
}

/**
 * MMCS between dictionary sizes against α: for each member, the mean over the features of the next-larger
 * dictionary (same kind and α) of the best cosine with one of its own features — the signal available
 * without ground truth; one line per R and kind, each R's chance level as a dashed rule.
 *
 * @param data `toy.json`'s members, chosen member and chance levels.
 * @returns A line chart on a log α axis, or `null` when no member has a larger partner.
 * @example
 * ```ts
 * import { toyBetweenSpec } from "@saelab/report";
 * const m = { kind: "untied", l0: 5, deadFraction: 0, mmcsTruth: 0.9 };
 * const spec = toyBetweenSpec({
 *   members: [{ ...m, name: "a", ratio: 1, l1: 1e-3, mmcsBetween: 0.7 }, { ...m, name: "b", ratio: 2, l1: 1e-3, mmcsBetween: null }],
 *   betweenChance: [{ ratio: 1, value: 0.35 }],
 * });
 * ```
 */
export function toyBetweenSpec(data: ToyChartData): VegaLiteSpec | null {
  return toyChart(data, "mmcsBetween", {
    title: "Agreement between dictionary sizes: MMCS with the next-larger R against α",
    caption: [
      "Per member: the mean over the next-larger dictionary's features (same kind and α) of the best cosine with",
      "one of this member's features, as the paper's code computes it. Dashed rules: chance for random unit vectors",
      "of the same sizes. Ring: the member chosen by this signal, few dead features and a non-degenerate L0.",
    ],
    y: "MMCS with the next-larger dictionary",
  });
}
