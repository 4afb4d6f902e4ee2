import assert from "node:assert/strict";
import type { DictEval, MetricRow } from "@saelab/runs";
import {
  circuitGraphSpec,
  deadFractionSpec,
  frontierSpec,
  histogramSpec,
  memberPoints,
  methodComparisonSpec,
  mmcsHeatmapSpec,
  patchCurveSpec,
  trainingCurvesSpec,
  type VegaLiteSpec,
} from "./mod.ts";
import { render } from "./_render_for_tests.ts";

const point = (name: string, o: { ratio: number; alpha: number; variant?: string; dead?: number; mmcs?: number }) => ({
  name,
  eval: {
    kind: "sae",
    method: "sae",
    dIn: 8,
    dSae: 8 * o.ratio,
    l1Coefficient: o.alpha,
    fvu: 0.1 / o.ratio + o.alpha,
    l0: 10 * o.ratio,
    deadFraction: o.dead ?? 0.1,
    ...(o.variant ? { variant: o.variant } : {}),
    ...(o.mmcs !== undefined ? { mmcs: { reference: "x", value: o.mmcs } } : {}),
  } as DictEval,
});
const members = memberPoints(
  [1, 2].flatMap((ratio) =>
    [1e-3, 1e-2].flatMap((alpha) =>
      ["tied", "untied", "gated"].map((v) => point(`${v}_r${ratio}_a${alpha}`, { ratio, alpha, variant: v, mmcs: 0.5 }))
    )
  ),
);
const scores = {
  dicts: {
    sae_a: {
      kind: "sae" as const,
      method: "sae",
      mean: 0.4,
      ci95: [0.3, 0.5] as [number, number],
      n: 40,
      backend: "b",
    },
    random: {
      kind: "baseline" as const,
      method: "random",
      mean: 0.05,
      ci95: [0, 0.1] as [number, number],
      n: 40,
      backend: "b",
    },
  },
};
const patch = {
  task: "ioi",
  metric: "logit difference",
  clean: 3,
  patched: -1,
  pairs: 24,
  curves: [{ dict: "a", method: "sae", points: [{ k: 1, value: 2 }, { k: 4, value: 0 }] }],
};
const circuits = {
  nodes: [{ id: "a", layer: 0, dict: "d", feature: 1 }, { id: "b", layer: 1, dict: "gone", feature: 2 }],
  edges: [{ source: "a", target: "b", weight: -0.4 }],
};

const find = (spec: unknown, key: string): unknown[] => {
  const out: unknown[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === "object") {
      for (const [k, v] of Object.entries(x)) k === key ? out.push(v) : walk(v);
    }
  };
  walk(spec);
  return out;
};

Deno.test("single-view charts take the width of their box and refit on resize", async () => {
  const specs: [string, VegaLiteSpec][] = [
    ["frontier", frontierSpec(members)],
    ["dead", deadFractionSpec(members)],
    ["methods", methodComparisonSpec(scores)!],
    ["patch", patchCurveSpec(patch)!],
    ["circuits", circuitGraphSpec(circuits)!],
    ["histogram", histogramSpec({ edges: [0, 1, 2], counts: [3, 1] })],
  ];
  for (const [name, spec] of specs) {
    assert.equal(spec.width, "container", name);
    assert.deepEqual(spec.autosize, { type: "fit", contains: "padding", resize: true }, name);
    const r = await render(spec);
    assert.deepEqual(r.warnings, [], name);
  }
  // Twelve dictionaries no longer make a chart wider than its box.
  const many = { dicts: Object.fromEntries([...Array(12)].map((_, i) => [`d${i}`, { ...scores.dicts.sae_a }])) };
  assert.equal(methodComparisonSpec(many)!.width, "container");
});

Deno.test("legends are clickable: a point selection bound to the legend dims the other series", async () => {
  const rows: MetricRow[] = [0, 1].flatMap((step) =>
    ["a", "b"].map((member) => ({ member, step, loss: 1, mse: 1, l0: 1 }))
  );
  const cases: [string, VegaLiteSpec, string][] = [
    ["curves", trainingCurvesSpec(rows), "member"],
    ["frontier", frontierSpec(members), "series"],
    ["dead", deadFractionSpec(members), "series"],
    ["methods", methodComparisonSpec(scores)!, "kind"],
    ["patch", patchCurveSpec(patch)!, "label"],
  ];
  for (const [name, spec, field] of cases) {
    const params = find(spec, "params").flat() as { name: string; select: { fields: string[] }; bind: string }[];
    assert.deepEqual(params.map((p) => [p.name, p.select.fields, p.bind]), [["pick", [field], "legend"]], name);
    const opacity = find(spec, "opacity").filter((o) => typeof o === "object") as { condition: { param: string } }[];
    assert.ok(opacity.length > 0 && opacity.every((o) => o.condition.param === "pick"), name);
    assert.deepEqual((await render(spec)).warnings, [], name);
  }
});

