import assert from "node:assert/strict";
import { toyBetweenSpec, type ToyChartData, toyTruthSpec } from "./mod.ts";
import { render } from "./_render_for_tests.ts";

const ratios = [1, 2, 4], alphas = [1e-3, 1e-2, 1e-1], kinds = ["untied", "tied"];
const data: ToyChartData = {
  members: kinds.flatMap((kind) =>
    ratios.flatMap((ratio) =>
      alphas.map((l1, i) => ({
        name: `${kind}_r${ratio}_a${l1}`,
        kind,
        ratio,
        l1,
        l0: 10 / (i + 1),
        deadFraction: 0.01 * i,
        mmcsTruth: 0.5 + 0.1 * i + 0.05 * ratio,
        mmcsBetween: ratio === 4 ? null : 0.4 + 0.1 * i,
      }))
    )
  ),
  chosen: "untied_r2_a0.01",
  truthChance: ratios.map((ratio) => ({ ratio, value: 0.3 + 0.05 * ratio })),
  betweenChance: [1, 2].map((ratio) => ({ ratio, value: 0.3 + 0.05 * ratio })),
};

type Layer = { mark: { type: string }; encoding: Record<string, { field?: string; scale?: { type?: string } }> };

Deno.test("MMCS with the truth: a line per R and kind on a log α axis, a chance rule per R, the chosen member ringed", async () => {
  const spec = toyTruthSpec(data)!;
  const layers = spec.layer as Layer[];
  assert.equal(layers[0].encoding.x.scale?.type, "log");
  assert.equal(layers[0].encoding.x.field, "alpha");
  assert.ok((spec.title as { subtitle: string[] }).subtitle.join(" ").includes("chance"));
  const r = await render(spec);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.line, 6); // 3 R × 2 kinds
  assert.equal(r.marks.rule, 3); // one chance level per R
  assert.equal(r.marks.symbol, 18 + 1); // a point per member and the ring
  assert.ok(r.svg.startsWith("<svg"));
});

Deno.test("MMCS between sizes: members without a larger partner are left out; null without any pair", async () => {
  const r = await render(toyBetweenSpec(data)!);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.marks.line, 4); // R 1 and 2 × 2 kinds
  assert.equal(r.marks.rule, 2);
  assert.equal(r.marks.symbol, 12 + 1);
  const onlyLargest = { members: data.members.filter((m) => m.ratio === 4) };
  assert.equal(toyBetweenSpec(onlyLargest), null);
  const noChance = await render(toyTruthSpec({ members: data.members })!);
  assert.deepEqual(noChance.warnings, []);
  assert.equal(noChance.marks.rule ?? 0, 0);
  assert.equal(noChance.marks.symbol, 18);
});
