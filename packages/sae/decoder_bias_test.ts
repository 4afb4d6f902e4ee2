import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import {
  geometricMedian,
  initWeights,
  loadTrainState,
  ReferenceTrainer,
  type SaeSpec,
  saveTrainState,
  specName,
  type StepLog,
  SweepTrainer,
  trainsDecoderBias,
} from "./mod.ts";
import { Rng } from "./_random.ts";
import { assertFollows, stepInLockstep, withTempDir } from "./_test_support.ts";

const gpu = await createGpu();
addEventListener("unload", () => gpu.destroy());

const d = 8;
const tol = { atol: 3e-6, rtol: 1e-4 };

/** Rows with a large common offset, so that b_dec matters. */
function batches(count: number, rows: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const offset = Array.from({ length: d }, (_, i) => 1.5 * Math.sin(i + 1));
  return Array.from(
    { length: count },
    () => Float32Array.from({ length: rows * d }, (_, e) => offset[e % d] + rng.normal()),
  );
}

const specs: SaeSpec[] = [
  { kind: "untied", dIn: d, dDict: 16, l1: 1e-2, decoderBias: true },
  { kind: "untied", dIn: d, dDict: 16, l1: 1e-2 },
  { kind: "tied", dIn: d, dDict: 16, l1: 1e-2, decoderBias: true },
  { kind: "topk", dIn: d, dDict: 24, l1: 0, k: 3, decoderBias: true },
  { kind: "batchtopk", dIn: d, dDict: 24, l1: 0, k: 3, decoderBias: true },
  { kind: "untied", dIn: d, dDict: 32, l1: 3e-2, decoderBias: true, l1Penalty: "decoder-norm" },
];

for (const operands of ["texture", "storage"] as const) {
  Deno.test(`a trainable b_dec from the geometric median: the GPU sweep matches the float64 reference (${operands})`, async () => {
    const data = batches(6, 12, 13);
    const { median } = geometricMedian(data[0], d);
    const init = specs.map((s, i) => {
      const w = initWeights(s, { seed: 7 + i });
      return s.decoderBias ? { ...w, decoderBias: Float32Array.from(median) } : w;
    });
    const logs: StepLog[] = [];
    const trainer = new SweepTrainer(gpu, specs, {
      batchSize: 12,
      weights: init,
      logEvery: 3,
      onLog: (l) => logs.push(l),
      operands,
    });
    const refs = init.map((w) => new ReferenceTrainer(w));
    const { got, losses } = await stepInLockstep(trainer, { refs, batches: data });
    const want = losses.map((step) => step.map((s) => s.loss));
    const member = (i: number) => trainer.names[i];
    assertFollows(got, { refs, keys: ["encoder", "encoderBias"], ifPresent: ["decoder"], tol, member });
    specs.forEach((s, i) => {
      const w = refs[i].toWeights();
      const name = trainer.names[i];
      if (s.decoderBias) {
        assertClose(got[i].decoderBias!, w.decoderBias!, tol, `${name} b_dec`);
        assert.ok(got[i].decoderBias!.some((v, j) => Math.abs(v - median[j]) > 1e-4), `${name}: b_dec trains`);
      } else assert.equal(got[i].decoderBias, null);
    });
    assert.deepEqual(logs.map((l) => l.step), [3, 6]);
    for (const log of logs) {
      assertClose(log.members.map((m) => m.loss), want[log.step - 1], { atol: 1e-6, rtol: 1e-5 }, `loss ${log.step}`);
    }
    // Adam's moments of b_dec come back with the optimizer state
    const state = await trainer.optimizerState();
    assert.ok(state.m[0].decoderBias!.some((v) => v !== 0), "b_dec has Adam moments");
    trainer.dispose();
  });
}

