import assert from "node:assert/strict";
import { join } from "node:path";
import { assertClose, createGpu } from "@saelab/gpu";
import { loadDictionary, readSaeLensCfg } from "@saelab/dictionary";
import { openSafetensors } from "@saelab/safetensors";
import {
  initWeights,
  kindOfCfg,
  referenceForward,
  referenceGradients,
  type ReferenceParams,
  ReferenceTrainer,
  resampleDead,
  saveSae,
  specName,
  SweepTrainer,
} from "../mod.ts";
import { loadTrainState, saveTrainState } from "../train_state.ts";
import { toReferenceParams } from "../reference_train.ts";
import { Rng } from "../_random.ts";
import { resolveSpec, type SaeSpec } from "../spec.ts";
import { assertCodes, assertFollows, normalBatches, trainBoth, withTempDir } from "../_test_support.ts";
import { gated, gatedCodes, SAELENS_GATED_DEFAULTS } from "./gated.ts";

/**
 * The Gated loss written out plainly, with the auxiliary term's decoder (`dirs`, `bdec`) passed in,
 * so that finite differences of it see the stop-gradient: the decoder moves only the main term.
 */
function plainLoss(
  spec: Required<SaeSpec>,
  p: ReferenceParams,
  x: Float64Array,
  frozen?: { dirs: Float64Array; bdec: Float64Array },
): number {
  const { dIn: d, dDict: n, l1 } = spec;
  const rows = x.length / d;
  const dirs = new Float64Array(n * d);
  for (let j = 0; j < n; j++) {
    const row = p.decoder!.subarray(j * d, (j + 1) * d);
    const norm = Math.hypot(...row);
    for (let i = 0; i < d; i++) dirs[j * d + i] = row[i] / norm;
  }
  const bdec = p.decoderBias ?? new Float64Array(d);
  const fz = frozen ?? { dirs, bdec };
  let mse = 0, aux = 0, sparse = 0;
  for (let b = 0; b < rows; b++) {
    const xc = Array.from({ length: d }, (_, i) => x[b * d + i] - bdec[i]);
    const main = Array.from(bdec), side = Array.from(fz.bdec);
    for (let j = 0; j < n; j++) {
      let wx = 0;
      for (let i = 0; i < d; i++) wx += p.encoder[j * d + i] * xc[i];
      const pi = wx + p.encoderBias[j];
      const mag = Math.exp(p.rMag![j]) * wx + p.bMag![j];
      const f = pi > 0 ? Math.max(mag, 0) : 0;
      const g = Math.max(pi, 0);
      sparse += g;
      for (let i = 0; i < d; i++) {
        main[i] += f * dirs[j * d + i];
        side[i] += g * fz.dirs[j * d + i];
      }
    }
    for (let i = 0; i < d; i++) {
      mse += (main[i] - x[b * d + i]) ** 2;
      aux += (side[i] - x[b * d + i]) ** 2;
    }
  }
  return mse / (rows * d) + l1 * sparse / rows + aux / (rows * d);
}

function gatedParams(spec: SaeSpec, seed: number): ReferenceParams {
  const p = toReferenceParams(initWeights(spec, { seed }));
  const rng = new Rng(seed + 50);
  for (const v of [p.encoderBias, p.rMag!, p.bMag!]) for (let j = 0; j < v.length; j++) v[j] = 0.3 * rng.normal();
  for (let e = 0; e < p.decoder!.length; e++) p.decoder![e] *= 1 + rng.uniform();
  if (p.decoderBias) { for (let i = 0; i < p.decoderBias.length; i++) p.decoderBias[i] = 0.2 * rng.normal(); }
  return p;
}

Deno.test("gated: codes are the magnitude path where the gate is open, zero elsewhere", () => {
  const codes = new Float64Array(4);
  const params = {
    encoderBias: new Float64Array([0.5, 0.5, -1, 0]),
    rMag: new Float64Array([0, Math.log(3), 0, 0]),
    bMag: new Float64Array([0, 0.1, 5, -2]),
  };
  gatedCodes(new Float64Array([1, 0.7, -0.5, 1]), codes, params);
  // π = 1: gate open, m = 1·0.5 + 0; π = 0.7: m = 3·0.2 + 0.1; π < 0: closed despite m > 0; m < 0: zero
  assertClose(codes, [0.5, 0.7, 0, 0], { atol: 1e-12 }, "codes");
  assert.throws(() => gated.activate(new Float64Array(1), codes.subarray(0, 1), resolveSpec(spec)), /parameters/);
  const w = initWeights(spec, { seed: 2 });
  assert.deepEqual([...w.rMag!], new Array(spec.dDict).fill(0), "r_mag starts at 0 (SAELens)");
  assert.deepEqual([...w.bMag!], new Array(spec.dDict).fill(0), "b_mag starts at 0 (SAELens)");
  assert.deepEqual([...w.encoderBias], new Array(spec.dDict).fill(0), "b_gate starts at 0 (SAELens)");
  assert.deepEqual(SAELENS_GATED_DEFAULTS, { l1_coefficient: 1, l1_warm_up_steps: 0 });
  assert.deepEqual(gated.saelens.cfg(resolveSpec(spec)), { architecture: "gated", activation_fn_str: "relu" });
  assert.equal(kindOfCfg({ d_in: 4, d_sae: 8, architecture: "gated" })?.name, "gated");
  assert.equal(kindOfCfg({ d_in: 4, d_sae: 8, architecture: "standard" })?.name, "untied");
});

