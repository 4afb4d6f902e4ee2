import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { initWeights, resampleDead, type SaeSpec, SweepTrainer } from "./mod.ts";
import { Rng } from "./_random.ts";

const gpu = await createGpu();

Deno.test("features that never fire are re-initialised toward badly reconstructed inputs", async () => {
  const d = 8, n = 16;
  const specs: SaeSpec[] = [{ kind: "untied", dIn: d, dDict: n, l1: 1e-3 }, {
    kind: "tied",
    dIn: d,
    dDict: n,
    l1: 1e-3,
  }];
  const weights = specs.map((s, i) => initWeights(s, { seed: i }));
  const dead = [0, 5, 6, 11];
  for (const w of weights) for (const j of dead) w.encoderBias[j] = -100;
  const trainer = new SweepTrainer(gpu, specs, { batchSize: 12, weights, logEvery: 0 });
  const rng = new Rng(4);
  const batch = Float32Array.from({ length: 12 * d }, () => rng.normal());
  for (let s = 0; s < 4; s++) trainer.step(batch);
  const before = await trainer.weights();
  const moments = await trainer.optimizerState();
  assert.ok(moments.m[0].decoder!.some((v) => v !== 0), "Adam has state before resampling");
  assert.deepEqual(await resampleDead(trainer, batch, { deadAfter: 100 }), [0, 0], "nothing is dead for 100 steps yet");
  assert.deepEqual(await resampleDead(trainer, batch, { deadAfter: 3 }), [4, 4]);
  const after = await trainer.weights();
  const state = await trainer.optimizerState();
  const rows = Array.from({ length: 12 }, (_, b) => batch.subarray(b * d, (b + 1) * d));
  specs.forEach((spec, z) => {
    const dir = spec.kind === "tied" ? after[z].encoder : after[z].decoder!;
    for (let j = 0; j < n; j++) {
      const row = dir.subarray(j * d, (j + 1) * d);
      if (!dead.includes(j)) {
        assert.deepEqual(
          row,
          (spec.kind === "tied" ? before[z].encoder : before[z].decoder!).subarray(j * d, (j + 1) * d),
        );
        continue;
      }
      const norm = Math.hypot(...row);
      assert.ok(Math.abs(norm - 1) < 1e-5, `resampled direction ${j} is a unit vector`);
      const source = rows.find((x) => Math.abs(x.reduce((s, v, i) => s + v * row[i], 0) - Math.hypot(...x)) < 1e-4);
      assert.ok(source, `direction ${j} is one of the batch rows, normalised`);
      assert.equal(after[z].encoderBias[j], 0);
      assert.ok(state.m[z].encoder.subarray(j * d, (j + 1) * d).every((v) => v === 0), "Adam m reset");
      assert.ok(state.v[z].encoder.subarray(j * d, (j + 1) * d).every((v) => v === 0), "Adam v reset");
    }
  });
  // the untied encoder row points the same way as its decoder row, at 0.2 × the mean alive norm
  const enc = after[0].encoder.subarray(0, d), dec = after[0].decoder!.subarray(0, d);
  const scale = Math.hypot(...enc);
  assertClose(enc.map((v) => v / scale), dec, { atol: 1e-5, rtol: 1e-4 });
  trainer.step(batch);
  await trainer.settle();
  trainer.dispose();
});

globalThis.addEventListener("unload", () => gpu.destroy());
