import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { adam } from "./adam.ts";
import { adamRefStep } from "./adam_ref.ts";
import { randomFloats, sparseFloats } from "./_testing.ts";

const gpu = await createGpu();
// float32 state against float64: a few ulps of |param| ≈ 1 per step
const TOL = { atol: 2e-6, rtol: 1e-5 };

const CASES = [
  { shape: [1], weightDecay: 0, variant: "vec4" },
  { shape: [3, 5], weightDecay: 0, variant: "scalar" },
  { shape: [3, 5], weightDecay: 0.1, variant: "vec4" },
  { shape: [1027], weightDecay: 0.01, variant: "scalar" },
  { shape: [70, 33], weightDecay: 0.05, variant: undefined },
] as const;

for (const c of CASES) {
  Deno.test(`adam matches textbook Adam${c.weightDecay ? "W" : ""} over 6 steps, [${c.shape}] ${c.variant}`, async () => {
    const n = (c.shape as readonly number[]).reduce((a, b) => a * b, 1);
    const p0 = randomFloats(n, n);
    using param = gpu.upload(p0, c.shape);
    using m = gpu.zeros(c.shape);
    using v = gpu.zeros(c.shape);
    const ref = { param: Float64Array.from(p0), m: new Float64Array(n), v: new Float64Array(n) };
    const hyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: c.weightDecay };
    for (let t = 1; t <= 6; t++) {
      const g = sparseFloats(n, 100 * t + n, 0.2);
      using grad = gpu.upload(g, c.shape);
      adam(gpu, { param, grad, m, v }, { ...hyper, step: t, variant: c.variant });
      adamRefStep(ref, g, { ...hyper, t });
    }
    assertClose(await m.read(), ref.m, TOL, "m");
    assertClose(await v.read(), ref.v, { atol: 1e-9, rtol: 1e-5 }, "v");
    assertClose(await param.read(), ref.param, TOL, "param");
  });
}

Deno.test("adam's first step moves each parameter by lr·sign(g), bias correction included", async () => {
  using param = gpu.upload(new Float32Array([1, 1, 1]), [3]);
  using grad = gpu.upload(new Float32Array([1e-3, -50, 0]), [3]);
  using m = gpu.zeros([3]);
  using v = gpu.zeros([3]);
  adam(gpu, { param, grad, m, v }, { lr: 0.5, beta1: 0.9, beta2: 0.99, eps: 1e-12, step: 1 });
  assertClose(await param.read(), [0.5, 1.5, 1], { atol: 1e-6, rtol: 0 });
});

Deno.test("adam rejects bad arguments", () => {
  using a = gpu.zeros([4, 3]);
  using b = gpu.zeros([4, 3]);
  using c = gpu.zeros([4, 3]);
  using d = gpu.zeros([3, 4]);
  const ok = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 };
  assert.throws(() => adam(gpu, { param: a, grad: b, m: c, v: d }, ok), {
    name: "RangeError",
    message: /param \[4, 3\] and v \[3, 4\]/,
  });
  assert.throws(() => adam(gpu, { param: a, grad: b, m: c, v: c }, ok), { name: "RangeError", message: /same tensor/ });
  const state = { param: a, grad: b, m: c, v: gpu.zeros([4, 3]) };
  assert.throws(() => adam(gpu, state, { ...ok, step: 0 }), { name: "RangeError", message: /step/ });
  assert.throws(() => adam(gpu, state, { ...ok, step: 1.5 }), { name: "TypeError", message: /step/ });
  assert.throws(() => adam(gpu, state, { ...ok, beta2: 1 }), { name: "RangeError", message: /beta2/ });
  assert.throws(() => adam(gpu, state, { ...ok, lr: undefined } as never), { name: "TypeError", message: /lr/ });
  state.v.dispose();
});
