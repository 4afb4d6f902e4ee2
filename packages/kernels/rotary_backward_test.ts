import { assertClose, createGpu } from "@saelab/gpu";
import { rotary } from "./rotary.ts";
import { rotaryRef } from "./rotary_ref.ts";
import { dot, numericGrad } from "./_grad_check.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();

// Rotary is orthogonal, so its backward pass is the inverse rotation (`inverse: true`).
const OPTIONS = { headSize: 8, rotaryDims: 4, rotate: 2, every: 3 };
const SHAPE = [2, 5, 48]; // B 2, T 5, 2 heads of [q | k | v] with head size 8

Deno.test("the inverse rotation is the gradient of rotary (finite differences of rotaryRef)", () => {
  const x = Float64Array.from(randomFloats(2 * 5 * 48, 1)), dy = Float64Array.from(randomFloats(2 * 5 * 48, 2));
  const grad = numericGrad((p) => dot(rotaryRef(p, SHAPE, OPTIONS), dy), x);
  assertClose(rotaryRef(dy, SHAPE, { ...OPTIONS, inverse: true }), grad, { atol: 1e-8, rtol: 1e-6 });
});

Deno.test("rotary with inverse: true gives the backward pass on the GPU, in place", async () => {
  const hdy = randomFloats(2 * 5 * 48, 3);
  const ref = rotaryRef(hdy, SHAPE, { ...OPTIONS, inverse: true });
  using dy = gpu.upload(hdy, SHAPE);
  rotary(gpu, dy, { ...OPTIONS, inverse: true, out: dy });
  assertClose(await dy.read(), ref, { atol: 1e-6, rtol: 1e-5 });
});
