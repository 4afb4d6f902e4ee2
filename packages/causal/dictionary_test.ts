import assert from "node:assert/strict";
import { LinearDictionary } from "@saelab/baselines";
import { assertClose, createGpu } from "@saelab/gpu";
import { type Dictionary, initWeights, SaeDictionary, toSaeLensTensors } from "@saelab/sae";
import { decoderRows, encodeChunked, featureColumn } from "./mod.ts";
import { seeded } from "./_random.ts";

const gpu = await createGpu();
const rand = seeded(5);
const rows = Float32Array.from({ length: 7 * 8 }, () => rand() * 2 - 1); // [7, 8]

Deno.test("an SAE without host weights: decoder rows probed on the GPU, feature columns from a full encode", async () => {
  const w = initWeights({ kind: "untied", dIn: 8, dDict: 12, l1: 1e-3 }, { seed: 2 });
  w.encoderBias.forEach((_, i) => (w.encoderBias[i] = 0.1 * (i % 3)));
  const bound = SaeDictionary.fromWeights(gpu, w, "probe");
  // only the Dictionary interface: no host weights to read from
  const sae: Dictionary = {
    name: bound.name,
    kind: bound.kind,
    dIn: bound.dIn,
    dDict: bound.dDict,
    gpu,
    encode: (x) => bound.encode(x),
    decode: (c) => bound.decode(c),
    directions: () => bound.directions(),
    dispose: () => bound.dispose(),
  };
  const wDec = toSaeLensTensors(w).W_dec; // [12, 8]
  const got = await decoderRows(sae, [3, 0, 11]);
  const want = new Float32Array([...wDec.subarray(24, 32), ...wDec.subarray(0, 8), ...wDec.subarray(88, 96)]);
  assertClose(got, want, { atol: 1e-6, rtol: 1e-5 }, "decoder rows");
  const codes = await encodeChunked(sae, rows);
  const col = await featureColumn(sae, { x: rows, feature: 5 });
  assert.deepEqual([...col], Array.from({ length: 7 }, (_, r) => codes[r * 12 + 5]));
  await assert.rejects(() => decoderRows(sae, [12]), RangeError);
  sae.dispose();
});

Deno.test("host weights: decoder rows read directly, a feature column computed on the host", async () => {
  const enc = Float32Array.from({ length: 6 * 8 }, () => rand() - 0.5);
  const dec = Float32Array.from({ length: 6 * 8 }, () => rand() - 0.5);
  const host = new LinearDictionary({
    name: "lin",
    kind: "pca",
    dIn: 8,
    dDict: 6,
    encoder: enc,
    encoderBias: Float32Array.from({ length: 6 }, () => rand() - 0.5),
    decoder: dec,
    decoderBias: Float32Array.from({ length: 8 }, () => rand()),
  });
  using dict = host.bind(gpu);
  assert.deepEqual([...await decoderRows(dict, [4])], [...dec.subarray(32, 40)]);
  const codes = await encodeChunked(dict, rows);
  for (let f = 0; f < 6; f++) {
    const col = await featureColumn(dict, { x: rows, feature: f });
    assertClose(col, Float32Array.from({ length: 7 }, (_, r) => codes[r * 6 + f]), { atol: 1e-5, rtol: 1e-5 }, `f${f}`);
  }
});
