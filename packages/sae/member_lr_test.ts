import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { initWeights, learningRate, ReferenceTrainer, type SaeSpec, SweepTrainer } from "./mod.ts";
import { Rng } from "./_random.ts";

const gpu = await createGpu();
addEventListener("unload", () => gpu.destroy());

const d = 8;
const specs: SaeSpec[] = [
  { kind: "untied", dIn: d, dDict: 16, l1: 1e-3 },
  { kind: "untied", dIn: d, dDict: 16, l1: 1e-3 },
  { kind: "tied", dIn: d, dDict: 16, l1: 1e-2 },
  { kind: "tied", dIn: d, dDict: 32, l1: 1e-2 },
];

Deno.test("members with their own peak learning rates train as the float64 reference at those rates, on one schedule", async () => {
  const rng = new Rng(3);
  const data = Array.from({ length: 6 }, () => Float32Array.from({ length: 12 * d }, () => rng.normal()));
  const base = 1e-3;
  const memberLr = [base, 4e-3, 1e-2, 2.5e-4];
  const schedule = { schedule: "warmup-linear", steps: data.length, warmupSteps: 2 } as const;
  const init = specs.map((s, i) => initWeights(s, { seed: 9 + (i === 1 ? 0 : i) })); // members 0 and 1: one init
  const trainer = new SweepTrainer(gpu, specs, {
    batchSize: 12,
    weights: init,
    adam: { lr: base },
    lrAt: (step) => learningRate(step, { ...schedule, lr: base }),
    memberLr,
  });
  // the same two untied members at different rates differ; each matches a reference stepping at its own rate
  const refs = init.map((w) => new ReferenceTrainer(w));
  for (const [t, x] of data.entries()) {
    trainer.step(x);
    refs.forEach((r, i) => {
      r.adam.lr = learningRate(t + 1, { ...schedule, lr: memberLr[i] });
      r.trainStep(x);
    });
  }
  await trainer.settle();
  const got = await trainer.weights();
  const tol = { atol: 2e-6, rtol: 1e-4 };
  specs.forEach((_, i) => {
    const want = refs[i].toWeights();
    assertClose(got[i].encoder, want.encoder, tol, `member ${i} encoder`);
    assertClose(got[i].encoderBias, want.encoderBias, tol, `member ${i} encoder bias`);
    if (want.decoder) assertClose(got[i].decoder!, want.decoder, tol, `member ${i} decoder`);
  });
  assert.notDeepEqual(got[0].encoder, got[1].encoder, "one init, two rates: different weights");
  trainer.dispose();
});

Deno.test("a learning rate per member must be given for every member and be positive", () => {
  for (const memberLr of [[1e-3], [1e-3, 1e-3, 0, 1e-3], [1e-3, 1e-3, 1e-3, Number.NaN]]) {
    assert.throws(
      () => new SweepTrainer(gpu, specs, { batchSize: 12, memberLr }),
      /memberLr needs one positive learning rate per member \(4\)/,
    );
  }
});
