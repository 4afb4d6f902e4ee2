/**
 * Vega-lite specifications of results: the method comparison with intervals (the paper's Figure 2),
 * the feature-patching curve, the circuit graph and a feature's activation histogram.
 *
 * @module
 */
import type { CircuitNode, CircuitsJson, Histogram, PatchJson, ScoresJson } from "@saelab/runs";
import { base, FIT_WIDTH, legendPick, pickedOpacity } from "./_spec_base.ts";
import type { VegaLiteSpec } from "./summary.ts";

/** A reference level drawn on the method comparison: a baseline's mean score under the same backend. */
export interface ScoreRule {
  /** What the rule stands for (`"random directions"`, `"neurons"`). */
  name: string;
  /** The reference dictionary. */
  dict: string;
  /** Its mean score. */
  mean: number;
}

/**
 * The random-direction and neuron reference levels of a `scores.json`: from the entries' `references`
 * when written, else from the entries whose method is `random` and `neurons`.
 *
 * @param scores `scores.json`.
 * @returns Up to two rules, random directions first.
 * @example
 * ```ts
 * import { scoreRules } from "@saelab/report";
 * const e = (method: string, mean: number) =>
 *   ({ kind: "baseline" as const, method, mean, ci95: [mean, mean] as [number, number], n: 9, backend: "b" });
 * const rules = scoreRules({ dicts: { random: e("random", 0.4), neurons: e("neurons", 0.5), pca: e("pca", 0.6) } });
 * if (rules.map((r) => r.name).join() !== "random directions,neurons") throw new Error();
 * ```
 */
export function scoreRules(scores: ScoresJson): ScoreRule[] {
  const entries = Object.entries(scores.dicts);
  const written = entries.find(([, s]) => s.references)?.[1].references;
  const rules: ScoreRule[] = [];
  for (const [name, key, method] of [["random directions", "random", "random"], ["neurons", "neurons", "neurons"]]) {
    const ref = written?.[key as "random" | "neurons"];
    if (ref) {
      rules.push({ name, dict: ref.dict, mean: ref.mean });
      continue;
    }
    if (written) continue; // written without this reference: it was not scored
    const found = entries.filter(([, s]) => s.method === method).sort(([a], [b]) => a.localeCompare(b))[0];
    if (found && found[1].n > 0) rules.push({ name, dict: found[0], mean: found[1].mean });
  }
  return rules;
}

/** The y-axis title of a score chart: what the backends' scores are. */
function scoreTitle(backends: string[]): string {
  if (backends.length === 1 && backends[0] === "token-lookup") return "token-lookup score (not interpretability)";
  if (backends.every((b) => b.startsWith("openai:"))) return "simulation score (correlation)";
  return "mean explanation score (correlation)";
}

/**
 * Mean score per dictionary with its 95% bootstrap interval; SAEs first, then baselines, each by
 * descending mean; the random-direction and neuron baselines' means drawn across the chart as
 * labelled dashed rules, the levels every other score is read against.
 *
 * @param scores `scores.json`.
 * @returns A bar chart with error bars and reference rules, or `null` when no dictionary was scored.
 * @example
 * ```ts
 * import { methodComparisonSpec } from "@saelab/report";
 * const spec = methodComparisonSpec({
 *   dicts: { pca: { kind: "baseline", method: "pca", mean: 0.2, ci95: [0.1, 0.3], n: 40, backend: "token-lookup" } },
 * });
 * ```
 */
