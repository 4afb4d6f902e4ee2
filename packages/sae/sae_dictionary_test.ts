import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import {
  type Dictionary,
  encodeRows,
  initWeights,
  reconstructRows,
  referenceForward,
  SaeDictionary,
  saeDictionary,
  type SaeSpec,
  toReferenceParams,
} from "./mod.ts";
import { Rng } from "./_random.ts";

const gpu = await createGpu();

const cases: SaeSpec[] = [
  { kind: "untied", dIn: 12, dDict: 20, l1: 1e-3 },
  { kind: "untied", dIn: 12, dDict: 20, l1: 1e-3, decoderBias: true },
  { kind: "tied", dIn: 12, dDict: 16, l1: 1e-3 },
  { kind: "topk", dIn: 12, dDict: 24, l1: 0, k: 5 },
];

for (const spec of cases) {
  Deno.test(`SaeDictionary encodes and decodes like the reference (${spec.kind}${spec.decoderBias ? ", b_dec" : ""})`, async () => {
    const w = initWeights(spec, { seed: 2 });
    const rng = new Rng(9);
    for (let j = 0; j < w.encoderBias.length; j++) w.encoderBias[j] = 0.1 * rng.normal();
    if (w.decoderBias) { for (let i = 0; i < w.decoderBias.length; i++) w.decoderBias[i] = rng.normal(); }
    const x = Float32Array.from({ length: 7 * spec.dIn }, () => rng.normal());
    const dict: Dictionary = SaeDictionary.fromWeights(gpu, w);
    const ref = referenceForward(spec, toReferenceParams(w), x);
    assertClose(await encodeRows(dict, x), ref.codes, { atol: 1e-5, rtol: 1e-4 }, "codes");
    assertClose(await reconstructRows(dict, x), ref.recon, { atol: 1e-5, rtol: 1e-4 }, "reconstruction");
    const dirs = await dict.directions();
    assertClose(dirs, ref.directions, { atol: 1e-6, rtol: 1e-5 }, "directions");
    assert.equal(dict.dDict, spec.dDict);
    dict.dispose();
  });
}

Deno.test("SaeDictionary checks shapes", () => {
  const dict = SaeDictionary.fromWeights(gpu, initWeights(cases[0]));
  const bad = gpu.zeros([3, 5]);
  assert.throws(() => dict.encode(bad), /expected \[rows, 12\], got \[3, 5\]/);
  assert.throws(() => dict.decode(bad), /expected \[rows, 20\], got \[3, 5\]/);
  bad.dispose();
  dict.dispose();
  const w = initWeights(cases[0]);
  w.encoderBias = new Float32Array(3);
  assert.throws(() => saeDictionary(w), /encoderBias has 3 values, expected 20/);
});

globalThis.addEventListener("unload", () => gpu.destroy());
