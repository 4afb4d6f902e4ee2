import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import {
  convergence,
  heldOutFvu,
  HeldOutProbe,
  learningRate,
  nextLargerPairs,
  referenceForward,
  resolveSpec,
  type SaeSpec,
  sizeMmcs,
  toReferenceParams,
  trainSweep,
} from "./mod.ts";
import { Rng } from "./_random.ts";
import { totalVariance, trainedSweep } from "./_test_support.ts";

const gpu = await createGpu();

/** Float64 rule: improvement from the last point at or before 80% of the last step to the last point. */
function cpuConverged(points: { step: number; fvu: number }[]): { converged: boolean; improvement: number } {
  const sorted = [...points].sort((a, b) => a.step - b.step);
  const end = sorted[sorted.length - 1];
  let from = sorted[0];
  for (const p of sorted) if (p.step <= 0.8 * end.step && p.step < end.step) from = p;
  const improvement = (from.fvu - end.fvu) / from.fvu;
  return { converged: improvement < 0.02, improvement };
}

Deno.test("convergence: held-out FVU improving < 2% over the last 20% of steps is a plateau", () => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 200; trial++) {
    const steps = 20 + Math.floor(rng.uniform() * 400);
    const every = Math.max(1, Math.round(steps / 20));
    const rate = rng.uniform() * 8;
    const points = [];
    for (let s = every; s <= steps; s += every) points.push({ step: s, fvu: 0.1 + Math.exp(-rate * s / steps) });
    if (points[points.length - 1].step !== steps) points.push({ step: steps, fvu: 0.1 + Math.exp(-rate) });
    const got = convergence(points), want = cpuConverged(points);
    assert.equal(got.converged, want.converged, `trial ${trial}`);
    assertClose([got.improvement!], [want.improvement], { atol: 1e-12, rtol: 1e-9 });
  }
  // the boundary: 1.9% is converged, 2.1% is not
  assert.equal(convergence([{ step: 80, fvu: 1 }, { step: 100, fvu: 0.981 }]).converged, true);
  assert.equal(convergence([{ step: 80, fvu: 1 }, { step: 100, fvu: 0.979 }]).converged, false);
  // from the last point at or before 80%, not a later one
  const c = convergence([{ step: 70, fvu: 1 }, { step: 80, fvu: 0.5 }, { step: 90, fvu: 0.2 }, {
    step: 100,
    fvu: 0.2,
  }]);
  assert.equal(c.fromStep, 80);
  assert.equal(c.converged, false);
  assert.equal(convergence([{ step: 5, fvu: 1 }]).converged, null);
  assert.equal(convergence([]).converged, null);
});

Deno.test("learningRate: warm-up over 5%, linear decay to 0 over the last 20%, constant otherwise", () => {
  const steps = 200, lr = 2e-3;
  for (let s = 1; s <= steps; s++) {
    const want = s <= 10 ? lr * s / 10 : s > 160 ? lr * (steps - s + 1) / 40 : lr;
    assertClose([learningRate(s, { schedule: "warmup-decay", lr, steps })], [want], { atol: 1e-15, rtol: 1e-12 });
    assert.equal(learningRate(s, { schedule: "constant", lr, steps }), lr);
  }
  const custom = { schedule: "warmup-decay", lr, steps, warmupSteps: 0, decaySteps: 100 } as const;
  assert.equal(learningRate(1, custom), lr);
  assertClose([learningRate(151, custom)], [lr * 50 / 100], { atol: 1e-15, rtol: 1e-12 });
});

/** Float64 mean over rows of `a` of the best cosine with a row of `b`. */
function cpuMmcs(a: ArrayLike<number>, b: ArrayLike<number>, d: number): number {
  let total = 0;
  const rows = (m: ArrayLike<number>) => m.length / d;
  const norm = (m: ArrayLike<number>, r: number) => {
    let s = 0;
    for (let i = 0; i < d; i++) s += m[r * d + i] ** 2;
    return Math.sqrt(s);
  };
  for (let r = 0; r < rows(a); r++) {
    let best = -Infinity;
    for (let q = 0; q < rows(b); q++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += a[r * d + i] * b[q * d + i];
      best = Math.max(best, dot / (norm(a, r) * norm(b, q)));
    }
    total += best;
  }
  return total / rows(a);
}

