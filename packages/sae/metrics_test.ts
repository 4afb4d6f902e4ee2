import assert from "node:assert/strict";
import { assertClose } from "@saelab/gpu";
import {
  dictionaryMmcs,
  doublePairs,
  initWeights,
  InputMoments,
  maxCosines,
  mmcs,
  mmcsChance,
  mmcsLargerToSmaller,
  resolveSpec,
} from "./mod.ts";
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

/** Float64 brute force: mean over the rows of `over` of the best cosine with a row of `against`. */
function bruteMmcs(over: ArrayLike<number>, against: ArrayLike<number>, d: number): number {
  const rows = (m: ArrayLike<number>) =>
    Array.from({ length: m.length / d }, (_, r) => Array.from({ length: d }, (_, k) => Number(m[r * d + k])));
  const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const b = rows(against);
  const best = rows(over).map((a) =>
    Math.max(...b.map((v) => a.reduce((s, x, k) => s + x * v[k], 0) / (norm(a) * norm(v))))
  );
  return best.reduce((s, v) => s + v, 0) / best.length;
}

Deno.test("MMCS between sizes averages over the larger dictionary, as the paper's code does", () => {
  const d = 9, small = rand(20 * d), large = rand(75 * d);
  const want = bruteMmcs(large, small, d);
  assertClose([mmcsLargerToSmaller(small, large, d)], [want], { atol: 1e-6, rtol: 1e-6 });
  // the two directions differ: a larger dictionary with one feature the smaller lacks scores lower
  const base = new Float32Array([1, 0, 0, 0, 1, 0]);
  const extra = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  assertClose([mmcsLargerToSmaller(base, extra, 3)], [2 / 3], { atol: 1e-7, rtol: 0 });
  assertClose([mmcs(base, extra, 3)], [1], { atol: 1e-7, rtol: 0 });
  assert.throws(() => mmcsLargerToSmaller(large, small, d), /fewer than the smaller one's 75/);
  assert.throws(() => mmcsLargerToSmaller(small, rand(5), d), /not multiples of 9/);
});

Deno.test("the chance level of MMCS is the statistic on seeded Gaussian directions", () => {
  const opts = { dIn: 12, nSmall: 30, nLarge: 50, seed: 7, trials: 3 };
  // the same draws in float64: per trial, nSmall rows then nLarge rows from one stream
  const stream = new Rng(7);
  let want = 0;
  for (let t = 0; t < 3; t++) {
    const small = Array.from({ length: 30 * 12 }, () => Math.fround(stream.normal()));
    const large = Array.from({ length: 50 * 12 }, () => Math.fround(stream.normal()));
    want += bruteMmcs(large, small, 12) / 3;
  }
  assertClose([mmcsChance(opts)], [want], { atol: 1e-6, rtol: 1e-6 });
  assert.equal(mmcsChance(opts), mmcsChance(opts), "seeded");
  assert.notEqual(mmcsChance({ ...opts, seed: 8 }), mmcsChance(opts));
  assert.throws(() => mmcsChance({ ...opts, trials: 0 }), /trials 0 is not a whole number/);
});

Deno.test("the chance level grows with the dictionary size and falls with the dimension", () => {
  const at = (dIn: number, nSmall: number) => mmcsChance({ dIn, nSmall, nLarge: 256, seed: 3, trials: 2 });
  const levels = [32, 64, 128].map((d) => [16, 64, 256, 1024].map((n) => at(d, n)));
  for (const row of levels) for (let i = 1; i < row.length; i++) assert.ok(row[i] > row[i - 1], `${row}`);
  for (let j = 0; j < 4; j++) {
    for (let i = 1; i < 3; i++) assert.ok(levels[i][j] < levels[i - 1][j], `column ${j}: ${levels.map((r) => r[j])}`);
  }
  // the extreme-value scale √(2 ln n / d) brackets it (the maximum of n cosines of variance 1/d)
  for (const [i, d] of [32, 64, 128].entries()) {
    [16, 64, 256, 1024].forEach((n, j) => {
      const scale = Math.sqrt((2 * Math.log(n)) / d);
      assert.ok(
        levels[i][j] > 0.6 * scale && levels[i][j] < 1.1 * scale,
        `d ${d}, n ${n}: ${levels[i][j]} vs ${scale}`,
      );
    });
  }
});
