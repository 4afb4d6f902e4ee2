import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import {
  AUXK_ALPHA,
  DEAD_WINDOW_TOKENS,
  initWeights,
  referenceAuxK,
  referenceForward,
  ReferenceTrainer,
  resolveSpec,
  type SaeSpec,
  specName,
  toReferenceParams,
} from "./mod.ts";
import { Rng } from "./_random.ts";
import { assertFollows, normalBatches, trainBoth } from "./_test_support.ts";

Deno.test("AuxK settings: off by default, the paper's α_aux and window, only for kinds with a fixed k", () => {
  const s = resolveSpec({ kind: "topk", dIn: 8, dDict: 32, l1: 0, k: 4 });
  assert.deepEqual([s.auxK, s.auxAlpha, s.deadWindow], [0, 1 / 32, 10_000_000]);
  assert.equal(AUXK_ALPHA, 1 / 32);
  assert.equal(DEAD_WINDOW_TOKENS, 1e7);
  assert.equal(specName({ kind: "topk", dIn: 8, dDict: 32, l1: 0, k: 4, auxK: 4 }), "topk_r4_k4_aux4");
  assert.throws(() => resolveSpec({ kind: "untied", dIn: 8, dDict: 32, l1: 1e-3, auxK: 4 }), /keeps no fixed k/);
  assert.throws(() => resolveSpec({ kind: "topk", dIn: 8, dDict: 32, l1: 0, k: 4, auxK: 40 }), /0\.\.32/);
  assert.throws(() => resolveSpec({ kind: "topk", dIn: 8, dDict: 32, l1: 0, k: 4, deadWindow: -1 }), /dead window/);
});

for (const kind of ["topk", "batchtopk", "matryoshka"] as const) {
  Deno.test(`AuxK (${kind}): float64 gradients match finite differences with the residual, selection and dead set held`, () => {
    const rng = new Rng(31);
    const spec = resolveSpec({ kind, dIn: 5, dDict: 12, l1: 0, k: 2, auxK: 3, auxAlpha: 0.5, decoderBias: true });
    const p = toReferenceParams(initWeights(spec, { seed: 4 }));
    for (let j = 0; j < 12; j++) p.encoderBias[j] = 0.3 * rng.normal();
    for (let e = 0; e < p.decoder!.length; e++) p.decoder![e] *= 1 + rng.uniform();
    for (let i = 0; i < 5; i++) p.decoderBias![i] = 0.3 * rng.normal();
    const x = Float64Array.from({ length: 6 * 5 }, () => rng.normal());
    const f0 = referenceForward(spec, p, x, { training: true });
    const dead = Uint8Array.from({ length: 12 }, (_, j) => (f0.codes.some((c, e) => c > 0 && e % 12 === j) ? 0 : 1));
    const deadCount = dead.reduce((a, b) => a + b, 0);
    assert.ok(deadCount >= 2, `some latents are dead (${deadCount})`);
    const base = referenceAuxK(spec, p, x, { forward: f0, dead });
    assert.ok(base.loss > 0 && base.codes.some((a) => a > 0), "aux codes fire");
    assertClose([base.scale], [Math.min(deadCount / 3, 1)], { atol: 0, rtol: 0 });
    for (let b = 0; b < 6; b++) {
      const row = base.codes.subarray(b * 12, (b + 1) * 12);
      assert.ok(row.filter((a) => a > 0).length <= 3, "at most k_aux per row");
      assert.ok(row.every((a, j) => a === 0 || (dead[j] && f0.codes[b * 12 + j] === 0)), "only dead latents");
    }
    const fired = (a: Float64Array) => a.map((v) => (v > 0 ? 1 : 0)).join("");
    const h = 1e-6;
    for (const key of ["encoder", "encoderBias", "decoder", "decoderBias"] as const) {
      const param = p[key]!;
      const numeric = new Float64Array(param.length);
      for (let e = 0; e < param.length; e++) {
        const keep = param[e];
        const at = (v: number) => {
          param[e] = v;
          const f = referenceForward(spec, p, x, { training: true });
          const r = referenceAuxK(spec, p, x, { forward: { ...f, recon: f0.recon }, dead }); // e = x − x̂ held
          assert.equal(fired(r.codes), fired(base.codes), `∂${key}[${e}]: the aux selection moved`);
          return r.loss;
        };
        numeric[e] = (at(keep + h) - at(keep - h)) / (2 * h);
        param[e] = keep;
      }
      assertClose(base.grads[key]!, numeric, { atol: 1e-9, rtol: 1e-5 }, `∂${key}`);
    }
  });
}

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());
const D = 8, N = 32, ROWS = 16, STEPS = 8;
const rng = new Rng(41);
const batches = normalBatches(rng, { count: STEPS, rows: ROWS, d: D });

for (const operands of ["texture", "storage"] as const) {
  Deno.test(`AuxK: the GPU trainer (${operands} operands) follows the float64 reference with dead latents`, async () => {
    const aux = { auxK: 4, auxAlpha: 0.25, deadWindow: 2 * ROWS }; // dead after 2 quiet steps
    const specs: SaeSpec[] = [
      { kind: "topk", dIn: D, dDict: N, l1: 0, k: 2, ...aux },
      { kind: "topk", dIn: D, dDict: N, l1: 0, k: 2, ...aux, auxK: 20 },
      { kind: "batchtopk", dIn: D, dDict: N, l1: 0, k: 2, ...aux },
      { kind: "matryoshka", dIn: D, dDict: N, l1: 0, k: 2, ...aux },
      { kind: "topk", dIn: D, dDict: N, l1: 0, k: 2 },
    ];
    const { got, refs, losses } = await trainBoth(gpu, { specs, batches, lr: 1e-2, seed: 5, operands });
    specs.forEach((s, i) => {
      const auxLoss = losses.reduce((sum, step) => sum + step[i].aux, 0);
      assert.equal(auxLoss > 0, (s.auxK ?? 0) > 0, `member ${i}: AuxK acts exactly when asked`);
    });
    assertFollows(got, { refs, keys: ["encoder", "encoderBias", "decoder"], ifPresent: ["threshold"] });
    const plain = new ReferenceTrainer(initWeights({ ...specs[0], auxK: 0 }, { seed: 5 }), { lr: 1e-2 });
    for (const x of batches) plain.trainStep(x);
    assert.ok(
      got[0].encoder.some((v, e) => Math.abs(v - plain.toWeights().encoder[e]) > 1e-3),
      "AuxK moves the weights",
    );
  });
}

Deno.test("AuxK and nested levels on the large tiles (16-row k-lists) follow the float64 reference", async () => {
  const d = 256, n = 256, rows = 256;
  const r = new Rng(43);
  const xs = normalBatches(r, { count: 2, rows, d });
  const aux = { auxK: 16, auxAlpha: 0.25, deadWindow: 0 }; // every latent that did not fire this step is dead
  const specs: SaeSpec[] = [
    { kind: "topk", dIn: d, dDict: n, l1: 0, k: 4, ...aux },
    { kind: "matryoshka", dIn: d, dDict: n, l1: 0, k: 4, ...aux },
  ];
  const { got, refs, losses } = await trainBoth(gpu, { specs, batches: xs, lr: 1e-3, seed: 8 });
  for (const step of losses) for (const loss of step) assert.ok(loss.aux > 0, "AuxK acts");
  assertFollows(got, { refs, keys: ["encoder", "decoder"] });
});
