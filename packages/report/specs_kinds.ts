/**
 * The SAE kinds drawn: each kind's sparsity–reconstruction frontier (L0 against FVU and against ΔCE) with the
 * baselines and reference levels, and the matched-L0 table (`kinds.ts` computes what they show).
 *
 * @module
 */
import { base } from "./_spec_base.ts";
import { type Html, markup, tableHtml } from "./html.ts";
import {
  KIND_METRICS,
  kindFrontiers,
  type KindMember,
  type KindReferences,
  matchedL0,
  type MatchedRow,
} from "./kinds.ts";
import { formatNumber, type VegaLiteSpec } from "./summary.ts";

/** Whether a measured value is there. */
const finite = (x: number | null | undefined): x is number => typeof x === "number" && Number.isFinite(x);

/** One panel: every member faint, each kind's frontier as a line, baselines and reference rules. */
function panel(
  members: readonly KindMember[],
  options: { metric: "fvu" | "deltaCe"; title: string; references: KindReferences; kinds: string[] },
): VegaLiteSpec {
  const { metric, references } = options;
  const fronts = kindFrontiers(members, metric);
  const onFront = new Set([...fronts.values()].flat().map((p) => p.name));
  const x = { field: "l0", type: "quantitative", title: "L0 (active features per token, log)", scale: { type: "log" } };
  const y = { field: "value", type: "quantitative", title: options.title, scale: { zero: false } };
  const color = { field: "kind", type: "nominal", title: "SAE kind", scale: { domain: options.kinds } };
  const tooltip = [
    { field: "name", type: "nominal", title: "dictionary" },
    { field: "kind", type: "nominal" },
    { field: "l0", type: "quantitative", title: "L0", format: ".3g" },
    { field: "value", type: "quantitative", title: options.title, format: ".4g" },
  ];
  const points = members.filter((m) => finite(m.values[metric])).map((m) => ({
    name: m.name,
    kind: m.kind,
    l0: m.l0,
    value: m.values[metric]!,
    frontier: onFront.has(m.name),
  }));
  const baselines = references.baselines.filter((b) => finite(b.values[metric]))
    .map((b) => ({ name: b.name, kind: `baseline ${b.kind}`, l0: b.l0, value: b.values[metric]! }));
  const rules = metric === "fvu" ? [{ value: 1, label: "FVU 1: every vector reconstructed as the mean" }] : [
    ...(finite(references.meanAblation) ? [{ value: references.meanAblation, label: "mean ablation" }] : []),
    ...(finite(references.zeroAblation) ? [{ value: references.zeroAblation, label: "zero ablation" }] : []),
  ];
  const layers: VegaLiteSpec[] = [
    {
      data: { values: points },
      mark: { type: "point", filled: true, size: 50 },
      encoding: { x, y, color, opacity: { condition: { test: "datum.frontier", value: 1 }, value: 0.3 }, tooltip },
    },
    {
      data: { values: points.filter((p) => p.frontier) },
      mark: { type: "line", strokeWidth: 2 },
      encoding: { x, y, color: { ...color, legend: null }, detail: { field: "kind" }, order: { field: "l0" } },
    },
  ];
  if (baselines.length) {
    layers.push({
      data: { values: baselines },
      mark: { type: "point", shape: "diamond", size: 70, color: "#6b7280", filled: true },
      encoding: { x, y, tooltip },
    }, {
      data: { values: baselines },
      mark: { type: "text", dx: 6, align: "left", fontSize: 10, color: "#4b5563" },
      encoding: { x, y, text: { field: "name" } },
    });
  }
  if (rules.length) {
    layers.push({
      data: { values: rules },
      mark: { type: "rule", strokeDash: [4, 4], color: "#9ca3af" },
      encoding: { y: { field: "value", type: "quantitative" }, tooltip: [{ field: "label" }, { field: "value" }] },
    }, {
      data: { values: rules },
      mark: { type: "text", align: "right", baseline: "bottom", dy: -2, x: { expr: "width" }, fontSize: 10 },
      encoding: { y: { field: "value", type: "quantitative" }, text: { field: "label" } },
    });
  }
  return { width: 320, height: 240, title: options.title, layer: layers };
}

