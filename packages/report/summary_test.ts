import assert from "node:assert/strict";
import type { MetricRow } from "@saelab/runs";
import { downsampleRows, formatNumber, lastRows, lossRecovered, memberPoints } from "./mod.ts";
import { saeEval } from "./_eval_for_tests.ts";

Deno.test("memberPoints keeps SAEs only, derives R from widths, sorts by R then α", () => {
  const pts = memberPoints([
    { name: "b", eval: saeEval({ dSae: 16, l1Coefficient: 1e-3 }) },
    { name: "pca", eval: saeEval({ kind: "baseline", method: "pca" }) },
    { name: "a2", eval: saeEval({ ratio: 2, l1Coefficient: 3e-3, mmcs: { reference: "b", value: 0.7 } }) },
    { name: "a1", eval: saeEval({ ratio: 2, l1Coefficient: 1e-3 }) },
  ]);
  assert.deepEqual(pts.map((p) => [p.name, p.ratio, p.alpha]), [["a1", 2, 1e-3], ["a2", 2, 3e-3], ["b", 4, 1e-3]]);
  assert.equal(pts[1].mmcs, 0.7);
  assert.equal(pts[1].mmcsReference, "b");
  assert.equal(pts[0].mmcs, undefined);
});

Deno.test("lossRecovered follows its definition", () => {
  assert.equal(lossRecovered({ clean: 3, spliced: 3, zeroAblation: 5 }), 1);
  assert.equal(lossRecovered({ clean: 3, spliced: 5, zeroAblation: 5 }), 0);
  assert.ok(Math.abs(lossRecovered({ clean: 2, spliced: 2.4, zeroAblation: 4 }) - 0.8) < 1e-12);
  assert.ok(Number.isNaN(lossRecovered({ clean: 3, spliced: 3, zeroAblation: 3 })));
});

Deno.test("downsampleRows keeps at most the budget per member, including the last row", () => {
  const rows: MetricRow[] = [];
  for (let s = 0; s < 1000; s++) for (const m of ["a", "b"]) rows.push({ member: m, step: s, loss: 1, mse: 1, l0: 1 });
  rows.push({ member: "c", step: 0, loss: 1, mse: 1, l0: 1 });
  const kept = downsampleRows(rows, { maxPerMember: 50 });
  for (const m of ["a", "b"]) {
    const steps = kept.filter((r) => r.member === m).map((r) => r.step);
    assert.ok(steps.length <= 50 && steps.length >= 45, `${m}: ${steps.length}`);
    assert.equal(steps[0], 0);
    assert.equal(steps[steps.length - 1], 999);
    for (let i = 1; i < steps.length; i++) assert.ok(steps[i] > steps[i - 1]);
  }
  assert.equal(kept.filter((r) => r.member === "c").length, 1);
  assert.equal(downsampleRows(rows.slice(0, 10), { maxPerMember: 50 }).length, 10);
});

Deno.test("lastRows picks each member's latest step", () => {
  const rows: MetricRow[] = [
    { member: "a", step: 5, loss: 1, mse: 1, l0: 1 },
    { member: "b", step: 1, loss: 2, mse: 1, l0: 1 },
    { member: "a", step: 3, loss: 3, mse: 1, l0: 1 },
  ];
  assert.deepEqual(lastRows(rows).map((r) => [r.member, r.step]), [["a", 5], ["b", 1]]);
});

Deno.test("formatNumber", () => {
  assert.equal(formatNumber(undefined), "–");
  assert.equal(formatNumber(NaN), "–");
  assert.equal(formatNumber(0), "0");
  assert.equal(formatNumber(42), "42");
  assert.equal(formatNumber(0.123456), "0.123");
  assert.equal(formatNumber(0.123456, { digits: 5 }), "0.12346");
  assert.equal(formatNumber(0.0001234), "1.23e-4");
  assert.equal(formatNumber(0.0001), "1e-4");
  assert.equal(formatNumber(-2.5e7), "-2.5e7");
  assert.equal(formatNumber(Infinity), "∞");
});
