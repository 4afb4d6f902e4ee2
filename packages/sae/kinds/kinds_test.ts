import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { checkDictionary } from "@saelab/dictionary/dictionary_case";
import {
  initWeights,
  KIND_NAMES,
  kindOfCfg,
  KINDS,
  referenceForward,
  resolveSpec,
  saeDictionary,
  type SaeSpec,
  saveSae,
  specName,
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
      await checkDictionary(gpu, {
        dictionary: saeDictionary(w),
        reference,
        rows,
        save: (dir) => saveSae(dir, w, { source }),
        cfg: { ...KINDS[kind].saelens.cfg(resolveSpec(spec)), hook_name: source.hookName, l1_coefficient: spec.l1 },
      });
    });
  }

  Deno.test(`SAE kind ${kind}: its cfg.json and member name lead back to it, and init is seeded`, () => {
    const spec = resolveSpec(specOf(kind, false));
    const cfg = { d_in: D, d_sae: N, ...KINDS[kind].saelens.cfg(spec), tied: KINDS[kind].tied };
    assert.equal(kindOfCfg(cfg)?.name, kind, "from SAELens fields");
    assert.equal(kindOfCfg({ d_in: D, d_sae: N }, specName(spec))?.name, kind, "from the member name");
    assert.equal(kindOfCfg({ ...cfg, kind })?.name, kind, "from the project's kind field");
    assert.deepEqual({ ...spec, ...KINDS[kind].saelens.spec(cfg) }, spec);
    assert.deepEqual(initWeights(spec, { seed: 3 }), initWeights(spec, { seed: 3 }));
    assert.notDeepEqual(initWeights(spec, { seed: 3 }).encoder, initWeights(spec, { seed: 4 }).encoder);
    assert.equal(initWeights(spec).decoder === null, KINDS[kind].tied);
  });
}

Deno.test("the registry refuses unknown kinds and cfgs of no kind", () => {
  assert.throws(() => resolveSpec({ kind: "gated" as never, dIn: 4, dDict: 8, l1: 0 }), /untied, tied, topk/);
  assert.equal(kindOfCfg({ d_in: 4, d_sae: 8, architecture: "jumprelu" }), undefined);
});
