import assert from "node:assert/strict";
import { join } from "node:path";
import { assertClose, createGpu } from "@saelab/gpu";
import { loadDictionary, readSaeLensCfg, readSaeLensTensors } from "@saelab/dictionary";
import {
  initWeights,
  kindOfCfg,
  referenceForward,
  referenceGradients,
  type ReferenceParams,
  ReferenceTrainer,
  saveSae,
  specName,
  toReferenceParams,
} from "../mod.ts";
import { resolveSpec, type SaeSpec } from "../spec.ts";
import { assertCodes, assertFollows, normalBatches, trainBoth, withTempDir } from "../_test_support.ts";
import { Rng } from "../_random.ts";
import { matryoshka, MATRYOSHKA_FRACTIONS, nestedPrefixes } from "./matryoshka.ts";

Deno.test("matryoshka: prefixes from fractions of dDict, checked, in the name and in the SAELens cfg", () => {
  assert.deepEqual(MATRYOSHKA_FRACTIONS, [0.125, 0.25, 0.5]);
  assert.deepEqual(nestedPrefixes(128), [16, 32, 64]);
  assert.deepEqual(nestedPrefixes(8, [0.1, 0.5, 0.55]), [1, 4], "rounded, at least 1, repeats dropped");
  assert.throws(() => nestedPrefixes(8, [1]), /fraction 1 is not in \(0, 1\)/);
  const spec = resolveSpec({ kind: "matryoshka", dIn: 8, dDict: 32, l1: 0, k: 3 });
  assert.deepEqual(spec.prefixes, [4, 8, 16], "default prefixes");
  assert.equal(specName(spec), "matryoshka_r4_k3_m4-8-16");
  assert.equal(
    specName({ kind: "matryoshka", dIn: 8, dDict: 32, l1: 0, k: 3 }),
    "matryoshka_r4_k3_m4-8-16",
    "unresolved",
  );
  assert.equal(specName({ kind: "matryoshka", dIn: 8, dDict: 32, l1: 0, k: 3, prefixes: [2] }), "matryoshka_r4_k3_m2");
  assert.deepEqual(resolveSpec({ kind: "matryoshka", dIn: 8, dDict: 32, l1: 0, k: 3, prefixes: [5] }).prefixes, [5]);
  for (const prefixes of [[8, 8], [0, 4], [32], [9, 4], [1, 2, 3, 4, 5, 6, 7, 8]]) {
    assert.throws(
      () => resolveSpec({ kind: "matryoshka", dIn: 8, dDict: 32, l1: 0, k: 3, prefixes }),
      /Cannot build a Matryoshka SAE: prefixes/,
      String(prefixes),
    );
  }
  assert.deepEqual(resolveSpec({ kind: "batchtopk", dIn: 8, dDict: 32, l1: 0, k: 3 }).prefixes, [], "other kinds");
  const cfg = matryoshka.saelens.cfg(spec);
  assert.equal(cfg.architecture, "jumprelu");
  assert.deepEqual(cfg.metadata, {
    training_architecture: "matryoshka_batchtopk",
    k: 3,
    topk_threshold_lr: 0.01,
    matryoshka_widths: [4, 8, 16, 32],
  });
  assert.deepEqual(matryoshka.saelens.spec({ ...cfg, d_sae: 32 }), { k: 3, prefixes: [4, 8, 16] });
  assert.ok(matryoshka.saelens.matches({ architecture: "jumprelu", metadata: cfg.metadata }));
  assert.ok(
    !matryoshka.saelens.matches({ architecture: "jumprelu", metadata: { training_architecture: "batchtopk" } }),
  );
  assert.equal(kindOfCfg({ architecture: "jumprelu", metadata: cfg.metadata })?.name, "matryoshka");
  assert.equal(
    kindOfCfg({ architecture: "jumprelu", metadata: { training_architecture: "batchtopk" } })?.name,
    "batchtopk",
  );
});

