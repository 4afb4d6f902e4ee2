import assert from "node:assert/strict";
import { loadRun, makeDemoRun } from "@saelab/runs";
import type { CircuitsJson, DictEval, DictScore, MetricRow } from "@saelab/runs";
import {
  circuitGraphSpec,
  deadFractionSpec,
  frontierSpec,
  histogramSpec,
  layoutCircuit,
  memberPoints,
  methodComparisonSpec,
  mmcsHeatmapSpec,
  patchCurveSpec,
  scoreRules,
  trainingCurvesSpec,
} from "./mod.ts";
import { saeEval } from "./_eval_for_tests.ts";
import { render } from "./_render_for_tests.ts";

const members = memberPoints(
  [1, 2, 4].flatMap((ratio) =>
    [1e-3, 1e-2].map((a) => ({
      name: `r${ratio}_a${a}`,
      eval: {
        kind: "sae",
        method: "sae",
        dIn: 8,
        dSae: 8 * ratio,
        l1Coefficient: a,
        fvu: 0.1 / ratio + a,
        l0: 10 * ratio,
        deadFraction: 0.1,
        ...(ratio < 4 ? { mmcs: { reference: `r${ratio * 2}_a${a}`, value: 0.5 + 0.1 * ratio } } : {}),
      } as DictEval,
    }))
  ),
);

Deno.test("training curves: one line per member and metric, missing metrics filtered", async () => {
  const rows: MetricRow[] = [];
  for (let s = 0; s < 5; s++) {
    for (const m of ["a", "b", "c"]) {
      rows.push({ member: m, step: s, loss: 1 / (s + 1), mse: 0.5, l0: 3, ...(m === "a" ? { fvu: 0.2 } : {}) });
    }
  }
  const r = await render(trainingCurvesSpec(rows));
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.line, 9);
  const withFvu = await render(trainingCurvesSpec(rows, { metrics: ["loss", "fvu"] }));
  assert.deepEqual(withFvu.warnings, []);
  assert.equal(withFvu.marks.line, 4); // 3 loss lines + 1 fvu line (b and c have none)
});

Deno.test("frontier: a point per member and a line per ratio", async () => {
  const r = await render(frontierSpec(members));
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.symbol, 6);
  assert.equal(r.marks.line, 3);
});

Deno.test("dead fraction: a bar per member", async () => {
  const r = await render(deadFractionSpec(members));
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.rect, 6);
});

Deno.test("MMCS heatmap: a cell and a label per member with MMCS; null without any", async () => {
  const r = await render(mmcsHeatmapSpec(members)!);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.rect, 4);
  assert.equal(r.marks.text, 4);
  assert.equal(mmcsHeatmapSpec(members.filter((m) => m.ratio === 4)), null);
});

Deno.test("method comparison: bars and intervals in SAE-first order", async () => {
  const spec = methodComparisonSpec({
    dicts: {
      pca: { kind: "baseline", method: "pca", mean: 0.2, ci95: [0.15, 0.25], n: 40, backend: "b" },
      ica: { kind: "baseline", method: "ica", mean: 0.3, ci95: [0.2, 0.4], n: 40, backend: "b" },
      s: { kind: "sae", method: "sae", mean: 0.25, ci95: [0.2, 0.3], n: 40, backend: "b" },
    },
  })!;
  const r = await render(spec);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.rect, 3 * 3); // a bar and two interval caps (tick marks) each
  assert.equal(r.marks.rule, 3);
  const values = (spec.data as { values: { label: string; lo: number; hi: number }[] }).values;
  assert.deepEqual(values.map((v) => v.label), ["SAE s", "ica", "pca"]);
  assert.deepEqual([values[1].lo, values[1].hi], [0.2, 0.4]);
  assert.equal(methodComparisonSpec({ dicts: {} }), null);
});

Deno.test("patch curve: a line per dictionary and reference rules", async () => {
  const spec = patchCurveSpec({
    task: "t",
    metric: "logit diff",
    clean: 3,
    patched: -1,
    curves: [
      { dict: "s", method: "sae", points: [{ k: 0, value: 3 }, { k: 1, value: 1 }, { k: 2, value: 0 }] },
      { dict: "pca", method: "pca", points: [{ k: 0, value: 3 }, { k: 2, value: 2 }] },
    ],
  })!;
  const r = await render(spec);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.line, 2);
  assert.equal(r.marks.symbol, 5);
  assert.equal(r.marks.rule, 2);
  assert.equal(patchCurveSpec({ task: "t", metric: "m", curves: [] }), null);
});

