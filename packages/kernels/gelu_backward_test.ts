import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { geluBackward } from "./gelu_backward.ts";
import { geluBackwardRef } from "./backward_ref.ts";
import { geluRef } from "./gelu_ref.ts";
import { dot, numericGrad } from "./_grad_check.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();

Deno.test("geluBackwardRef matches finite differences of geluRef", () => {
  const x = Float64Array.from(randomFloats(50, 1, -6, 6)), dy = Float64Array.from(randomFloats(50, 2));
  assertClose(geluBackwardRef(x, dy), numericGrad((p) => dot(geluRef(p), dy), x), { atol: 1e-8, rtol: 1e-6 });
});

Deno.test("geluBackward matches the reference, in place and with both load variants", async () => {
  for (const n of [1, 7, 1000]) {
    const hx = randomFloats(n, n, -8, 8), hdy = randomFloats(n, n + 1);
    const ref = geluBackwardRef(hx, hdy);
    using x = gpu.upload(hx, [n]);
    for (const variant of ["scalar", "vec4"] as const) {
      if (variant === "vec4" && n % 4 !== 0) continue;
      using dy = gpu.upload(hdy, [n]);
      using y = geluBackward(gpu, x, dy, { variant });
      assertClose(await y.read(), ref, { atol: 1e-6, rtol: 1e-5 }, `geluBackward n ${n} ${variant}`);
      geluBackward(gpu, x, dy, { out: dy, variant });
      assertClose(await dy.read(), ref, { atol: 1e-6, rtol: 1e-5 }, `in place n ${n} ${variant}`);
    }
  }
});

Deno.test("geluBackward rejects mismatched shapes and out = x", () => {
  using x = gpu.zeros([4]);
  using dy = gpu.zeros([5]);
  assert.throws(() => geluBackward(gpu, x, dy), { name: "RangeError", message: /differ in shape/ });
  assert.throws(() => geluBackward(gpu, x, x, { out: x }), /out must not be x/);
});