const spec = { kind: "gated" as const, dIn: 5, dDict: 7, l1: 0.3 };

for (const decoderBias of [false, true]) {
  Deno.test(`gated: loss and gradients match the plain loss and its finite differences (b_dec ${decoderBias})`, () => {
    const s = resolveSpec({ ...spec, decoderBias });
    const p = gatedParams(s, 4);
    const rng = new Rng(9);
    const x = Float64Array.from({ length: 6 * s.dIn }, () => rng.normal());
    const { forward, grads } = referenceGradients(s, p, x);
    assert.ok(Math.abs(forward.loss - plainLoss(s, p, x)) < 1e-12, "loss");
    assert.ok(forward.auxMse! > 0 && forward.gateL1! > 0);
    const gateOpen = forward.pre.filter((v) => v > 0).length, fired = forward.codes.filter((c) => c > 0).length;
    assert.ok(fired > 0 && gateOpen > fired, "some open gates have a negative magnitude (the paths differ)");
    const frozen = { dirs: forward.directions.slice(), bdec: p.decoderBias?.slice() ?? new Float64Array(s.dIn) };
    const h = 1e-6;
    for (const key of ["encoder", "encoderBias", "decoder", "decoderBias", "rMag", "bMag"] as const) {
      const param = p[key];
      if (!param) {
        assert.equal(grads[key] ?? null, null, key);
        continue;
      }
      const numeric = Float64Array.from(param, (keep, e) => {
        param[e] = keep + h;
        const up = plainLoss(s, p, x, frozen);
        param[e] = keep - h;
        const down = plainLoss(s, p, x, frozen);
        param[e] = keep;
        return (up - down) / (2 * h);
      });
      assert.ok(numeric.some((v) => Math.abs(v) > 1e-4), `${key} has a gradient to check`);
      assertClose(grads[key]!, numeric, { atol: 1e-7, rtol: 1e-5 }, key);
    }
  });
}

Deno.test("gated: the gate learns only from the sparsity and auxiliary terms, the decoder only from the main one", () => {
  const s = resolveSpec(spec);
  const p = gatedParams(s, 6);
  const rng = new Rng(2);
  const x = Float64Array.from({ length: 8 * s.dIn }, () => rng.normal());
  const { grads } = referenceGradients(s, p, x);
  // With α = 0 and the auxiliary decoder perfect for ReLU(π) the gate bias would see no gradient; instead
  // check the split directly: b_gate's gradient is α·(open gates)/B + the auxiliary term's, never the magnitude's.
  const noMag = { ...p, bMag: p.bMag!.map(() => -100) }; // every magnitude closed: main codes all zero
  const closed = referenceGradients(s, noMag, x);
  assert.ok(closed.forward.codes.every((c) => c === 0));
  assertClose(closed.grads.encoderBias, grads.encoderBias, { atol: 1e-12 }, "b_gate's gradient ignores the magnitudes");
  assert.ok(closed.grads.decoder!.every((v) => v === 0), "no codes: the decoder gets no gradient (aux is frozen)");
  assert.ok(closed.grads.rMag!.every((v) => v === 0) && closed.grads.bMag!.every((v) => v === 0));
  assert.ok(referenceForward(s, noMag, x).auxMse! > 0);
});

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());
const D = 8, N = 32, ROWS = 16, STEPS = 6;
const stream = new Rng(17);
const batches = normalBatches(stream, { count: STEPS, rows: ROWS, d: D });

for (const operands of ["texture", "storage"] as const) {
  Deno.test(`gated: the GPU trainer (${operands} operands) follows the float64 reference trainer`, async () => {
    const specs = [1e-3, 3e-2, 0.3].map((l1) => ({ kind: "gated" as const, dIn: D, dDict: N, l1 }));
    const { got, refs } = await trainBoth(gpu, { specs, batches, lr: 1e-2, seed: 5, operands });
    for (const ref of refs) {
      const want = ref.toWeights();
      assert.ok(want.rMag!.some((v) => v !== 0) && want.bMag!.some((v) => v !== 0), "r_mag and b_mag have moved");
    }
    assertFollows(got, { refs, keys: ["encoder", "encoderBias", "decoder", "rMag", "bMag"] });
  });
}

