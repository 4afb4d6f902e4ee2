import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { nonzeroCount } from "./nonzero_count.ts";
import { nonzeroCountRef } from "./nonzero_count_ref.ts";
import { AWKWARD_2D, sparseFloats } from "./_testing.ts";

const gpu = await createGpu();

Deno.test("nonzeroCount matches the reference on awkward shapes, u32 and f32", async () => {
  for (const [b, n] of [...AWKWARD_2D, [3000, 2]] as [number, number][]) {
    const hc = sparseFloats(b * n, b * 5 + n, 0.6);
    hc[0] = -0; // negative zero counts as zero
    using c = gpu.upload(hc, [b, n]);
    using u = nonzeroCount(gpu, c);
    using f = nonzeroCount(gpu, c, { dtype: "f32" });
    assert.equal(u.dtype, "u32");
    assert.equal(f.dtype, "f32");
    const ref = [...nonzeroCountRef(hc, n)];
    assert.deepEqual([...await u.read()], ref, `u32 ${b}x${n}`);
    assert.deepEqual([...await f.read()], ref, `f32 ${b}x${n}`);
  }
});

Deno.test("nonzeroCount accumulates across steps", async () => {
  using total = gpu.zeros([5], "u32");
  using totalF = gpu.zeros([5], "f32");
  const expected = new Float64Array(5);
  for (let step = 0; step < 4; step++) {
    const hc = sparseFloats(7 * 5, step, 0.5);
    using c = gpu.upload(hc, [7, 5]);
    assert.equal(nonzeroCount(gpu, c, { accumulate: total }), total);
    nonzeroCount(gpu, c, { accumulate: totalF });
    nonzeroCountRef(hc, 5).forEach((v, j) => (expected[j] += v));
  }
  assert.deepEqual([...await total.read()], [...expected]);
  assert.deepEqual([...await totalF.read()], [...expected]);
});

Deno.test("nonzeroCount rejects bad arguments", () => {
  using c = gpu.zeros([4, 3]);
  using v = gpu.zeros([3]);
  using i = gpu.zeros([3], "i32");
  using wrong = gpu.zeros([4], "u32");
  assert.throws(() => nonzeroCount(gpu, v), { name: "RangeError", message: /rank 2, got shape \[3\]/ });
  assert.throws(() => nonzeroCount(gpu, c, { out: wrong }), { name: "RangeError", message: /\[4\], expected \[3\]/ });
  assert.throws(() => nonzeroCount(gpu, c, { accumulate: i as never }), { name: "TypeError", message: /dtype i32/ });
});