Deno.test("patch curve of a threshold sweep: edit magnitude on x, points joined in threshold order", async () => {
  const points = [[1e-3, 0.9, 0.01, 5], [1e-2, 0.5, 0.05, 3], [1e-1, 0.7, 0.2, 1]].map((
    [threshold, edit, value, k],
  ) => ({
    threshold,
    edit,
    value,
    k,
  }));
  const spec = patchCurveSpec({
    task: "t",
    metric: "KL",
    clean: 1,
    patched: 0,
    curves: [{ dict: "s", method: "sae", points }],
  })!;
  const line = (spec.layer as Record<string, Record<string, Record<string, unknown>>>[])[0];
  assert.equal(line.encoding.x.field, "edit");
  assert.equal(line.encoding.order.field, "threshold");
  const r = await render(spec);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.line, 1);
  assert.equal(r.marks.symbol, 3);
});

Deno.test("circuit graph: layout by layer, an edge rule per edge between known nodes", async () => {
  const c: CircuitsJson = {
    nodes: [
      { id: "a", layer: 0, dict: "d", feature: 1 },
      { id: "b", layer: 0, dict: "d", feature: 2 },
      { id: "c", layer: 1, dict: "d", feature: 3 },
    ],
    edges: [{ source: "a", target: "c", weight: 0.5 }, { source: "b", target: "c", weight: -1 }, {
      source: "a",
      target: "zz",
      weight: 1,
    }],
  };
  const pos = layoutCircuit(c);
  assert.deepEqual(pos.get("a"), { x: 0, y: -0.5 });
  assert.deepEqual(pos.get("b"), { x: 0, y: 0.5 });
  assert.deepEqual(pos.get("c"), { x: 1, y: 0 });
  const r = await render(circuitGraphSpec(c)!);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.rule, 2);
  assert.equal(r.marks.symbol, 3);
  assert.equal(r.marks.text, 3);
  assert.equal(circuitGraphSpec({ nodes: [], edges: [] }), null);
});

Deno.test("histogram: one bar per bin spanning its edges", async () => {
  const spec = histogramSpec({ edges: [0, 0.5, 1, 2], counts: [4, 0, 1] });
  const values = structuredClone((spec.data as { values: unknown[] }).values);
  const r = await render(spec);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.rect, 3);
  assert.deepEqual(values, [{ lo: 0, hi: 0.5, count: 4 }, { lo: 0.5, hi: 1, count: 0 }, { lo: 1, hi: 2, count: 1 }]);
});

Deno.test("every chart of the demo run renders without warnings", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { id } = await makeDemoRun(dir, 2);
    const run = (await loadRun(dir, id))!;
    const evals = run.dicts.flatMap((d) => (d.eval.status === "ok" ? [{ name: d.name, eval: d.eval.value }] : []));
    const pts = memberPoints(evals);
    assert.equal(pts.length, 9);
    const specs = [
      trainingCurvesSpec(run.metrics.rows),
      frontierSpec(pts),
      deadFractionSpec(pts),
      mmcsHeatmapSpec(pts)!,
      run.scores.status === "ok" ? methodComparisonSpec(run.scores.value)! : null,
      run.patch.status === "ok" ? patchCurveSpec(run.patch.value)! : null,
      run.circuits.status === "ok" ? circuitGraphSpec(run.circuits.value)! : null,
    ];
    for (const spec of specs) {
      assert.ok(spec);
      const r = await render(spec);
      assert.deepEqual(r.warnings, [], String(spec.description));
      assert.ok(r.svg.startsWith("<svg"));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Two kinds at the same ratios and α grid, with MMCS and its chance level as newer evaluations write them. */
const twoKinds = memberPoints(
  ["untied", "tied"].flatMap((variant) =>
    [1, 2].flatMap((ratio) =>
      [1e-3, 1e-2, 1e-1].map((a) => ({
        name: `${variant}_r${ratio}_a${a}`,
        eval: {
          kind: "sae",
          method: "sae",
          variant,
          dIn: 8,
          dSae: 8 * ratio,
          l1Coefficient: a,
          fvu: 0.1 / ratio + a,
          l0: 10 * ratio * (variant === "tied" ? 2 : 1),
          deadFraction: 0.1,
          mmcs: { reference: `${variant}_r${ratio * 2}_a${a}`, value: 0.3 + 0.1 * ratio },
          mmcsChance: ratio === 1 ? 0.25 : { value: 0.27 },
        } as unknown as DictEval,
      }))
    )
  ),
);

Deno.test("memberPoints reads the SAE kind and MMCS's chance level, bare or as { value }", () => {
  assert.equal(twoKinds.length, 12);
  assert.deepEqual([...new Set(twoKinds.map((p) => p.variant))], ["tied", "untied"]);
  assert.deepEqual([...new Set(twoKinds.map((p) => p.mmcsChance))], [0.25, 0.27]);
  const bare = memberPoints([{
    name: "a",
    eval: { ...saeEval({ l0: 2 }), mmcs: 0.4 } as unknown as DictEval,
  }]);
  assert.equal(bare[0].mmcs, 0.4);
  assert.equal(bare[0].mmcsChance, undefined);
});

Deno.test("frontier: one line per kind and ratio, so no line joins two kinds", async () => {
  const spec = frontierSpec(twoKinds);
  const r = await render(spec);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.symbol, 12);
  assert.equal(r.marks.line, 4); // tied R=1, tied R=2, untied R=1, untied R=2
  const series = new Set(r.data("data_0").map((d) => d.series));
  assert.deepEqual([...series].sort(), ["tied R=1", "tied R=2", "untied R=1", "untied R=2"]);
  const points = (spec.layer as { encoding: Record<string, { field?: string }> }[])[1].encoding;
  assert.equal(points.shape.field, "variant");
  // one kind: the series are the ratios alone and no shape legend is drawn
  const one = (frontierSpec(members).layer as { encoding: Record<string, unknown> }[])[1].encoding;
  assert.equal(one.shape, undefined);
});

Deno.test("dead fraction: a bar per member of each kind, offset by series", async () => {
  const r = await render(deadFractionSpec(twoKinds));
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.rect, 12);
});

