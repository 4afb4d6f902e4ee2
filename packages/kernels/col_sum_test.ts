import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { colSum, sum } from "./col_sum.ts";
import { colSumRef } from "./col_sum_ref.ts";
import { AWKWARD_2D, randomFloats } from "./_testing.ts";

const gpu = await createGpu();
// float32 sums of `rows` terms in [-1, 1]: allow 1e-6 per term (errors grow far slower in practice)
const tol = (rows: number) => ({ atol: 1e-6 * (rows + 1), rtol: 1e-5 });

Deno.test("colSum matches the reference on awkward shapes, including several reduction passes", async () => {
  for (const [b, n] of [...AWKWARD_2D, [257, 3], [4097, 5], [70000, 2], [3, 5000]] as [number, number][]) {
    const hx = randomFloats(b * n, b * 3 + n);
    using x = gpu.upload(hx, [b, n]);
    using s = colSum(gpu, x);
    assert.deepEqual(s.shape, [n]);
    assertClose(await s.read(), colSumRef(hx, n), tol(b), `colSum ${b}x${n}`);
  }
});

Deno.test("colSum scales, accumulates and writes into out", async () => {
  const hx = randomFloats(300 * 7, 9), base = randomFloats(7, 10);
  using x = gpu.upload(hx, [300, 7]);
  using acc = gpu.upload(base, [7]);
  assert.equal(colSum(gpu, x, { accumulate: acc, scale: 0.5 }), acc);
  const half = colSumRef(hx, 7, 0.5);
  assertClose(await acc.read(), half.map((v, j) => v + base[j]), tol(300));
  using out = gpu.zeros([7]);
  colSum(gpu, x, { out, scale: 1 / 300 });
  assertClose(await out.read(), colSumRef(hx, 7, 1 / 300), { atol: 1e-6, rtol: 1e-5 });
  using empty = gpu.zeros([0, 3]);
  using zero = colSum(gpu, empty);
  assert.deepEqual([...await zero.read()], [0, 0, 0]);
});

Deno.test("sum reduces any shape to [1]", async () => {
  for (const shape of [[1], [5, 1], [3, 4, 5], [65537], [1 << 20]]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const hx = randomFloats(n, n);
    using x = gpu.upload(hx, shape);
    using s = sum(gpu, x, { scale: 1 / n });
    assert.deepEqual(s.shape, [1]);
    assertClose(await s.read(), colSumRef(hx, 1, 1 / n), { atol: 1e-6, rtol: 1e-5 }, `mean of [${shape}]`);
  }
  using x = gpu.upload(new Float32Array([1, 2, 3]), [3]);
  using acc = gpu.upload(new Float32Array([10]), [1]);
  sum(gpu, x, { accumulate: acc });
  assert.deepEqual([...await acc.read()], [16]);
});

Deno.test("colSum and sum reject bad arguments", () => {
  using v = gpu.zeros([6]);
  using m = gpu.zeros([2, 3]);
  using wrong = gpu.zeros([2]);
  assert.throws(() => colSum(gpu, v), { name: "RangeError", message: /rank 2, got shape \[6\]/ });
  assert.throws(() => colSum(gpu, m, { out: wrong }), { name: "RangeError", message: /\[2\], expected \[3\]/ });
  assert.throws(() => sum(gpu, m, { accumulate: wrong }), {
    name: "RangeError",
    message: /accumulate .*expected \[1\]/,
  });
  using one = gpu.zeros([1]);
  assert.throws(() => sum(gpu, one, { out: one }), { name: "RangeError", message: /not be the input/ });
  assert.throws(() => sum(gpu, m, { scale: NaN }), { name: "TypeError", message: /scale/ });
});
