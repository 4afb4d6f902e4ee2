import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { l1Grad } from "./l1_grad.ts";
import { l1GradRef } from "./l1_grad_ref.ts";
import { AWKWARD_2D, randomFloats, sparseFloats } from "./_testing.ts";

const gpu = await createGpu();
const TOL = { atol: 1e-6, rtol: 1e-6 }; // f32 rounding of sums of operands ≤ 3 in magnitude

Deno.test("l1Grad matches alpha·sign(c)/B on awkward shapes, set and accumulated", async () => {
  for (const [b, n] of AWKWARD_2D) {
    const hc = sparseFloats(b * n, b * 7 + n), base = randomFloats(b * n, n);
    using c = gpu.upload(hc, [b, n]);
    using g = l1Grad(gpu, c, { alpha: 0.37 });
    assertClose(await g.read(), l1GradRef(hc, b, { alpha: 0.37 }), TOL, `l1Grad ${b}x${n}`);
    using acc = gpu.upload(base, [b, n]);
    assert.equal(l1Grad(gpu, c, { alpha: 2.5, accumulate: acc, variant: "scalar" }), acc);
    assertClose(await acc.read(), l1GradRef(hc, b, { alpha: 2.5, base }), TOL, `accumulated ${b}x${n}`);
  }
});

Deno.test("l1Grad treats sign(0) as 0 and a rank-1 tensor as one row", async () => {
  using c = gpu.upload(new Float32Array([0, -0, 1e-30, -5]), [4]);
  using out = gpu.zeros([4]);
  l1Grad(gpu, c, { alpha: 3, out });
  assertClose(await out.read(), [0, 0, 3, -3], { atol: 0, rtol: 0 });
});

Deno.test("l1Grad rejects bad arguments", () => {
  using c = gpu.zeros([4, 3]);
  using wrong = gpu.zeros([3, 4]);
  using cube = gpu.zeros([2, 2, 3]);
  assert.throws(() => l1Grad(gpu, c, { alpha: 1, accumulate: wrong }), {
    name: "RangeError",
    message: /c \[4, 3\] and accumulate \[3, 4\]/,
  });
  assert.throws(() => l1Grad(gpu, cube, { alpha: 1 }), { name: "RangeError", message: /rank 2.*\[2, 2, 3\]/ });
  assert.throws(() => l1Grad(gpu, c, { alpha: NaN }), { name: "TypeError", message: /alpha/ });
  assert.throws(() => l1Grad(gpu, c, {} as never), { name: "TypeError", message: /alpha/ });
  assert.throws(() => l1Grad(gpu, c, { alpha: 1, out: wrong }), { name: "RangeError", message: /expected \[4, 3\]/ });
});
