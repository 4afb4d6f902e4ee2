import assert from "node:assert/strict";
import { join } from "node:path";
import { assertClose, createGpu } from "@saelab/gpu";
import { loadDictionary, readSaeLensCfg, readSaeLensTensors } from "@saelab/dictionary";
import {
  initWeights,
  kindOfCfg,
  loadTrainState,
  referenceForward,
  referenceGradients,
  type ReferenceParams,
  ReferenceTrainer,
  saveSae,
  saveTrainState,
  specName,
  SweepTrainer,
  toReferenceParams,
} from "../mod.ts";
import { resolveSpec } from "../spec.ts";
import { assertCodes, assertFollows, trainBoth, withTempDir } from "../_test_support.ts";
import { jumprelu, JUMPRELU_BANDWIDTH, JUMPRELU_INIT_THRESHOLD } from "./jumprelu.ts";

let state = 17;
const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 2;
const EPS = JUMPRELU_BANDWIDTH;

Deno.test("jumprelu: z · H(z − θ) per feature, the rectangle-kernel estimator, SAELens' defaults and cfg", () => {
  assert.equal(EPS, 0.001, "SAELens' jumprelu_bandwidth");
  assert.equal(JUMPRELU_INIT_THRESHOLD, 0.001, "SAELens' jumprelu_init_threshold");
  const t = jumprelu.thresholds!;
  const codes = new Float64Array(4);
  t.activate(new Float64Array([0.5, 0.2, 0.3, -1]), codes, [0.4, 0.1, 0.3, 0.001]);
  assert.deepEqual([...codes], [0.5, 0.2, 0, 0], "z where z > θ (not z − θ; z = θ is cut)");
  // ∂f/∂θ = −(θ/ε)·K, ∂H/∂θ = −(1/ε)·K, K(u) = 1{−½ < u < ½} of u = (z − θ)/ε
  const theta = 0.2, code = 0.7, penalty = 0.03;
  for (const [z, inside] of [[0.2, true], [0.2004, true], [0.1996, true], [0.2006, false], [0.1994, false]] as const) {
    const want = inside ? -(theta / EPS) * code - penalty / EPS : 0;
    assert.equal(t.thetaGrad(z, theta, { code, penalty, bandwidth: EPS }), want, `z = ${z}`);
  }
  const wide = -(theta / 0.01) * code - penalty / 0.01;
  assert.equal(t.thetaGrad(0.2045, theta, { code, penalty, bandwidth: 0.01 }), wide, "a wider kernel reaches further");
  assert.throws(() => initWeights({ kind: "jumprelu", dIn: 4, dDict: 4, l1: 0 }, { initThreshold: 0 }), /not > 0/);
  const start = initWeights({ kind: "jumprelu", dIn: 4, dDict: 4, l1: 0 }, { initThreshold: 0.25 }).logThreshold!;
  assert.deepEqual([...start], new Array(4).fill(Math.fround(Math.log(0.25))));
  const spec = resolveSpec({ kind: "jumprelu", dIn: 8, dDict: 16, l1: 2e-3 });
  const cfg = jumprelu.saelens.cfg(spec);
  assert.equal(cfg.architecture, "jumprelu");
  assert.equal(cfg.l0_coefficient, 2e-3 * 8, "SAELens' l0_coefficient weighs a summed MSE: α · d_in");
  assert.ok(jumprelu.saelens.matches({ architecture: "jumprelu" }), "a plain SAELens JumpReLU SAE is one");
  assert.ok(!jumprelu.saelens.matches({ architecture: "jumprelu", metadata: { training_architecture: "batchtopk" } }));
  assert.equal(kindOfCfg({ d_in: 8, d_sae: 16, architecture: "jumprelu" })?.name, "jumprelu");
  assert.equal(specName(spec), "jumprelu_r2_a2.0e-3");
  const w = initWeights(spec, { seed: 4 });
  assert.deepEqual([...w.logThreshold!], new Array(16).fill(Math.fround(Math.log(0.001))), "θ starts at 0.001");
  assert.deepEqual(w.encoder, initWeights({ ...spec, kind: "untied" }, { seed: 4 }).encoder, "untied's draws");
});

/** A small JumpReLU SAE whose thresholds sit 0.0002 above or below one pre-activation of two features in three. */
function nearThreshold(spec: { kind: "jumprelu"; dIn: number; dDict: number; l1: number; decoderBias?: boolean }) {
  const s = resolveSpec(spec);
  const w = initWeights(s, { seed: 9 });
  w.decoderBias?.forEach((_, i) => w.decoderBias![i] = 0.2 * uniform());
  const rows = 12, n = s.dDict;
  const x = Float64Array.from({ length: rows * s.dIn }, uniform);
  const params = toReferenceParams(w);
  const pre = referenceForward(s, params, x).pre;
  const logThreshold = new Float64Array(n).fill(Math.log(0.3));
  for (let j = 0; j < n; j++) {
    if (j % 3 === 2) continue;
    const z = Math.abs(pre[(j % rows) * n + j]) + 0.05; // move row j's pre-activation of feature j to z through b_e
    params.encoderBias[j] = z - pre[(j % rows) * n + j];
    logThreshold[j] = Math.log(z + (j % 3 === 0 ? 2e-4 : -2e-4));
  }
  return { spec: s, params: { ...params, logThreshold } as ReferenceParams, x, rows };
}