/** Squared error of `b_dec + Σ_{j<m} c_j D̂_j` against x, written out plainly from the definition. */
function levelError(spec: Required<SaeSpec>, p: ReferenceParams, x: ArrayLike<number>, m: number): number {
  const { dIn: d, dDict: n } = spec;
  const { codes } = referenceForward(spec, p, x, { training: true });
  let se = 0;
  for (let b = 0; b < x.length / d; b++) {
    for (let i = 0; i < d; i++) {
      let r = p.decoderBias?.[i] ?? 0;
      for (let j = 0; j < m; j++) {
        let norm = 0;
        for (let t = 0; t < d; t++) norm += p.decoder![j * d + t] ** 2;
        r += codes[b * n + j] * p.decoder![j * d + i] / Math.sqrt(norm);
      }
      se += (r - x[b * d + i]) ** 2;
    }
  }
  return se / x.length;
}

function randomCase(spec: SaeSpec, seed: number) {
  const rng = new Rng(seed);
  const s = resolveSpec(spec);
  const p = toReferenceParams(initWeights(s, { seed }));
  for (let j = 0; j < p.encoderBias.length; j++) p.encoderBias[j] = 0.2 * rng.normal();
  for (let e = 0; e < p.decoder!.length; e++) p.decoder![e] *= 1 + rng.uniform();
  if (p.decoderBias) { for (let i = 0; i < p.decoderBias.length; i++) p.decoderBias[i] = 0.3 * rng.normal(); }
  const x = Float64Array.from({ length: 6 * s.dIn }, () => rng.normal());
  return { s, p, x };
}

for (const decoderBias of [false, true]) {
  Deno.test(`matryoshka: the float64 loss sums the prefixes' errors; its gradients match finite differences (bdec=${decoderBias})`, () => {
    const { s, p, x } = randomCase({
      kind: "matryoshka",
      dIn: 5,
      dDict: 12,
      l1: 0,
      k: 3,
      prefixes: [2, 5],
      decoderBias,
    }, 7);
    const f = referenceForward(s, p, x, { training: true });
    const want = [2, 5, 12].map((m) => levelError(s, p, x, m));
    assertClose(f.levelMse, want, { atol: 1e-12, rtol: 1e-10 }, "each level's MSE");
    assertClose([f.loss], [want[0] + want[1] + want[2]], { atol: 1e-12, rtol: 1e-10 }, "loss = Σ levels");
    assert.ok(want[0] !== want[2] && want[1] !== want[2], "the inner levels' errors are not the full one");
    const firing = (codes: Float64Array) => codes.map((c) => (c > 0 ? 1 : 0)).join("");
    const selection = firing(f.codes);
    assert.ok(f.codes.slice(0, 6 * 12).some((c, e) => c > 0 && e % 12 < 2), "some code fires in the first prefix");
    const { grads } = referenceGradients(s, p, x);
    const h = 1e-6;
    for (const key of ["encoder", "encoderBias", "decoder", "decoderBias"] as const) {
      const param = p[key];
      if (!param) continue;
      const numeric = new Float64Array(param.length);
      for (let e = 0; e < param.length; e++) {
        const keep = param[e];
        const at = (v: number) => {
          param[e] = v;
          const g = referenceForward(s, p, x, { training: true });
          // the selection is held fixed: a step that changed which codes are kept would not be a derivative
          assert.equal(firing(g.codes), selection, `∂${key}[${e}]: the BatchTopK selection moved`);
          return g.loss;
        };
        numeric[e] = (at(keep + h) - at(keep - h)) / (2 * h);
        param[e] = keep;
      }
      assertClose(grads[key]!, numeric, { atol: 1e-8, rtol: 1e-5 }, `∂${key}`);
    }
  });
}