Deno.test("three kinds at the same R are three series: no line, bar or cell joins two kinds", async () => {
  const f = await render(frontierSpec(members));
  assert.equal(f.marks.line, 6); // 3 kinds × 2 ratios
  assert.equal(f.marks.symbol, 12);
  const d = await render(deadFractionSpec(members));
  assert.equal(d.marks.rect, 12);
  const m = await render(mmcsHeatmapSpec(members)!);
  assert.equal(m.marks.rect, 12);
  assert.equal(m.marks.text, 12);
});

Deno.test("members sharing kind, R and α (seeds) get a cell and a bar each, never drawn into one", async () => {
  const twins = memberPoints([
    point("r1_a1e-3_s1", { ratio: 1, alpha: 1e-3, mmcs: 0.4 }),
    point("r1_a1e-3_s2", { ratio: 1, alpha: 1e-3, mmcs: 0.6 }),
    point("r2_a1e-3", { ratio: 2, alpha: 1e-3, mmcs: 0.5 }),
  ]);
  const spec = mmcsHeatmapSpec(twins)!;
  const values = (spec.data as { values: { series: string; alphaLabel: string }[] }).values;
  const cells = new Set(values.map((v) => `${v.series}|${v.alphaLabel}`));
  assert.equal(cells.size, 3);
  assert.ok(values.some((v) => v.series === "R=2"), "a member without a twin keeps its plain series");
  const dead = deadFractionSpec(twins);
  const bars = (dead.data as { values: { series: string; alphaLabel: string }[] }).values;
  assert.equal(new Set(bars.map((v) => `${v.series}|${v.alphaLabel}`)).size, 3);
  assert.equal((await render(dead)).marks.rect, 3);
});

Deno.test("training curves of many members never repeat a colour and dash pair", async () => {
  const names = [...Array(26)].map((_, i) => `m${String(i).padStart(2, "0")}`);
  const rows: MetricRow[] = names.flatMap((member) =>
    [0, 1].map((step) => ({ member, step, loss: step + 1, mse: 1, l0: 1 }))
  );
  const r = await render(trainingCurvesSpec(rows, { metrics: ["loss"] }));
  assert.deepEqual(r.warnings, []);
  const lines = [...r.svg.matchAll(/<path[^>]*aria-roledescription="line mark"[^>]*>/g)].map((m) => m[0]);
  assert.equal(lines.length, 26);
  const styles = lines.map((l) =>
    `${l.match(/stroke="([^"]+)"/)?.[1]}|${l.match(/stroke-dasharray="([^"]+)"/)?.[1] ?? ""}`
  );
  assert.equal(new Set(styles).size, 26, styles.join(" "));
});

Deno.test("a dead-fraction chart with no dead feature says so, on a readable axis", async () => {
  const alive = memberPoints([
    point("a", { ratio: 1, alpha: 1e-3, dead: 0 }),
    point("b", { ratio: 2, alpha: 1e-3, dead: 0 }),
  ]);
  const r = await render(deadFractionSpec(alive));
  assert.deepEqual(r.warnings, []);
  assert.match(r.svg, /no dead features/);
  assert.ok(!r.svg.includes("0.000000%"));
  const some = await render(deadFractionSpec(memberPoints([point("a", { ratio: 1, alpha: 1e-3, dead: 0.2 })])));
  assert.doesNotMatch(some.svg, /no dead features/);
});

Deno.test("circuit nodes link to their feature pages where the caller gives one", async () => {
  const spec = circuitGraphSpec(circuits, { href: (n) => (n.dict === "d" ? `/f/${n.feature}` : null) })!;
  const nodes = find(spec, "values").flat().filter((v) => (v as { id?: string }).id) as { id: string; url?: string }[];
  assert.deepEqual(nodes.filter((n) => n.url).map((n) => [n.id, n.url]), [["a", "/f/1"], ["a", "/f/1"]]);
  assert.ok(nodes.filter((n) => n.id === "b").every((n) => n.url === undefined));
  assert.deepEqual(find(spec, "href"), [{ field: "url" }]);
  const r = await render(spec);
  assert.deepEqual(r.warnings, []);
  assert.match(r.svg, /\/f\/1/);
  assert.deepEqual(find(circuitGraphSpec(circuits)!, "href"), []);
});