for (const decoderBias of [false, true]) {
  Deno.test(`jumprelu: reference gradients${decoderBias ? " with b_dec" : ""} — finite differences and the estimator`, () => {
    const { spec, params, x, rows } = nearThreshold({ kind: "jumprelu", dIn: 4, dDict: 12, l1: 0.02, decoderBias });
    const { forward, grads } = referenceGradients(spec, params, x);
    const theta = Array.from(params.logThreshold!, Math.exp);
    let inside = 0;
    for (let e = 0; e < forward.pre.length; e++) {
      if (Math.abs(forward.pre[e] - theta[e % spec.dDict]) < EPS / 2) inside++;
    }
    assert.ok(inside >= 8, `pre-activations inside the window: ${inside}`);
    assert.ok(forward.codes.some((c, e) => c === 0 && forward.pre[e] > 0), "θ cuts some positive pre-activations");
    assert.equal(forward.loss, forward.mse + spec.l1 * forward.l0, "loss = mse + α · L0");
    // smooth parts: the loss is piecewise smooth and no pre-activation is within h of its θ
    const h = 1e-7;
    const smooth = ["encoder", "encoderBias", "decoder", "decoderBias"] as const;
    const keys = smooth.filter((k) => k !== "decoderBias" || decoderBias);
    for (const key of keys) {
      const p = params[key]!;
      const numeric = Array.from(p, (_, e) => {
        const v = p[e];
        p[e] = v + h;
        const up = referenceForward(spec, params, x).loss;
        p[e] = v - h;
        const down = referenceForward(spec, params, x).loss;
        p[e] = v;
        return (up - down) / (2 * h);
      });
      assertClose(grads[key]!, numeric, { atol: 1e-7, rtol: 1e-5 }, `∂${key}`);
    }
    // the threshold: the estimator's definition, with ∂L/∂f taken by finite differences of the loss in the code
    const { dIn: d, dDict: n } = spec;
    const lossOfCodes = (codes: Float64Array) => {
      let se = 0;
      for (let b = 0; b < rows; b++) {
        for (let i = 0; i < d; i++) {
          let r = params.decoderBias?.[i] ?? 0;
          for (let j = 0; j < n; j++) r += codes[b * n + j] * forward.directions[j * d + i];
          se += (r - x[b * d + i]) ** 2;
        }
      }
      return se / (rows * d);
    };
    const want = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      for (let b = 0; b < rows; b++) {
        const z = forward.pre[b * n + j];
        if (!(Math.abs((z - theta[j]) / EPS) < 0.5)) continue;
        const c = forward.codes.slice();
        c[b * n + j] = forward.codes[b * n + j] + h;
        const up = lossOfCodes(c);
        c[b * n + j] = forward.codes[b * n + j] - h;
        const dCode = (up - lossOfCodes(c)) / (2 * h);
        const dTheta = -(theta[j] / EPS) * dCode - (spec.l1 / rows) / EPS; // ∂f/∂θ · ∂L/∂f + α/B · ∂H/∂θ
        want[j] += theta[j] * dTheta; // ∂ log θ
      }
    }
    assert.ok(want.filter((v) => v !== 0).length >= 8, "most features near a pre-activation get a gradient");
    assertClose(grads.logThreshold!, want, { atol: 1e-6, rtol: 1e-5 }, "∂ log θ");
  });
}

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());
const D = 8, N = 32, ROWS = 32, STEPS = 6;
const batches = Array.from({ length: STEPS }, () => Float32Array.from({ length: ROWS * D }, uniform));

/** Members whose θ sit 0.0002 from pre-activations of the first batch, so every feature's θ moves in step 1. */
function startingWeights(seeds: readonly number[], l1s: readonly number[]) {
  return l1s.map((l1, m) => {
    const spec = resolveSpec({ kind: "jumprelu", dIn: D, dDict: N, l1 });
    const w = initWeights(spec, { seed: seeds[m] });
    const pre = referenceForward(spec, toReferenceParams(w), batches[0]).pre;
    w.logThreshold = Float32Array.from({ length: N }, (_, j) => {
      let z = 0;
      for (let b = 0; b < ROWS; b++) z = Math.max(z, pre[b * N + j]);
      return Math.log(Math.max(z, 0.01) + (j % 2 ? 2e-4 : -2e-4));
    });
    return w;
  });
}