Deno.test("the geometric median: Weiszfeld's fixed point, below the mean's sum of distances, robust to an outlier", () => {
  const rng = new Rng(2);
  const rows = Float64Array.from({ length: 200 * 3 }, () => rng.normal());
  for (let i = 0; i < 3; i++) rows[i] = 1e3; // one far outlier
  const { median, iterations, objective } = geometricMedian(rows, 3);
  assert.ok(iterations > 1 && iterations <= 100);
  const mean = [0, 1, 2].map((i) => rows.filter((_, e) => e % 3 === i).reduce((s, v) => s + v, 0) / 200);
  const sum = (m: ArrayLike<number>) => {
    let s = 0;
    for (let b = 0; b < 200; b++) s += Math.hypot(rows[3 * b] - m[0], rows[3 * b + 1] - m[1], rows[3 * b + 2] - m[2]);
    return s / 200;
  };
  assert.ok(objective < sum(mean) - 1, `median ${objective} vs mean ${sum(mean)}`);
  assert.ok(Math.hypot(...median) < 0.5, `the outlier pulls the mean (${mean}) but not the median (${median})`);
  // at the fixed point the weighted average of the rows is the median itself
  const next = [0, 0, 0];
  let total = 0;
  for (let b = 0; b < 200; b++) {
    const w = 1 / Math.hypot(rows[3 * b] - median[0], rows[3 * b + 1] - median[1], rows[3 * b + 2] - median[2]);
    total += w;
    for (let i = 0; i < 3; i++) next[i] += w * rows[3 * b + i];
  }
  assertClose(next.map((v) => v / total), Array.from(median), { atol: 1e-6, rtol: 1e-6 }, "fixed point");
  assert.throws(() => geometricMedian(new Float32Array(5), 3), /not a whole number/);
});

Deno.test("a training state keeps b_dec and its moments, and a resumed sweep trains on as an uninterrupted one", async () => {
  const spec: SaeSpec[] = [{ kind: "untied", dIn: d, dDict: 16, l1: 1e-2, decoderBias: true }];
  const data = batches(4, 8, 3);
  const whole = new SweepTrainer(gpu, spec, { batchSize: 8, seed: 1, logEvery: 0 });
  for (const x of data) whole.step(x);
  const want = await whole.weights();
  whole.dispose();
  const first = new SweepTrainer(gpu, spec, { batchSize: 8, seed: 1, logEvery: 0 });
  for (const x of data.slice(0, 2)) first.step(x);
  const { m, v, step, fired } = await first.optimizerState();
  await withTempDir(async (dir) => {
    const path = `${dir}/state.safetensors`;
    await saveTrainState(path, {
      step,
      scale: 1,
      names: [...first.names],
      weights: await first.weights(),
      m,
      v,
      fired,
    });
    first.dispose();
    const state = (await loadTrainState(path, { specs: spec, names: [specName(spec[0])] }))!;
    assert.ok(state.weights[0].decoderBias && state.m[0].decoderBias, "b_dec and its moment are in the state");
    const resumed = new SweepTrainer(gpu, spec, {
      batchSize: 8,
      weights: state.weights,
      startStep: state.step,
      logEvery: 0,
    });
    resumed.loadOptimizerState(state);
    for (const x of data.slice(2)) resumed.step(x);
    const got = await resumed.weights();
    resumed.dispose();
    assertClose(got[0].decoderBias!, want[0].decoderBias!, { atol: 1e-6, rtol: 1e-5 }, "b_dec after a resume");
    assertClose(got[0].encoder, want[0].encoder, { atol: 1e-6, rtol: 1e-5 }, "encoder after a resume");
  });
});

Deno.test("a decoder bias is refused for gated members, whose encoder has stages of its own", () => {
  assert.equal(trainsDecoderBias("gated"), false);
  assert.ok(trainsDecoderBias("untied") && trainsDecoderBias("batchtopk"));
  assert.throws(
    () => new SweepTrainer(gpu, [{ kind: "gated", dIn: d, dDict: 16, l1: 1e-2, decoderBias: true }], { batchSize: 4 }),
    /a trainable decoder bias is not supported for gated members/,
  );
});