Deno.test("sizeMmcs: the seed-code direction averages over the larger dictionary; pairs go to the next larger R", () => {
  const rng = new Rng(9);
  const d = 6;
  const weights = (dDict: number) => {
    const spec = resolveSpec({ kind: "untied", dIn: d, dDict, l1: 1e-3 });
    return {
      spec,
      encoder: Float32Array.from({ length: dDict * d }, () => rng.normal()),
      encoderBias: new Float32Array(dDict),
      decoder: Float32Array.from({ length: dDict * d }, () => rng.normal()),
      decoderBias: null,
    };
  };
  const small = weights(8), large = weights(24);
  const m = sizeMmcs(small, large, { seed: 4, trials: 3 });
  assertClose([m.mmcs], [cpuMmcs(large.decoder, small.decoder, d)], { atol: 1e-6, rtol: 0 });
  assertClose([m.mmcsSmallerToLarger], [cpuMmcs(small.decoder, large.decoder, d)], { atol: 1e-6, rtol: 0 });
  assert.ok(m.mmcs !== m.mmcsSmallerToLarger);
  // the chance level: random unit vectors of the same sizes, seeded (same seed, same value)
  assert.equal(sizeMmcs(small, large, { seed: 4, trials: 3 }).mmcsChance, m.mmcsChance);
  assert.ok(m.mmcsChance > 0.3 && m.mmcsChance < 1, `chance ${m.mmcsChance}`);
  const s = (kind: "untied" | "tied", dDict: number, l1: number) => resolveSpec({ kind, dIn: 4, dDict, l1 });
  const specs = [
    s("untied", 4, 1e-3),
    s("untied", 8, 1e-3),
    s("untied", 16, 1e-3),
    s("tied", 8, 1e-3),
    s("untied", 16, 1e-2),
  ];
  assert.deepEqual(nextLargerPairs(specs), [1, 2, -1, -1, -1]);
});

Deno.test("heldOutFvu records the held-out FVU of every member without waiting, as a float64 forward pass", async () => {
  const d = 8;
  const specs: SaeSpec[] = [
    { kind: "untied", dIn: d, dDict: 16, l1: 1e-2 },
    { kind: "tied", dIn: d, dDict: 16, l1: 3e-2 },
    { kind: "untied", dIn: d, dDict: 32, l1: 1e-2 },
  ];
  const rng = new Rng(3);
  const trainer = trainedSweep(gpu, { specs, rng });
  const held = Float32Array.from({ length: 40 * d }, () => rng.normal() + 0.5); // three batches: 16, 16, 8
  using probe = new HeldOutProbe(trainer, held);
  assert.equal(probe.batches.length, 3);
  const pending = heldOutFvu(trainer, probe);
  const weights = await trainer.weights();
  const fvu = await pending;
  const variance = totalVariance(held, d);
  specs.forEach((spec, i) => {
    const f = referenceForward(spec, toReferenceParams(weights[i]), held);
    assertClose([fvu[i]], [(f.mse * 40 * d) / variance], { atol: 1e-6, rtol: 1e-4 }, `member ${i}`);
  });
  trainer.dispose();
});

Deno.test("trainSweep follows held-out FVU every so many steps and at the last, and sets lr per step", async () => {
  const d = 8;
  const rng = new Rng(11);
  const rows = Float32Array.from({ length: 64 * d }, () => rng.normal());
  const batches = Array.from({ length: 10 }, (_, s) => rows.subarray((s % 4) * 16 * d, ((s % 4) + 1) * 16 * d));
  const specs: SaeSpec[] = [{ kind: "untied", dIn: d, dDict: 16, l1: 1e-2 }];
  const seen: number[] = [];
  const lrs: number[] = [];
  const { trainer } = await trainSweep(gpu, {
    specs,
    batchSize: 16,
    steps: 10,
    batches,
    logEvery: 4,
    lrAt: (s) => (lrs.push(s), s <= 5 ? 1e-3 : 0),
    heldOut: { rows: rows.subarray(0, 32 * d), every: 4, onFvu: (step, fvu) => seen.push(step, fvu[0]) },
  });
  assert.deepEqual(lrs, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual([seen[0], seen[2], seen[4]], [4, 8, 10]);
  assert.ok([seen[1], seen[3], seen[5]].every((f) => f > 0 && f < 2), JSON.stringify(seen));
  // with lr 0 from step 6 on, the weights stop moving: the held-out FVU before steps 8 and 10 is the same
  assertClose([seen[5]], [seen[3]], { atol: 1e-7, rtol: 1e-6 });
  trainer.dispose();
});

globalThis.addEventListener("unload", () => gpu.destroy());