for (const [operands, bandwidth] of [["texture", undefined], ["storage", 2e-3]] as const) {
  const named = `${operands} operands, bandwidth ${bandwidth ?? `${EPS} (default)`}`;
  Deno.test(`jumprelu: the GPU trainer (${named}) follows the float64 reference, log θ included`, async () => {
    const l1s = [1e-3, 1e-3, 3e-2];
    const weights = startingWeights([11, 12, 13], l1s);
    const { got, refs } = await trainBoth(gpu, { weights, batches, lr: 1e-2, operands, bandwidth });
    weights.forEach((w0, i) => {
      const want = refs[i].toWeights();
      const moved = want.logThreshold!.filter((v, j) => Math.abs(v - w0.logThreshold![j]) > 1e-3).length;
      assert.ok(moved === N, `every log θ of member ${i} has moved (${moved} of ${N})`);
    });
    assertFollows(got, { refs, keys: ["logThreshold", "encoder", "encoderBias", "decoder"] });
  });
}

Deno.test("jumprelu: its SAELens folder holds θ as threshold [d_sae] and loads back to the float64 codes", async () => {
  const [w] = startingWeights([3], [1e-3]);
  const ref = new ReferenceTrainer(w, { lr: 1e-2 });
  for (const x of batches) ref.trainStep(x);
  const trained = ref.toWeights();
  trained.logThreshold = trained.logThreshold!.map((v, j) => v + (j % 4 === 0 ? 1 : 0)); // some θ large enough to cut
  await withTempDir(async (dir) => {
    const source = { hookName: "blocks.0.hook_resid_post", modelName: "m" };
    await saveSae(join(dir, "j"), trained, { source, steps: STEPS });
    const cfg = await readSaeLensCfg(join(dir, "j"));
    assert.equal(cfg.architecture, "jumprelu");
    assert.equal(cfg.activation_fn_str, "relu");
    assert.equal(cfg.l0_coefficient, 1e-3 * D);
    assert.equal(kindOfCfg(cfg)?.name, "jumprelu");
    const { kind: _, saelab: __, ...foreign } = cfg;
    assert.equal(kindOfCfg(foreign)?.name, "jumprelu", "SAELens' fields alone name the kind");
    const t = await readSaeLensTensors(join(dir, "j"), cfg);
    assertClose(
      t.threshold!,
      Array.from(trained.logThreshold!, Math.exp),
      { atol: 0, rtol: 1e-6 },
      "threshold = exp ℓ",
    );
    const dict = await loadDictionary(join(dir, "j"));
    const x = batches[1];
    const params = toReferenceParams(trained);
    const want = referenceForward(trained.spec, params, x).codes;
    const relu = Float64Array.from(referenceForward(trained.spec, params, x).pre, (v) => Math.max(v, 0));
    assert.ok(relu.filter((c) => c > 0).length > want.filter((c) => c > 0).length + 4, "θ cuts some ReLU codes");
    await assertCodes(dict, { x, want, gpu });
  });
});

Deno.test("jumprelu: log θ and its Adam moments survive a training state, and a resumed trainer keeps them", async () => {
  const [w] = startingWeights([1], [1e-3]);
  const trainer = new SweepTrainer(gpu, [w.spec], { batchSize: ROWS, weights: [w], logEvery: 0, adam: { lr: 1e-2 } });
  trainer.step(batches[0]);
  const saved = { weights: await trainer.weights(), ...(await trainer.optimizerState()) };
  trainer.dispose();
  assert.ok(saved.m[0].logThreshold!.some((v) => v !== 0), "the first moment of log θ has moved");
  await withTempDir(async (dir) => {
    const path = join(dir, "state.safetensors");
    const names = [specName(w.spec)];
    await saveTrainState(path, { step: 1, scale: 1, names, weights: saved.weights, m: saved.m, v: saved.v });
    const back = (await loadTrainState(path, { specs: [w.spec], names }))!;
    assert.deepEqual(back.weights[0].logThreshold, saved.weights[0].logThreshold);
    assert.deepEqual(back.v[0].logThreshold, saved.v[0].logThreshold);
    const resumed = new SweepTrainer(gpu, [w.spec], {
      batchSize: ROWS,
      weights: back.weights,
      startStep: 1,
      logEvery: 0,
      adam: { lr: 1e-2 },
    });
    resumed.loadOptimizerState(back);
    assert.deepEqual((await resumed.weights())[0].logThreshold, saved.weights[0].logThreshold);
    assert.deepEqual((await resumed.optimizerState()).m[0].logThreshold, saved.m[0].logThreshold);
    resumed.dispose();
  });
});