export function methodComparisonSpec(scores: ScoresJson): VegaLiteSpec | null {
  const entries = Object.entries(scores.dicts);
  if (entries.length === 0) return null;
  const values = entries
    .map(([dict, s]) => ({
      dict,
      label: s.kind === "sae" ? `SAE ${dict}` : s.method === dict ? dict : `${s.method} (${dict})`,
      kind: s.kind === "sae" ? "sparse autoencoder" : "baseline",
      method: s.method,
      mean: s.mean,
      lo: s.ci95[0],
      hi: s.ci95[1],
      n: s.n,
      backend: s.backend,
      verdict: s.verdict ?? "",
    }))
    .sort((a, b) => (a.kind === b.kind ? b.mean - a.mean : a.kind === "sparse autoencoder" ? -1 : 1));
  const x = {
    field: "label",
    type: "nominal",
    title: null,
    sort: values.map((v) => v.label),
    axis: { labelAngle: -20 },
  };
  const tooltip = [
    { field: "dict", type: "nominal", title: "dictionary" },
    { field: "method", type: "nominal" },
    { field: "mean", type: "quantitative", format: ".3f", title: "mean score" },
    { field: "lo", type: "quantitative", format: ".3f", title: "95% CI low" },
    { field: "hi", type: "quantitative", format: ".3f", title: "95% CI high" },
    { field: "n", type: "quantitative", title: "features scored" },
    { field: "backend", type: "nominal" },
    { field: "verdict", type: "nominal" },
  ];
  const backends = [...new Set(values.map((v) => v.backend))];
  const rules = scoreRules(scores).map((r) => ({ ...r, text: `${r.name} ${r.mean.toFixed(3)}` }));
  const layers: VegaLiteSpec[] = [
    {
      params: legendPick("kind"),
      mark: { type: "bar", width: { band: 0.6 } },
      encoding: {
        x,
        opacity: pickedOpacity(1, 0.2),
        y: { field: "mean", type: "quantitative", title: scoreTitle(backends) },
        color: {
          field: "kind",
          type: "nominal",
          title: null,
          scale: { domain: ["sparse autoencoder", "baseline"], range: ["#4c78a8", "#bab0ac"] },
        },
        tooltip,
      },
    },
    {
      mark: { type: "rule", strokeWidth: 2, color: "#222" },
      encoding: { x, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } },
    },
    {
      mark: { type: "tick", color: "#222", thickness: 2, size: 14 },
      encoding: { x, y: { field: "lo", type: "quantitative" } },
    },
    {
      mark: { type: "tick", color: "#222", thickness: 2, size: 14 },
      encoding: { x, y: { field: "hi", type: "quantitative" } },
    },
  ];
  if (rules.length) {
    const y = { field: "mean", type: "quantitative" };
    const ruleColor = {
      field: "name",
      type: "nominal",
      title: "reference",
      scale: { domain: ["random directions", "neurons"], range: ["#e45756", "#54a24b"] },
    };
    layers.push(
      {
        data: { values: rules },
        mark: { type: "rule", strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { y, color: ruleColor, tooltip: [{ field: "text", title: "reference" }, { field: "dict" }] },
      },
      {
        data: { values: rules },
        mark: { type: "text", align: "right", baseline: "bottom", dy: -3, x: "width", fontSize: 11 },
        encoding: { y, text: { field: "text" }, color: { ...ruleColor, legend: null } },
      },
    );
  }
  return base(
    `Mean score per method with 95% bootstrap intervals (${backends.join(", ")})` +
      (rules.length ? `, against ${rules.map((r) => r.name).join(" and ")}` : ""),
    {
      ...FIT_WIDTH,
      height: 260,
      data: { values },
      resolve: { scale: { color: "independent" } },
      layer: layers,
    },
  );
}

/**
 * Feature-patching curves: the task metric against the number of features patched — or, when the points
 * carry the edit magnitude (the paper's threshold sweep), against the mean L2 edit magnitude — one line per
 * dictionary, with dashed reference lines at the clean and fully patched values.
 *
 * @param patch `patch.json`.
 * @returns A line chart, or `null` when there are no curves.
 * @example
 * ```ts
 * import { patchCurveSpec } from "@saelab/report";
 * const spec = patchCurveSpec({ task: "ioi", metric: "logit diff", curves: [{ dict: "a", method: "sae", points: [{ k: 0, value: 3 }] }] });
 * ```
 */
