import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { rotary } from "./rotary.ts";
import { rotaryRef } from "./rotary_ref.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();
const TOL = { atol: 2e-5, rtol: 1e-4 };

const CASES = [
  { shape: [1, 1, 2], headSize: 2, rotaryDims: 2 },
  { shape: [2, 5, 12], headSize: 4, rotaryDims: 2, rotate: 2, every: 3 }, // NeoX fused qkv, 1 head
  { shape: [3, 7, 48], headSize: 8, rotaryDims: 4, rotate: 2, every: 3, base: 500 }, // 2 heads
  { shape: [1, 33, 30], headSize: 10, rotaryDims: 10, positionOffset: 5 },
  { shape: [2, 3, 18], headSize: 6, rotaryDims: 0, rotate: 1, every: 3 },
  { shape: [1, 9, 24], headSize: 8, rotaryDims: 6, rotate: 0, every: 1 },
  { shape: [2, 40, 192], headSize: 16, rotaryDims: 4, rotate: 2, every: 3 }, // neox-tiny's layout
];

Deno.test("rotary matches the reference, out of place and in place", async () => {
  for (const { shape, ...options } of CASES) {
    const n = shape.reduce((a, b) => a * b, 1);
    const hx = randomFloats(n, n);
    const want = rotaryRef(hx, shape, options);
    using x = gpu.upload(hx, shape);
    using y = rotary(gpu, x, options);
    assertClose(await y.read(), want, TOL, `rotary [${shape}] ${JSON.stringify(options)}`);
    assert.equal(rotary(gpu, x, { ...options, out: x }), x);
    assertClose(await x.read(), want, TOL, `rotary in place [${shape}]`);
    rotary(gpu, x, { ...options, out: x, inverse: true });
    assertClose(await x.read(), hx, TOL, `inverse rotary undoes rotary [${shape}]`);
  }
});

Deno.test("rotary rejects sizes that do not fit", () => {
  using x = gpu.zeros([1, 2, 12]);
  assert.throws(() => rotary(gpu, x, { headSize: 5, rotaryDims: 2 }), { name: "RangeError", message: /headSize 5/ });
  assert.throws(() => rotary(gpu, x, { headSize: 4, rotaryDims: 3 }), /rotaryDims 3 must be even/);
  assert.throws(() => rotary(gpu, x, { headSize: 4, rotaryDims: 6 }), /between 0 and headSize 4/);
  assert.throws(() => rotary(gpu, x, { headSize: 4, rotaryDims: 2, rotate: 2, every: 3, base: 0 }), /base > 0/);
  using flat = gpu.zeros([24]);
  assert.throws(() => rotary(gpu, flat, { headSize: 4, rotaryDims: 2 }), /rank 3/);
});
