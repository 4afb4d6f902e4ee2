import assert from "node:assert/strict";
import { join } from "node:path";
import { assertClose, createGpu } from "@saelab/gpu";
import {
  loadTrainState,
  readSaeCfg,
  type SaeSpec,
  STATE_FILE,
  TrainingDivergedError,
  type TrainState,
  trainSweep,
} from "./mod.ts";
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
const names = ["untied_r2_a1.0e-2", "tied_r2_a1.0e-2"];

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
    assert.equal((await readSaeCfg(join(dir, "tied_r2_a1.0e-2"))).architecture, "standard");
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
    assert.equal((await loadTrainState(join(dir, STATE_FILE), { specs, names }))?.step, 7);
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
    const kept = (await loadTrainState(join(dir, STATE_FILE), { specs, names }))!;
    assert.equal(kept.step, 4);
    assert.ok(kept.weights.every((w) => w.encoder.every(Number.isFinite)));
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

Deno.test("checkpoints go to a callback every so many steps and at the end; stop ends training early", async () => {
  const seen: TrainState[] = [];
  const out = await trainSweep(gpu, {
    specs,
    batchSize: 8,
    steps: 8,
    batches: data,
    logEvery: 0,
    scale: 2,
    checkpoint: { every: 2, save: (s) => Promise.resolve(void seen.push(s)) },
    stop: (step) => step >= 5,
  });
  assert.equal(out.step, 5);
  assert.deepEqual(seen.map((s) => s.step), [2, 4, 5]);
  assert.ok(seen.every((s) => s.scale === 2 && s.names.join() === names.join()));
  const last = await out.trainer.weights();
  assert.deepEqual(seen[2].weights, last, "the final state holds the trainer's weights");
  out.trainer.dispose();
  const resumed = await trainSweep(gpu, { specs, batchSize: 8, steps: 8, batches: data.slice(5), resume: seen[2] });
  assert.equal(resumed.resumedFrom, 5);
  assert.equal(resumed.step, 8);
  resumed.trainer.dispose();
});

Deno.test("trainSweep hands its operand mode to the trainer; storage and texture runs agree", async () => {
  const run = async (operands: "texture" | "storage") => {
    const out = await trainSweep(gpu, { specs, batchSize: 8, steps: 3, batches: data, seed: 4, logEvery: 0, operands });
    assert.equal(out.trainer.operands, operands);
    const w = await out.trainer.weights();
    out.trainer.dispose();
    return w;
  };
  const texture = await run("texture"), storage = await run("storage");
  specs.forEach((_, i) => {
    const tol = { atol: 1e-6, rtol: 1e-5 };
    assertClose(storage[i].encoder, texture[i].encoder, tol, `member ${i} encoder`);
    assertClose(storage[i].encoderBias, texture[i].encoderBias, tol, `member ${i} bias`);
    if (texture[i].decoder) assertClose(storage[i].decoder!, texture[i].decoder!, tol, `member ${i} decoder`);
  });
});

globalThis.addEventListener("unload", () => gpu.destroy());