export function patchCurveSpec(patch: PatchJson): VegaLiteSpec | null {
  const values = patch.curves.flatMap((c) =>
    c.points.map((p) => ({
      dict: c.dict,
      label: c.method === c.dict ? c.dict : `${c.method} (${c.dict})`,
      k: p.k,
      value: p.value,
      ...(typeof p.edit === "number" ? { edit: p.edit, threshold: p.threshold ?? 0 } : {}),
    }))
  );
  if (values.length === 0) return null;
  // feature patching records the edit magnitude: plot the paper's axes (edit vs metric), in threshold order
  const byEdit = values.every((v) => typeof v.edit === "number");
  const refs = [["clean", patch.clean], ["fully patched", patch.patched]]
    .filter((r): r is [string, number] => typeof r[1] === "number")
    .map(([name, value]) => ({ name, value }));
  const maxK = Math.max(...values.map((v) => v.k));
  const layers: VegaLiteSpec[] = [
    {
      data: { values },
      params: legendPick("label"),
      mark: { type: "line", point: { filled: true, size: 50 } },
      encoding: {
        opacity: pickedOpacity(1, 0.12),
        x: byEdit ? { field: "edit", type: "quantitative", title: "mean L2 edit magnitude at the hook" } : {
          field: "k",
          type: "quantitative",
          title: "features patched",
          scale: { type: maxK > 20 ? "symlog" : "linear" },
        },
        y: { field: "value", type: "quantitative", title: patch.metric },
        color: { field: "label", type: "nominal", title: "dictionary" },
        ...(byEdit ? { order: { field: "threshold", type: "quantitative" } } : {}),
        tooltip: [
          { field: "label", type: "nominal" },
          { field: "k", type: "quantitative", title: "features patched" },
          {
            field: "value",
            type: "quantitative",
            format: ".3f",
          },
          ...(byEdit
            ? [{ field: "edit", type: "quantitative", format: ".3f" }, {
              field: "threshold",
              type: "quantitative",
              format: ".1e",
            }]
            : []),
        ],
      },
    },
  ];
  if (refs.length) {
    layers.push(
      {
        data: { values: refs },
        mark: { type: "rule", strokeDash: [4, 4], color: "#888" },
        encoding: { y: { field: "value", type: "quantitative" } },
      },
      {
        data: { values: refs },
        mark: { type: "text", align: "right", dy: -6, color: "#666", x: "width" },
        encoding: { y: { field: "value", type: "quantitative" }, text: { field: "name" } },
      },
    );
  }
  return base(
    `Feature patching on ${patch.task}: ${patch.metric} against ${byEdit ? "edit magnitude" : "features patched"}`,
    {
      ...FIT_WIDTH,
      height: 260,
      layer: layers,
    },
  );
}

/** Node positions of a circuit graph: x = layer, y = rank within the layer, centred. */
export function layoutCircuit(circuits: CircuitsJson): Map<string, { x: number; y: number }> {
  const byLayer = new Map<number, string[]>();
  for (const n of circuits.nodes) byLayer.set(n.layer, [...(byLayer.get(n.layer) ?? []), n.id]);
  const pos = new Map<string, { x: number; y: number }>();
  for (const [layer, ids] of byLayer) {
    ids.forEach((id, i) => pos.set(id, { x: layer, y: i - (ids.length - 1) / 2 }));
  }
  return pos;
}

/**
 * Circuit graph: features placed by layer, edges coloured by sign and thickened by |weight|.
 *
 * @param circuits `circuits.json`.
 * @param options `href`: the page of a node's feature (null: no link); a node with one is clickable.
 * @returns A node-link chart, or `null` when there are no nodes.
 * @example
 * ```ts
 * import { circuitGraphSpec } from "@saelab/report";
 * const spec = circuitGraphSpec({ nodes: [{ id: "a", layer: 0, dict: "d", feature: 1 }], edges: [] });
 * ```
 */
