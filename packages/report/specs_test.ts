import assert from "node:assert/strict";
import { loadRun, makeDemoRun } from "@saelab/runs";
import type { CircuitsJson, DictEval, MetricRow } from "@saelab/runs";
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
  trainingCurvesSpec,
} from "./mod.ts";
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
