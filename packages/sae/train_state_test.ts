import assert from "node:assert/strict";
import { join } from "node:path";
import { createGpu } from "@saelab/gpu";
import { openSafetensors, writeSafetensors } from "@saelab/safetensors";
import { overwriteFirstFloat32 } from "@saelab/safetensors/testing";
import {
  CheckpointError,
  initWeights,
  loadTrainState,
  type SaeSpec,
  saveSae,
  saveTrainState,
  STATE_FILE,
  type StepLog,
  type TrainState,
  trainSweep,
  verifySaeWeights,
} from "./mod.ts";
import { Rng } from "./_random.ts";

const specs: SaeSpec[] = [
  { kind: "untied", dIn: 8, dDict: 16, l1: 1e-2 },
  { kind: "tied", dIn: 8, dDict: 16, l1: 1e-2 },
];
const names = ["untied_r2_a1.0e-2", "tied_r2_a1.0e-2"];

function state(step = 3): TrainState {
  const weights = specs.map((s, i) => initWeights(s, { seed: i }));
  const moments = (k: number) => specs.map((s, i) => initWeights(s, { seed: 10 * k + i }));
  const fired = specs.map((s) => Uint32Array.from({ length: s.dDict }, (_, j) => (j * 7) % (step + 1)));
  return { step, scale: 1.5, names, weights, m: moments(1), v: moments(2), fired };
}

function refused(path: string, message: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof CheckpointError, String(e));
    assert.equal(e.file, path);
    assert.ok(e.message.includes(path), e.message);
    assert.match(e.message, message);
    return true;
  };
}

Deno.test("a training state round-trips with its fired counters and carries the SHA-256 of its payload", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, STATE_FILE);
    const s = state();
    await saveTrainState(path, s);
    const back = (await loadTrainState(path, { specs, names }))!;
    assert.equal(back.step, 3);
    assert.equal(back.scale, 1.5);
    assert.deepEqual(back.weights.map((w) => w.encoder), s.weights.map((w) => w.encoder));
    assert.deepEqual(back.fired, s.fired);
    const f = await openSafetensors(path);
    assert.match(f.metadata.sha256, /^[0-9a-f]{64}$/);
    f.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a training state whose weight was set to NaN (same size) is refused, naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, STATE_FILE);
    await saveTrainState(path, state());
    await overwriteFirstFloat32(path, "w.1.encoder", NaN);
    await assert.rejects(() => loadTrainState(path, { specs, names }), refused(path, /SHA-256 of its tensors differs/));
    // a state without a hash (written before states carried one) is still checked for NaN/Inf
    const f = await openSafetensors(path);
    const tensors = Object.fromEntries(
      await Promise.all(
        f.names.map(async (n) => [n, { dtype: f.info(n).dtype, shape: f.info(n).shape, bytes: await f.getRaw(n) }]),
      ),
    );
    const { sha256: _, ...metadata } = f.metadata;
    f.close();
    await writeSafetensors(path, tensors, { metadata });
    await assert.rejects(
      () => loadTrainState(path, { specs, names }),
      refused(path, /w\.1\.encoder \(tied_r2_a1\.0e-2\) holds NaN or Inf/),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a truncated training state is refused with a message naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, STATE_FILE);
    await saveTrainState(path, state());
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 100));
    await assert.rejects(() => loadTrainState(path, { specs, names }), refused(path, /out of bounds/));
    await Deno.writeFile(path, bytes.subarray(0, 5));
    await assert.rejects(() => loadTrainState(path, { specs, names }), refused(path, /remove it to train/));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a training state with NaN is not written; the file keeps the last good state", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, STATE_FILE);
    await saveTrainState(path, state(2));
    const bad = state(5);
    bad.weights[0].decoder![3] = Infinity;
    await assert.rejects(() => saveTrainState(path, bad), /w\.0\.decoder holds NaN or Inf/);
    assert.equal((await loadTrainState(path, { specs, names }))?.step, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SAE weights carry the SHA-256 of their tensors: altered or non-finite weights are refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const source = { hookName: "blocks.0.hook_resid_post", modelName: "m" };
    await saveSae(dir, initWeights(specs[0], { seed: 1 }), { source });
    await verifySaeWeights(dir);
    const path = join(dir, "sae_weights.safetensors");
    await overwriteFirstFloat32(path, "W_dec", NaN);
    await assert.rejects(() => verifySaeWeights(dir), refused(path, /SHA-256 of its tensors differs/));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dead fractions after a resume match those of an uninterrupted run (the fired counters are checkpointed)", async () => {
  const gpu = await createGpu();
  const dir = await Deno.makeTempDir();
  try {
    const rng = new Rng(7);
    const sparse: SaeSpec[] = specs.map((s) => ({ ...s, l1: 1e-3 }));
    // every batch repeats one vector, so that a feature fires at some steps and not at others
    const data = Array.from({ length: 12 }, () => {
      const v = Float32Array.from({ length: 8 }, () => rng.normal());
      return Float32Array.from({ length: 8 * 8 }, (_, e) => v[e % 8]);
    });
    const quiet = (logs: StepLog[]) => logs.map((l) => [l.step, ...l.members.map((m) => m.quietFraction)]);
    const common = { specs: sparse, names, batchSize: 8, steps: 12, seed: 1, logEvery: 2 };
    const full: StepLog[] = [];
    (await trainSweep(gpu, { ...common, batches: data, onLog: (l) => full.push(l) })).trainer.dispose();
    const source = { hookName: "blocks.0.hook_resid_post", modelName: "m" };
    // stop at step 5, between two log steps, and resume from there
    (await trainSweep(gpu, { ...common, steps: 5, batches: data, checkpoint: { dir, source } })).trainer.dispose();
    const resumed: StepLog[] = [];
    const second = await trainSweep(gpu, {
      ...common,
      batches: data.slice(5),
      onLog: (l) => resumed.push(l),
      checkpoint: { dir, source },
    });
    second.trainer.dispose();
    assert.equal(second.resumedFrom, 5);
    assert.deepEqual(quiet(resumed), quiet(full).filter(([step]) => step > 5));
    assert.ok(quiet(full).some(([, ...q]) => q.some((f) => f > 0 && f < 1)), "some features are quiet, some fire");
  } finally {
    await Deno.remove(dir, { recursive: true });
    gpu.destroy();
  }
});