Deno.test("gated: its SAELens folder holds SAELens' gated tensors and loads back to the float64 codes", async () => {
  const spec = { kind: "gated" as const, dIn: D, dDict: N, l1: 3e-2 };
  const ref = new ReferenceTrainer(initWeights(spec, { seed: 3 }), { lr: 1e-2 });
  for (const x of batches) ref.trainStep(x);
  const w = ref.toWeights();
  await withTempDir(async (dir) => {
    const folder = join(dir, "g");
    await saveSae(folder, w, { source: { hookName: "blocks.0.hook_resid_post", modelName: "m" }, steps: STEPS });
    const cfg = await readSaeLensCfg(folder);
    assert.equal(cfg.architecture, "gated");
    assert.equal(cfg.activation_fn_str, "relu");
    assert.equal(cfg.apply_b_dec_to_input, true);
    {
      using file = await openSafetensors(join(folder, "sae_weights.safetensors"));
      const names = ["W_enc", "b_gate", "r_mag", "b_mag", "W_dec", "b_dec"];
      assert.deepEqual([...file.names].sort(), [...names].sort(), "SAELens' GatedSAE tensors, no b_enc");
      assert.deepEqual(file.info("W_enc").shape, [D, N]);
      assert.deepEqual(file.info("r_mag").shape, [N]);
      assertClose(await file.getFloat32("r_mag"), w.rMag!, { atol: 0 }, "r_mag");
      assertClose(await file.getFloat32("b_mag"), w.bMag!, { atol: 0 }, "b_mag");
      assertClose(await file.getFloat32("b_gate"), w.encoderBias, { atol: 0 }, "b_gate");
    }
    const x = batches[0];
    const want = referenceForward(spec, ref.params, x).codes;
    const gateOnly = referenceForward(spec, { ...ref.params, rMag: ref.params.rMag!.map(() => 0) }, x).codes;
    assert.ok(want.some((c, e) => Math.abs(c - gateOnly[e]) > 1e-3), "r_mag changes the codes");
    const dict = await loadDictionary(folder);
    assert.ok(dict.gate, "loaded as a gated dictionary");
    await assertCodes(dict, { x, want, gpu });
  });
});

Deno.test("gated: r_mag and b_mag and their moments survive a training state", async () => {
  const spec = { kind: "gated" as const, dIn: D, dDict: N, l1: 1e-2 };
  const w = initWeights(spec, { seed: 1 });
  w.rMag!.fill(0.25);
  w.bMag!.fill(-0.5);
  const m = initWeights(spec);
  m.rMag![3] = 7;
  await withTempDir(async (dir) => {
    const path = join(dir, "state.safetensors");
    const names = [specName(spec)];
    await saveTrainState(path, { step: 3, scale: 1, names, weights: [w], m: [m], v: [initWeights(spec)] });
    const back = (await loadTrainState(path, { specs: [spec], names }))!;
    assert.deepEqual(back.weights[0].rMag, w.rMag);
    assert.deepEqual(back.weights[0].bMag, w.bMag);
    assert.equal(back.m[0].rMag![3], 7);
    const trainer = new SweepTrainer(gpu, [spec], { batchSize: ROWS, weights: back.weights, logEvery: 0 });
    const got = (await trainer.weights())[0];
    trainer.dispose();
    assert.deepEqual([got.rMag![0], got.bMag![0]], [0.25, -0.5], "the GPU trainer starts from the saved values");
  });
});

Deno.test("gated: resampling a dead feature resets its r_mag, b_mag and their moments, and leaves the others", async () => {
  const spec = { kind: "gated" as const, dIn: D, dDict: N, l1: 1e-2 };
  const w = initWeights(spec, { seed: 4 });
  w.rMag!.fill(0.5);
  w.bMag!.fill(0.1);
  const dead = [1, 6, 20];
  for (const j of dead) w.encoderBias[j] = -100; // the gate never opens
  const trainer = new SweepTrainer(gpu, [spec], { batchSize: ROWS, weights: [w], logEvery: 0 });
  for (const x of batches.slice(0, 4)) trainer.step(x);
  const before = (await trainer.weights())[0];
  assert.deepEqual(await resampleDead(trainer, batches[0], { deadAfter: 3 }), [dead.length]);
  const after = (await trainer.weights())[0], { m, v } = await trainer.optimizerState();
  trainer.dispose();
  for (let j = 0; j < N; j++) {
    const want = dead.includes(j) ? [0, 0] : [before.rMag![j], before.bMag![j]];
    assert.deepEqual([after.rMag![j], after.bMag![j]], want, `r_mag, b_mag of feature ${j}`);
  }
  assert.ok(before.rMag!.some((r, j) => !dead.includes(j) && r !== 0.5), "alive features' r_mag trained");
  for (const j of dead) {
    assert.deepEqual([m[0].rMag![j], v[0].rMag![j], m[0].bMag![j], v[0].bMag![j]], [0, 0, 0, 0], `moments of ${j}`);
  }
});
