import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { checkDictionary } from "@saelab/dictionary/dictionary_case";
import {
  initWeights,
  KIND_NAMES,
  kindOfCfg,
  KINDS,
  memberCfg,
  referenceForward,
  ReferenceTrainer,
  resolveSpec,
  saeDictionary,
  type SaeSpec,
  saveSae,
  specName,
  SweepTrainer,
  toReferenceParams,
} from "../mod.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

const D = 8, N = 24, ROWS = 12;
let state = 99;
const normalish = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 2;
const rows = Float32Array.from({ length: ROWS * D }, normalish);

/** A spec of each kind, with the fields it needs. */
function specOf(kind: keyof typeof KINDS, decoderBias: boolean): SaeSpec {
  return { kind, dIn: D, dDict: N, l1: 1e-3, ...(KINDS[kind].needs.includes("k") ? { k: 5 } : {}), decoderBias };
}

for (const kind of KIND_NAMES) {
  for (const decoderBias of [false, true]) {
    Deno.test(`SAE kind ${kind}${decoderBias ? " with b_dec" : ""} passes the dictionary conformance suite`, async () => {
      const spec = specOf(kind, decoderBias);
      const w = initWeights(spec, { seed: 7 });
      w.encoderBias.forEach((_, j) => (w.encoderBias[j] = 0.05 * normalish()));
      w.decoderBias?.forEach((_, i) => (w.decoderBias![i] = 0.3 * normalish()));
      if (w.threshold !== undefined) w.threshold = 0.05; // a learned threshold that cuts some codes
      const params = toReferenceParams(w);
      const fwd = referenceForward(spec, params, rows);
      const reference = {
        encode: (x: Float32Array) => referenceForward(spec, params, x).codes,
        decode: (c: Float32Array) => {
          const out = new Float64Array((c.length / N) * D);
          for (let b = 0; b < c.length / N; b++) {
            for (let i = 0; i < D; i++) out[b * D + i] = params.decoderBias?.[i] ?? 0;
            for (let j = 0; j < N; j++) {
              for (let i = 0; i < D; i++) out[b * D + i] += c[b * N + j] * fwd.directions[j * D + i];
            }
          }
          return out;
        },
      };
      const source = { hookName: "blocks.1.hook_resid_post", modelName: "m" };
      const own = KINDS[kind].saelens.cfg(resolveSpec(spec));
      const metadata = own.metadata
        ? {
          metadata: {
            ...own.metadata,
            sae_lens_version: "6.0.0",
            model_name: "m",
            hook_name: source.hookName,
            hook_layer: 1,
          },
        }
        : {};
      await checkDictionary(gpu, {
        dictionary: saeDictionary(w),
        reference,
        rows,
        save: (dir) => saveSae(dir, w, { source }),
        cfg: { ...own, ...metadata, hook_name: source.hookName, l1_coefficient: spec.l1 },
      });
    });
  }

  Deno.test(`SAE kind ${kind}: its cfg.json and member name lead back to it, and init is seeded`, () => {
    const spec = resolveSpec(specOf(kind, false));
    const cfg = memberCfg(initWeights(spec), { source: { hookName: "blocks.0.hook_resid_post", modelName: "m" } });
    assert.equal(kindOfCfg(cfg)?.name, kind, "from the cfg.json written for a member");
    assert.ok(KINDS[kind].saelens.matches(cfg), "the kind recognises its own cfg.json");
    assert.equal(kindOfCfg({ d_in: D, d_sae: N }, specName(spec))?.name, kind, "from the member name");
    assert.deepEqual({ ...spec, ...KINDS[kind].saelens.spec(cfg) }, spec);
    assert.deepEqual(initWeights(spec, { seed: 3 }), initWeights(spec, { seed: 3 }));
    assert.notDeepEqual(initWeights(spec, { seed: 3 }).encoder, initWeights(spec, { seed: 4 }).encoder);
    assert.equal(initWeights(spec).decoder === null, KINDS[kind].tied);
  });
}

Deno.test("the GPU sweep trainer matches the float64 reference trainer for every kind of the registry", async () => {
  const specs = KIND_NAMES.map((kind) => specOf(kind, false));
  const trainer = new SweepTrainer(gpu, specs, { batchSize: ROWS, seed: 2, logEvery: 0 });
  const refs = specs.map((s, i) => new ReferenceTrainer(initWeights(s, { seed: 2 + i })));
  for (let step = 0; step < 3; step++) {
    const x = Float32Array.from({ length: ROWS * D }, normalish);
    trainer.step(x);
    refs.forEach((r) => r.trainStep(x));
  }
  const got = await trainer.weights();
  trainer.dispose();
  specs.forEach((spec, i) => {
    const want = refs[i].toWeights();
    const tol = { atol: 2e-6, rtol: 1e-4 };
    assertClose(got[i].encoder, want.encoder, tol, `${spec.kind} encoder`);
    assertClose(got[i].encoderBias, want.encoderBias, tol, `${spec.kind} encoder bias`);
    if (want.decoder) assertClose(got[i].decoder!, want.decoder, tol, `${spec.kind} decoder`);
    else assert.equal(got[i].decoder, null);
    if (want.threshold !== undefined) assertClose([got[i].threshold!], [want.threshold], tol, `${spec.kind} threshold`);
    else assert.equal(got[i].threshold, undefined);
    for (const key of KINDS[spec.kind].featureParams ?? []) {
      assertClose(got[i][key]!, want[key]!, tol, `${spec.kind} ${key}`);
    }
  });
});

Deno.test("the registry refuses unknown kinds and cfgs of no kind", () => {
  assert.throws(() => resolveSpec({ kind: "sparse" as never, dIn: 4, dDict: 8, l1: 0 }), /untied, tied, topk/);
  const other = { architecture: "jumprelu", metadata: { training_architecture: "p_anneal" } };
  assert.equal(kindOfCfg({ d_in: 4, d_sae: 8, ...other }), undefined, "a JumpReLU SAE trained as no kind here");
});

Deno.test("the fixed-k kinds start each encoder row as its decoder row (Gao et al. 2024); the paper's kinds draw both", () => {
  for (const kind of KIND_NAMES) {
    const spec: SaeSpec = { kind, dIn: 4, dDict: 8, l1: 1e-3, ...(KINDS[kind].needs.includes("k") ? { k: 2 } : {}) };
    const w = initWeights(spec, { seed: 3 });
    if (w.decoder === null) continue;
    const same = w.encoder.every((v, i) => v === w.decoder![i]);
    assert.equal(same, KINDS[kind].needs.includes("k"), `${kind}: encoder ${same ? "equals" : "differs from"} decoder`);
    if (same) {
      w.encoder[0] += 1;
      assert.notEqual(w.encoder[0], w.decoder[0], `${kind}: encoder and decoder share a buffer`);
    }
  }
});