Deno.test("MMCS with a chance level: each cell prints it and a panel draws it per series", async () => {
  const spec = mmcsHeatmapSpec(twoKinds)!;
  assert.ok(Array.isArray(spec.hconcat));
  const r = await render(spec);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.rect, 12);
  assert.equal(r.marks.text, 24); // the MMCS and the chance level in every cell
  assert.equal(r.marks.line, 8); // an MMCS line and a dashed chance line per series
  assert.ok(r.svg.includes("chance 0.25") && r.svg.includes("chance 0.27"));
  // without a chance level, the heatmap alone, as before
  assert.equal(mmcsHeatmapSpec(members)!.hconcat, undefined);
});

const entry = (kind: "sae" | "baseline", method: string, mean: number, extra: Partial<DictScore> = {}): DictScore => ({
  kind,
  method,
  mean,
  ci95: [mean - 0.02, mean + 0.02],
  n: 40,
  backend: "token-lookup",
  ...extra,
});

Deno.test("method comparison: random-direction and neuron references drawn as labelled rules", async () => {
  const spec = methodComparisonSpec({
    dicts: {
      s: entry("sae", "sae", 0.5, { verdict: "no better than random directions" }),
      pca: entry("baseline", "pca", 0.6),
      random: entry("baseline", "random", 0.47),
      neurons: entry("baseline", "neurons", 0.55),
    },
  })!;
  const r = await render(spec);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.rule, 4 + 2); // four error bars, two reference rules
  assert.equal(r.marks.text, 2);
  assert.ok(r.svg.includes("random directions 0.470") && r.svg.includes("neurons 0.550"));
  assert.match(String(spec.description), /against random directions and neurons/);
  const bars = (spec.layer as { encoding: { y: { title: string } } }[])[0].encoding.y;
  assert.equal(bars.title, "token-lookup score (not interpretability)");
});

Deno.test("scoreRules prefers the references written with the scores, and leaves out one not scored", () => {
  const refs = {
    random: { dict: "random_b", mean: 0.4, ci95: [0.38, 0.42] as [number, number], n: 40 },
    neurons: null,
  };
  const rules = scoreRules({
    dicts: { s: entry("sae", "sae", 0.5, { references: refs }), neurons: entry("baseline", "neurons", 0.6) },
  });
  assert.deepEqual(rules, [{ name: "random directions", dict: "random_b", mean: 0.4 }]);
  const found = scoreRules({ dicts: { random: entry("baseline", "random", 0.3), s: entry("sae", "sae", 0.5) } });
  assert.deepEqual(found, [{ name: "random directions", dict: "random", mean: 0.3 }]);
  assert.deepEqual(scoreRules({ dicts: { s: entry("sae", "sae", 0.5) } }), []);
});
