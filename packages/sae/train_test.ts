import assert from "node:assert/strict";
import { join } from "node:path";
import { assertClose, createGpu } from "@saelab/gpu";
import { loadSweepCheckpoint, PAPER_ADAM, type SaeSpec, saveSae, TrainingDivergedError, trainSweep } from "./mod.ts";
import { Rng } from "./_random.ts";

const gpu = await createGpu();
const d = 8;
const specs: SaeSpec[] = [
  { kind: "untied", dIn: d, dDict: 16, l1: 1e-2 },
  { kind: "tied", dIn: d, dDict: 16, l1: 1e-2 },
];
const rng = new Rng(2);
const data = Array.from({ length: 8 }, () => Float32Array.from({ length: 8 * d }, () => rng.normal()));
const source = { hookName: "blocks.0.hook_resid_post", modelName: "test" };

Deno.test("a resumed sweep ends exactly where an uninterrupted one does", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const full = await trainSweep(gpu, { specs, batchSize: 8, steps: 7, batches: data, seed: 1, logEvery: 0 });
    const want = await full.trainer.weights();
    full.trainer.dispose();
    const first = await trainSweep(gpu, {
      specs,
      batchSize: 8,
      steps: 4,
      batches: data,
      seed: 1,
      logEvery: 0,
      checkpoint: { dir, every: 3, source },
    });
    assert.equal(first.checkpointStep, 4);
    first.trainer.dispose();
    // a save of step 8 killed after the first member: its state moved to .prev, a newer one written
    const member = join(dir, "untied_r2_a1.0e-2");
    await Deno.rename(join(member, "training_state.safetensors"), join(member, "training_state.prev.safetensors"));
    const bogus = (await loadSweepCheckpoint(dir, ["untied_r2_a1.0e-2", "tied_r2_a1.0e-2"]))!;
    assert.equal(bogus.step, 4);
    await saveSae(member, bogus.states[0].weights, {
      source,
      optimizer: { ...bogus.states[0].optimizer, step: 8, adam: PAPER_ADAM },
    });
    const second = await trainSweep(gpu, {
      specs,
      batchSize: 8,
      steps: 7,
      batches: data.slice(4),
      seed: 99, // ignored: the weights come from the checkpoint
      logEvery: 0,
      checkpoint: { dir, every: 100, source },
    });
    assert.equal(second.resumedFrom, 4);
    assert.equal(second.step, 7);
    const got = await second.trainer.weights();
    specs.forEach((_, i) => {
      assertClose(got[i].encoder, want[i].encoder, { atol: 0, rtol: 0 }, `member ${i} encoder`);
      assertClose(got[i].encoderBias, want[i].encoderBias, { atol: 0, rtol: 0 }, `member ${i} bias`);
      if (want[i].decoder) assertClose(got[i].decoder!, want[i].decoder!, { atol: 0, rtol: 0 }, `member ${i} decoder`);
    });
    second.trainer.dispose();
    assert.equal(JSON.parse(await Deno.readTextFile(join(dir, "sweep.json"))).step, 7);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("NaN in the loss stops the run and keeps the last good checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const poisoned = data.map((x, s) => (s === 4 ? x.map((v, e) => (e === 5 ? NaN : v)) : x));
    await assert.rejects(
      () =>
        trainSweep(gpu, {
          specs,
          batchSize: 8,
          steps: 8,
          batches: poisoned,
          logEvery: 1,
          checkpoint: { dir, every: 2, source },
        }),
      (e: unknown) => {
        assert.ok(e instanceof TrainingDivergedError);
        assert.match(e.message, /non-finite loss/);
        assert.match(e.message, /last good checkpoint \(step 4\)/);
        return true;
      },
    );
    const kept = (await loadSweepCheckpoint(dir, ["untied_r2_a1.0e-2", "tied_r2_a1.0e-2"]))!;
    assert.equal(kept.step, 4);
    assert.ok(kept.states.every((s) => s.weights.encoder.every(Number.isFinite)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resuming with other members is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    (await trainSweep(gpu, {
      specs,
      batchSize: 8,
      steps: 2,
      batches: data,
      logEvery: 0,
      checkpoint: { dir, every: 5, source },
    }))
      .trainer.dispose();
    await assert.rejects(
      () =>
        trainSweep(gpu, {
          specs: specs.slice(1),
          batchSize: 8,
          steps: 3,
          batches: data,
          checkpoint: { dir, every: 5, source },
        }),
      /holds members untied_r2_a1.0e-2, tied_r2_a1.0e-2, not tied_r2_a1.0e-2/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

globalThis.addEventListener("unload", () => gpu.destroy());
