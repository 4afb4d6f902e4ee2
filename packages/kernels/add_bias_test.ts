import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { addBias } from "./add_bias.ts";
import { addBiasRef } from "./add_bias_ref.ts";
import { AWKWARD_2D, randomFloats } from "./_testing.ts";

const gpu = await createGpu();
const TOL = { atol: 1e-6, rtol: 1e-6 }; // one f32 rounding of operands ≤ 1

Deno.test("addBias matches the reference on awkward shapes, scalar and vec4 rows", async () => {
  for (const [r, c] of [...AWKWARD_2D, [3, 4], [1, 8], [33, 12]] as [number, number][]) {
    const hx = randomFloats(r * c, r * 11 + c), hb = randomFloats(c, c);
    using x = gpu.upload(hx, [r, c]);
    using b = gpu.upload(hb, [c]);
    using y = addBias(gpu, x, b);
    assertClose(await y.read(), addBiasRef(hx, hb), TOL, `addBias ${r}x${c}`);
    addBias(gpu, x, b, { out: x });
    assertClose(await x.read(), addBiasRef(hx, hb), TOL, `in place ${r}x${c}`);
  }
});

Deno.test("addBias rejects bad arguments", () => {
  using x = gpu.zeros([4, 3]);
  using b = gpu.zeros([4]);
  using b2 = gpu.zeros([1, 3]);
  assert.throws(() => addBias(gpu, x, b), { name: "RangeError", message: /bias \[4\].*3 columns of x \[4, 3\]/ });
  assert.throws(() => addBias(gpu, x, b2), { name: "RangeError", message: /rank 1, got shape \[1, 3\]/ });
  assert.throws(() => addBias(gpu, b, b), { name: "RangeError", message: /rank 2, got shape \[4\]/ });
});
