import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { featureDirections, maxCosines, mmcs, SweepTrainer, ToyData } from "./mod.ts";

const gpu = await createGpu();

Deno.test("toy data follows the generator's recipe: unit features, sparse codes, x = codes · features", () => {
  const toy = new ToyData({ d: 16, features: 40, meanActive: 3, decay: 0.95, seed: 3 });
  for (let i = 0; i < 40; i++) {
    let ss = 0;
    for (let k = 0; k < 16; k++) ss += toy.features[i * 16 + k] ** 2;
    assert.ok(Math.abs(ss - 1) < 1e-5, `feature ${i} has norm² ${ss}`);
  }
  const p = toy.probabilities;
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) / 40 - 3 / 40) < 1e-12, "mean probability = meanActive / features");
  assert.ok(Math.abs(p[10] / p[0] - 0.95 ** 10) < 1e-12, "probabilities decay geometrically");
  const { x, codes } = toy.batch(2000);
  let active = 0;
  for (let b = 0; b < 2000; b++) {
    let rowActive = 0;
    for (let i = 0; i < 40; i++) {
      const c = codes[b * 40 + i];
      assert.ok(c >= 0 && c <= 1);
      if (c > 0) rowActive++;
    }
    assert.ok(rowActive >= 1, "every row has at least one feature");
    active += rowActive;
    for (let k = 0; k < 16; k++) {
      let want = 0;
      for (let i = 0; i < 40; i++) want += codes[b * 40 + i] * toy.features[i * 16 + k];
      assert.ok(Math.abs(x[b * 16 + k] - want) < 1e-5);
    }
  }
  assert.ok(Math.abs(active / 2000 - 3) < 0.25, `mean active ${active / 2000}`);
  const corr = new ToyData({ d: 8, features: 30, correlated: true, seed: 4 });
  assert.equal(corr.batch(5).x.length, 40);
});

Deno.test({
  name: "ground truth: an SAE trained on the paper's toy data recovers 512 features in 128 dims (MMCS ≥ 0.9)",
  sanitizeResources: false,
  fn: async () => {
    // Equal feature frequencies (decay 1) instead of the paper's 0.99, so that even the rarest feature
    // appears often within this test's 256k rows; lr 1e-2 instead of 1e-3 to converge in 500 steps.
    const toy = new ToyData({ d: 128, features: 512, meanActive: 5, decay: 1, seed: 1 });
    const batch = 512;
    const trainer = new SweepTrainer(gpu, [{ kind: "untied", dIn: 128, dDict: 512, l1: 8e-4 }], {
      batchSize: batch,
      adam: { lr: 1e-2 },
      logEvery: 150,
    });
    const untrained = mmcs(toy.features, featureDirections((await trainer.weights())[0]), 128);
    for (let s = 0; s < 500; s++) trainer.step(toy.batch(batch).x);
    await trainer.settle();
    const learned = featureDirections((await trainer.weights())[0]);
    const score = mmcs(toy.features, learned, 128);
    const recovered = maxCosines(toy.features, learned, 128).filter((c) => c > 0.9).length;
    console.log(
      `MMCS to the true features: ${untrained.toFixed(3)} untrained → ${score.toFixed(3)} trained; ` +
        `${recovered}/512 features recovered with cosine > 0.9`,
    );
    assert.ok(untrained < 0.5, `random directions should not match (${untrained})`);
    assert.ok(score >= 0.9, `MMCS ${score} < 0.9`);
    trainer.dispose();
  },
});

globalThis.addEventListener("unload", () => gpu.destroy());
