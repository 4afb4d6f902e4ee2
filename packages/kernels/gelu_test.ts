import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { gelu } from "./gelu.ts";
import { erfRef, geluRef } from "./gelu_ref.ts";
import { AWKWARD_2D, randomFloats } from "./_testing.ts";

const gpu = await createGpu();
const TOL = { atol: 1e-6, rtol: 1e-5 };

Deno.test("erfRef matches tabulated values", () => {
  // Abramowitz & Stegun, table 7.1, and erf(−x) = −erf(x)
  const table: [number, number][] = [
    [0, 0],
    [0.1, 0.1124629160],
    [0.5, 0.5204998778],
    [1, 0.8427007929],
    [1.5, 0.9661051465],
    [2, 0.9953222650],
    [2.5, 0.9995930480],
    [3, 0.9999779095],
    [-1, -0.8427007929],
  ];
  for (const [x, e] of table) assert.ok(Math.abs(erfRef(x) - e) < 1e-9, `erf(${x}) = ${erfRef(x)}, expected ${e}`);
  assert.ok(Math.abs(erfRef(1.9999999) - erfRef(2.0000001)) < 1e-8, "the two branches meet at 2");
});

for (const variant of ["scalar", "vec4"] as const) {
  Deno.test(`gelu (${variant}) matches the reference, tails included`, async () => {
    for (const [r, c] of [...AWKWARD_2D, [3, 4001] as [number, number]]) {
      const hx = randomFloats(r * c, r * 7 + c, -6, 6);
      hx.set([0, -10, 10, -3.5, 1e-8].slice(0, hx.length));
      using x = gpu.upload(hx, [r, c]);
      using y = gelu(gpu, x, { variant });
      assertClose(await y.read(), geluRef(hx), TOL, `gelu ${r}x${c}`);
    }
  });
}

Deno.test("gelu works in place and rejects bad arguments", async () => {
  const hx = randomFloats(1001, 4, -4, 4);
  using x = gpu.upload(hx, [1001]);
  assert.equal(gelu(gpu, x, { out: x }), x);
  assertClose(await x.read(), geluRef(hx), TOL);
  using b = gpu.zeros([3]);
  using i = gpu.zeros([3], "i32");
  assert.throws(() => gelu(gpu, x, { out: b }), { name: "RangeError", message: /out has shape \[3\]/ });
  assert.throws(() => gelu(gpu, i as never), { name: "TypeError", message: /dtype i32/ });
});