export function circuitGraphSpec(
  circuits: CircuitsJson,
  options: { href?: (node: CircuitNode) => string | null } = {},
): VegaLiteSpec | null {
  if (circuits.nodes.length === 0) return null;
  const pos = layoutCircuit(circuits);
  const nodes = circuits.nodes.map((n) => {
    const url = options.href?.(n) ?? null;
    return {
      ...pos.get(n.id)!,
      id: n.id,
      dict: n.dict,
      feature: n.feature,
      label: n.label ?? `${n.feature}`,
      ...(url ? { url } : {}),
    };
  });
  const linked = nodes.some((n) => "url" in n);
  const edges = circuits.edges
    .filter((e) => pos.has(e.source) && pos.has(e.target))
    .map((e) => ({
      x: pos.get(e.source)!.x,
      y: pos.get(e.source)!.y,
      x2: pos.get(e.target)!.x,
      y2: pos.get(e.target)!.y,
      weight: e.weight,
      size: Math.abs(e.weight),
      sign: e.weight >= 0 ? "positive" : "negative",
      source: e.source,
      target: e.target,
    }));
  const layers = [...new Set(nodes.map((n) => n.x))].sort((a, b) => a - b);
  const x = {
    field: "x",
    type: "quantitative",
    title: "layer",
    scale: { domain: [layers[0] - 0.3, layers[layers.length - 1] + 0.6] },
    axis: { values: layers, format: "d", grid: false },
  };
  const ys = nodes.map((n) => n.y);
  const y = {
    field: "y",
    type: "quantitative",
    axis: null,
    scale: { domain: [Math.min(...ys) - 0.5, Math.max(...ys) + 0.5] },
  };
  return base(`Feature circuit across layers${circuits.metric ? ` (edge weight: ${circuits.metric})` : ""}`, {
    ...FIT_WIDTH,
    height: Math.max(200, 50 * (Math.max(...ys) - Math.min(...ys) + 1)),
    layer: [
      {
        data: { values: edges },
        mark: { type: "rule", opacity: 0.7 },
        encoding: {
          x,
          y,
          x2: { field: "x2" },
          y2: { field: "y2" },
          color: {
            field: "sign",
            type: "nominal",
            title: "effect",
            scale: { domain: ["positive", "negative"], range: ["#4c78a8", "#e45756"] },
          },
          strokeWidth: { field: "size", type: "quantitative", title: "|weight|", scale: { range: [0.5, 5] } },
          tooltip: [{ field: "source" }, { field: "target" }, { field: "weight", type: "quantitative", format: ".3f" }],
        },
      },
      {
        data: { values: nodes },
        mark: { type: "point", filled: true, size: 220, color: "#2e3440", ...(linked ? { cursor: "pointer" } : {}) },
        encoding: {
          x,
          y,
          tooltip: [{ field: "id" }, { field: "dict" }, { field: "feature" }, { field: "label" }],
          ...(linked ? { href: { field: "url" } } : {}),
        },
      },
      {
        data: { values: nodes },
        mark: { type: "text", align: "left", dx: 10, fontSize: 11 },
        encoding: { x, y, text: { field: "label" } },
      },
    ],
  });
}

/**
 * Histogram of a feature's non-zero activations from pre-binned counts.
 *
 * @param hist Edges and counts.
 * @returns A bar chart.
 * @example
 * ```ts
 * import { histogramSpec } from "@saelab/report";
 * const spec = histogramSpec({ edges: [0, 1, 2], counts: [5, 2] });
 * ```
 */
export function histogramSpec(hist: Histogram): VegaLiteSpec {
  const values = hist.counts.map((count, i) => ({ lo: hist.edges[i], hi: hist.edges[i + 1], count }));
  return base("Histogram of the feature's non-zero activations", {
    ...FIT_WIDTH,
    height: 180,
    data: { values },
    mark: { type: "bar", color: "#f58518", binSpacing: 1 },
    encoding: {
      x: { field: "lo", type: "quantitative", bin: "binned", title: "activation", axis: { format: ".2g" } },
      x2: { field: "hi" },
      y: { field: "count", type: "quantitative", title: "tokens" },
      tooltip: [
        { field: "lo", type: "quantitative", format: ".3g", title: "from" },
        { field: "hi", type: "quantitative", format: ".3g", title: "to" },
        { field: "count", type: "quantitative" },
      ],
    },
  });
}
