import assert from "node:assert/strict";
import { join } from "node:path";
import { createGpu } from "@saelab/gpu";
import { loadDictionary, readSaeLensCfg, readSaeLensTensors } from "@saelab/dictionary";
import {
  initWeights,
  kindOfCfg,
  loadTrainState,
  referenceForward,
  ReferenceTrainer,
  saveSae,
  saveTrainState,
  specName,
  SweepTrainer,
} from "../mod.ts";
import { resolveSpec } from "../spec.ts";
import { assertCodes, assertFollows, trainBoth, withTempDir } from "../_test_support.ts";
import { batchtopk, TOPK_THRESHOLD_LR } from "./batchtopk.ts";

let state = 5;
const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 2;

Deno.test("batchtopk: k·B codes over the batch in training, JumpReLU at θ after, SAELens' threshold rule", () => {
  const spec = resolveSpec({ kind: "batchtopk", dIn: 2, dDict: 4, l1: 0, k: 2 });
  const pre = new Float64Array([3, 2, 1, -1, 0.5, 0.4, 0.2, 0.1, -1, -2, 5, 0.3]); // 3 rows of 4
  const codes = new Float64Array(12).fill(9);
  batchtopk.batch!.activate(pre, codes, spec);
  assert.deepEqual([...codes], [3, 2, 1, 0, 0.5, 0.4, 0, 0, 0, 0, 5, 0], "the 6 largest of the batch");
  const perRow = [0, 1, 2].map((b) => codes.slice(4 * b, 4 * b + 4).filter((c) => c > 0).length);
  assert.deepEqual(perRow, [3, 2, 1], "rows keep different numbers of features, k on average");
  const few = new Float64Array([-1, 0.5, -1, -1, -2, -1, -1, -1]);
  batchtopk.batch!.activate(few, codes.subarray(0, 8), spec);
  assert.deepEqual([...codes.subarray(0, 8)], [0, 0.5, 0, 0, 0, 0, 0, 0], "fewer positives than k·B: all kept");
  assert.equal(batchtopk.batch!.nextThreshold(0.5, codes.subarray(0, 8)), 0.99 * 0.5 + 0.01 * 0.5);
  assert.equal(batchtopk.batch!.nextThreshold(1, new Float64Array([0, 0.2, 0.3])), 0.99 + 0.01 * 0.2);
  assert.equal(batchtopk.batch!.nextThreshold(0.7, new Float64Array(4)), 0.7, "no positive code: θ stays");
  assert.equal(TOPK_THRESHOLD_LR, 0.01, "SAELens' default topk_threshold_lr");
  const inf = new Float64Array(4);
  batchtopk.activate(new Float64Array([0.3, 0.2, -1, 0.25]), inf, spec, 0.25);
  assert.deepEqual([...inf], [0.3, 0, 0, 0], "inference: p where p > θ (not p − θ, not p = θ)");
  batchtopk.activate(new Float64Array([0.3, -0.2]), inf.subarray(0, 2), spec);
  assert.deepEqual([...inf.subarray(0, 2)], [0.3, 0], "θ = 0 is ReLU");
  const cfg = batchtopk.saelens.cfg(spec);
  assert.equal(cfg.architecture, "jumprelu");
  assert.deepEqual(cfg.metadata, { training_architecture: "batchtopk", k: 2, topk_threshold_lr: 0.01 });
  assert.ok(batchtopk.saelens.matches({ architecture: "jumprelu", metadata: { training_architecture: "batchtopk" } }));
  assert.ok(!batchtopk.saelens.matches({ architecture: "jumprelu" }), "a plain JumpReLU SAE is not a BatchTopK one");
  assert.deepEqual(batchtopk.saelens.spec(cfg), { k: 2 });
  assert.equal(batchtopk.nameTail(spec), "k2");
  assert.throws(() => resolveSpec({ kind: "batchtopk", dIn: 2, dDict: 4, l1: 0 }), /k undefined is not a whole number/);
  assert.equal(initWeights(spec).threshold, 0, "θ starts at 0, as SAELens' topk_threshold buffer");
});

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());
const D = 8, N = 32, ROWS = 16, STEPS = 6;
const batches = Array.from({ length: STEPS }, () => Float32Array.from({ length: ROWS * D }, uniform));

for (const operands of ["texture", "storage"] as const) {
  Deno.test(`batchtopk: the GPU trainer (${operands} operands) follows the float64 reference, θ included`, async () => {
    const specs = [3, 3, 6].map((k) => ({ kind: "batchtopk" as const, dIn: D, dDict: N, l1: 0, k }));
    const { got, refs } = await trainBoth(gpu, { specs, batches, lr: 1e-2, seed: 11, operands });
    for (const ref of refs) assert.ok(ref.toWeights().threshold! > 0, "θ has moved off 0");
    assertFollows(got, { refs, keys: ["threshold", "encoder", "encoderBias", "decoder"] });
  });
}

Deno.test("batchtopk: its SAELens folder is a JumpReLU SAE that loads back to the float64 inference codes", async () => {
  const spec = { kind: "batchtopk" as const, dIn: D, dDict: N, l1: 0, k: 4 };
  const ref = new ReferenceTrainer(initWeights(spec, { seed: 3 }), { lr: 1e-2 });
  for (const x of batches) ref.trainStep(x);
  const w = ref.toWeights();
  w.threshold = 0.2; // large enough to cut codes that ReLU keeps
  await withTempDir(async (dir) => {
    const source = { hookName: "blocks.0.hook_resid_post", modelName: "m" };
    await saveSae(join(dir, "b"), w, { source, steps: STEPS });
    const cfg = await readSaeLensCfg(join(dir, "b"));
    assert.equal(cfg.architecture, "jumprelu");
    assert.equal((cfg.metadata as { training_architecture?: string }).training_architecture, "batchtopk");
    assert.equal(kindOfCfg(cfg)?.name, "batchtopk");
    const t = await readSaeLensTensors(join(dir, "b"), cfg);
    assert.deepEqual([...t.threshold!], new Array(N).fill(Math.fround(0.2)), "threshold: d_sae entries, all θ");
    const dict = await loadDictionary(join(dir, "b"));
    const x = batches[0];
    const want = referenceForward(spec, { ...ref.params, threshold: Math.fround(0.2) }, x).codes;
    const relu = referenceForward(spec, { ...ref.params, threshold: 0 }, x).codes;
    assert.ok(relu.filter((c) => c > 0).length > want.filter((c) => c > 0).length, "θ cuts some ReLU codes");
    await assertCodes(dict, { x, want, gpu });
  });
});

Deno.test("batchtopk: the learned θ survives a training state and a resumed trainer keeps it", async () => {
  const spec = { kind: "batchtopk" as const, dIn: D, dDict: N, l1: 0, k: 4 };
  const w = { ...initWeights(spec, { seed: 1 }), threshold: 0.375 };
  await withTempDir(async (dir) => {
    const path = join(dir, "state.safetensors");
    const zero = initWeights(spec);
    const names = [specName(spec)];
    await saveTrainState(path, { step: 3, scale: 1, names, weights: [w], m: [zero], v: [zero] });
    const back = (await loadTrainState(path, { specs: [spec], names }))!;
    assert.equal(back.weights[0].threshold, 0.375);
    const trainer = new SweepTrainer(gpu, [spec], { batchSize: ROWS, weights: back.weights, logEvery: 0 });
    assert.equal((await trainer.weights())[0].threshold, 0.375, "the GPU trainer starts from the saved θ");
    trainer.dispose();
  });
});