Deno.test("matryoshka: one level only is BatchTopK (same loss and gradients)", () => {
  const base = { dIn: 5, dDict: 12, l1: 0, k: 3 };
  const { p, x } = randomCase({ kind: "batchtopk", ...base }, 9);
  const m = referenceGradients({ kind: "matryoshka", ...base, prefixes: [] }, p, x);
  const b = referenceGradients({ kind: "batchtopk", ...base }, p, x);
  assert.equal(m.forward.loss, b.forward.loss);
  assert.deepEqual(m.grads, b.grads);
  const nested = referenceGradients({ kind: "matryoshka", ...base, prefixes: [4] }, p, x);
  assert.ok(nested.forward.loss > b.forward.loss, "a prefix adds its error");
});

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());
const D = 8, N = 32, ROWS = 16, STEPS = 6;
const rng = new Rng(21);
const batches = normalBatches(rng, { count: STEPS, rows: ROWS, d: D });

for (const operands of ["texture", "storage"] as const) {
  Deno.test(`matryoshka: the GPU trainer (${operands} operands) follows the float64 reference, θ included`, async () => {
    const specs: SaeSpec[] = [
      { kind: "matryoshka", dIn: D, dDict: N, l1: 0, k: 3 },
      { kind: "matryoshka", dIn: D, dDict: N, l1: 0, k: 3 },
      { kind: "matryoshka", dIn: D, dDict: N, l1: 0, k: 4, prefixes: [3, 12] },
      { kind: "batchtopk", dIn: D, dDict: N, l1: 0, k: 3 },
    ];
    const { got, refs } = await trainBoth(gpu, { specs, batches, lr: 1e-2, seed: 11, operands });
    specs.forEach((s, i) => {
      assert.ok(refs[i].toWeights().threshold! > 0, "θ has moved off 0");
      assert.deepEqual(got[i].spec.prefixes, resolveSpec(s).prefixes);
    });
    assertFollows(got, { refs, keys: ["threshold", "encoder", "encoderBias", "decoder"] });
    // the nested loss moves the weights: a BatchTopK SAE from the same start ends elsewhere
    const plain = new ReferenceTrainer(initWeights({ ...specs[0], kind: "batchtopk" }, { seed: 11 }), { lr: 1e-2 });
    for (const x of batches) plain.trainStep(x);
    assert.ok(
      got[0].decoder!.some((v, e) => Math.abs(v - plain.toWeights().decoder![e]) > 1e-3),
      "matryoshka and batchtopk differ",
    );
  });
}

Deno.test("matryoshka: its SAELens folder is a JumpReLU SAE with its widths, loading back to the inference codes", async () => {
  const spec = { kind: "matryoshka" as const, dIn: D, dDict: N, l1: 0, k: 4, prefixes: [4, 16] };
  const ref = new ReferenceTrainer(initWeights(spec, { seed: 3 }), { lr: 1e-2 });
  for (const x of batches) ref.trainStep(x);
  const w = ref.toWeights();
  w.threshold = 0.2;
  await withTempDir(async (dir) => {
    const source = { hookName: "blocks.0.hook_resid_post", modelName: "m" };
    await saveSae(join(dir, "m"), w, { source, steps: STEPS });
    const cfg = await readSaeLensCfg(join(dir, "m"));
    assert.equal(cfg.architecture, "jumprelu");
    const meta = cfg.metadata as { training_architecture?: string; matryoshka_widths?: number[] };
    assert.equal(meta.training_architecture, "matryoshka_batchtopk");
    assert.deepEqual(meta.matryoshka_widths, [4, 16, 32]);
    const kind = kindOfCfg(cfg);
    assert.equal(kind?.name, "matryoshka");
    assert.deepEqual(kind!.saelens.spec(cfg), { k: 4, prefixes: [4, 16] }, "the spec reads back");
    const t = await readSaeLensTensors(join(dir, "m"), cfg);
    assert.deepEqual([...t.threshold!], new Array(N).fill(Math.fround(0.2)));
    const dict = await loadDictionary(join(dir, "m"));
    const x = batches[0];
    const want = referenceForward(spec, { ...ref.params, threshold: Math.fround(0.2) }, x).codes;
    assert.ok(want.some((c) => c > 0));
    await assertCodes(dict, { x, want });
  });
});
