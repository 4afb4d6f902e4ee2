import assert from "node:assert/strict";
import { assertClose } from "@saelab/gpu";
import { dictionaryMmcs, doublePairs, initWeights, InputMoments, maxCosines, mmcs, resolveSpec } from "./mod.ts";
import { Rng } from "./_random.ts";

const rng = new Rng(1);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());

Deno.test("maxCosines and MMCS agree with a brute-force cosine table", () => {
  const d = 7, a = rand(13 * d), b = rand(70 * d); // 70 rows of b cross the 64-row block boundary
  const cos = (x: Float32Array, i: number, y: Float32Array, j: number) => {
    let dot = 0, nx = 0, ny = 0;
    for (let k = 0; k < d; k++) {
      dot += x[i * d + k] * y[j * d + k];
      nx += x[i * d + k] ** 2;
      ny += y[j * d + k] ** 2;
    }
    return dot / Math.sqrt(nx * ny);
  };
  const want = Array.from({ length: 13 }, (_, i) => Math.max(...Array.from({ length: 70 }, (_, j) => cos(a, i, b, j))));
  assertClose(maxCosines(a, b, d), want, { atol: 1e-6, rtol: 1e-6 });
  assertClose([mmcs(a, b, d)], [want.reduce((s, v) => s + v, 0) / 13], { atol: 1e-6, rtol: 1e-6 });
  assert.throws(() => mmcs(a, rand(5), d), /not multiples of 7/);
});

Deno.test("MMCS is signed, scale-free, and 1 for a dictionary against itself", () => {
  const a = new Float32Array([1, 0, 0, 3]);
  assertClose([mmcs(a, new Float32Array([-1, -1]), 2)], [-Math.SQRT1_2], { atol: 1e-7, rtol: 0 });
  assertClose([mmcs(a, new Float32Array([5, 0, 0, 0.5]), 2)], [1], { atol: 1e-7, rtol: 0 });
  const w = initWeights({ kind: "untied", dIn: 6, dDict: 10, l1: 0 }, { seed: 4 });
  assertClose([dictionaryMmcs(w, w)], [1], { atol: 1e-6, rtol: 0 });
});

Deno.test("InputMoments gives the total variance about the mean", () => {
  const m = new InputMoments(3);
  const x = rand(40 * 3);
  m.add(x.subarray(0, 30));
  m.add(x.subarray(30));
  let total = 0;
  for (let i = 0; i < 3; i++) {
    let mean = 0;
    for (let b = 0; b < 40; b++) mean += x[b * 3 + i] / 40;
    for (let b = 0; b < 40; b++) total += (x[b * 3 + i] - mean) ** 2;
  }
  assert.equal(m.rows, 40);
  assertClose([m.totalVariance], [total], { atol: 1e-9, rtol: 1e-9 });
});

Deno.test("doublePairs matches each dictionary with the one of twice its size at the same α and kind", () => {
  const specs = [
    { kind: "untied" as const, dIn: 4, dDict: 4, l1: 1e-3 },
    { kind: "untied" as const, dIn: 4, dDict: 8, l1: 1e-3 },
    { kind: "untied" as const, dIn: 4, dDict: 8, l1: 1e-2 },
    { kind: "tied" as const, dIn: 4, dDict: 16, l1: 1e-3 },
  ].map(resolveSpec);
  assert.deepEqual(doublePairs(specs), [1, -1, -1, -1]);
});
