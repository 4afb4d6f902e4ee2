import assert from "node:assert/strict";
import { type GreedyStep, greedySweep } from "./mod.ts";
import { seeded } from "./_random.ts";

/** A non-additive objective over sets: pairwise interactions make every decision depend on earlier ones. */
function objective(n: number, seed: number) {
  const rand = seeded(seed);
  const single = Array.from({ length: n }, () => 10 ** (-6 + 6 * rand()));
  const pair = Array.from({ length: n * n }, () => (rand() - 0.5) * 1e-3);
  const value = (set: Set<number>) => {
    const gone = [...Array(n).keys()].filter((f) => !set.has(f));
    let v = 0;
    for (const f of gone) v += single[f];
    for (const a of gone) for (const b of gone) if (a < b) v += pair[a * n + b];
    return v;
  };
  return value;
}

async function sweep(batch: number, seed: number) {
  const n = 40;
  const value = objective(n, seed);
  let set = new Set(Array.from({ length: n }, (_, i) => i));
  let sets = 0;
  const steps: GreedyStep<{ value: number }>[] = await greedySweep({
    evaluate: (removals) => {
      sets += removals.length;
      return Promise.resolve(removals.map((r) => ({ value: value(new Set([...set].filter((f) => !r.includes(f)))) })));
    },
    commit: (f) => void (set = new Set([...set].filter((g) => g !== f))),
  }, {
    features: [...set],
    thresholds: Array.from({ length: 30 }, (_, i) => 10 ** (-7 + 6 * i / 29)),
    start: { value: 0 },
    seed: seed + 1,
    batch,
  });
  return { steps, sets };
}

Deno.test("batched sweeps take exactly the decisions of the one-at-a-time sweep", async () => {
  for (const seed of [1, 2, 3]) {
    const one = await sweep(1, seed);
    for (const batch of [4, 16, 64]) {
      const many = await sweep(batch, seed);
      assert.deepEqual(many.steps.map((s) => s.remaining), one.steps.map((s) => s.remaining), `batch ${batch}`);
      assert.deepEqual(many.steps.map((s) => s.state.value), one.steps.map((s) => s.state.value));
      assert.ok(many.steps.at(-1)!.calls < one.steps.at(-1)!.calls, "fewer calls");
    }
    // the sweep actually removed some features and kept others
    const last = one.steps.at(-1)!;
    assert.ok(last.remaining.length > 0 && last.remaining.length < 40);
  }
});

Deno.test("a removal is accepted when it raises the value by less than the threshold", async () => {
  // removing 0 costs 0.5, removing 1 costs 2; thresholds 1 then 3
  const cost = [0.5, 2];
  let set = new Set([0, 1]);
  const value = (s: Set<number>) => [0, 1].filter((f) => !s.has(f)).reduce((a, f) => a + cost[f], 0);
  const steps = await greedySweep({
    evaluate: (rs) =>
      Promise.resolve(rs.map((r) => ({ value: value(new Set([...set].filter((f) => !r.includes(f)))) }))),
    commit: (f) => void (set = new Set([...set].filter((g) => g !== f))),
  }, { features: [0, 1], thresholds: [3, 1], start: { value: 0 } });
  assert.deepEqual(steps.map((s) => s.threshold), [1, 3]);
  assert.deepEqual(steps.map((s) => s.remaining), [[1], []]);
  assert.deepEqual(steps.map((s) => s.state.value), [0.5, 2.5]);
  await assert.rejects(() =>
    greedySweep({ evaluate: () => Promise.resolve([]), commit: () => {} }, {
      features: [],
      thresholds: [1],
      start: { value: 0 },
      batch: 0,
    }), RangeError);
});