/**
 * The frontier of each SAE kind: L0 against FVU and, where measured, against ΔCE; one line per kind through
 * its Pareto-optimal members, the other members faint, baselines as grey diamonds and the reference levels as
 * dashed rules (FVU 1 for the mean; ΔCE of mean and zero ablation).
 *
 * @param members The members.
 * @param references Baselines and reference levels.
 * @returns The chart, or null without members.
 * @example
 * ```ts
 * import { kindFrontierSpec } from "@saelab/report";
 * const refs = { baselines: [], meanAblation: null, zeroAblation: null, scores: [] };
 * if (kindFrontierSpec([], refs) !== null) throw new Error();
 * ```
 */
export function kindFrontierSpec(members: readonly KindMember[], references: KindReferences): VegaLiteSpec | null {
  if (!members.length) return null;
  const kinds = [...new Set(members.map((m) => m.kind))].sort();
  const panels = [panel(members, { metric: "fvu", title: "FVU (held out)", references, kinds })];
  if (members.some((m) => finite(m.values.deltaCe))) {
    panels.push(panel(members, { metric: "deltaCe", title: "ΔCE (nats per token)", references, kinds }));
  }
  return base("Sparsity–reconstruction frontier of each SAE kind, with baselines and reference levels", {
    hconcat: panels,
  });
}

/**
 * The matched-L0 table: each kind's FVU, ΔCE, KL and score at shared L0 values (columns only for metrics
 * some member has), and the reference levels under it.
 *
 * @param members The members.
 * @param references Reference levels.
 * @returns HTML.
 * @example
 * ```ts ignore
 * const { members, references } = kindMembers(evals, { scores });
 * matchedL0TableHtml(members, references);
 * ```
 */
export function matchedL0TableHtml(members: readonly KindMember[], references: KindReferences): Html {
  const { rows, range } = matchedL0(members);
  const shown = KIND_METRICS.filter((m) => rows.some((r) => r.values[m.key] !== null));
  const refs = [
    "FVU 1 (every vector reconstructed as the mean)",
    ...(finite(references.meanAblation) ? [`ΔCE ${formatNumber(references.meanAblation)} (mean ablation)`] : []),
    ...(finite(references.zeroAblation) ? [`ΔCE ${formatNumber(references.zeroAblation)} (zero ablation)`] : []),
    ...references.scores.map((s) => `score ${formatNumber(s.mean)} (${s.name})`),
    ...references.baselines.map((b) => `${b.name}: L0 ${formatNumber(b.l0)}, FVU ${formatNumber(b.values.fvu)}`),
  ];
  const kinds = new Set(members.map((m) => m.kind));
  const empty = kinds.size < 2
    ? `Only one SAE kind (${[...kinds].join("") || "none"}) in this run: nothing to match.`
    : "The kinds' L0 ranges do not overlap, so no L0 is shared.";
  return markup`${
    range &&
    markup`<p class="lead">At L0 from ${formatNumber(range[0])} to ${
      formatNumber(range[1])
    } (the range every kind's frontier covers), each value interpolated linearly in log L0 between the two
frontier members around it; – where a kind's frontier of that metric does not reach.</p>`
  }${
    tableHtml(rows, {
      className: "data matched",
      empty,
      columns: [
        { label: "L0", numeric: true, cell: (r) => formatNumber(r.l0) },
        { label: "kind", cell: (r) => r.kind },
        ...shown.map((m) => ({
          label: m.label,
          numeric: true,
          help: `${m.better} is better`,
          cell: (r: MatchedRow) => formatNumber(r.values[m.key]),
        })),
      ],
    })
  }<p class="muted">Reference levels: ${refs.join("; ")}.</p>`;
}
