import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { add, axpy, mul, scale, sub } from "./arith.ts";
import { arithRef } from "./arith_ref.ts";
import { AWKWARD_2D, randomFloats } from "./_testing.ts";

const gpu = await createGpu();
const TOL = { atol: 1e-6, rtol: 1e-6 }; // one f32 rounding of operands ≤ 1

Deno.test("add, sub, mul, scale and axpy match the reference on awkward shapes", async () => {
  for (const [r, c] of AWKWARD_2D) {
    const ha = randomFloats(r * c, r * 13 + c), hb = randomFloats(r * c, r + 17 * c);
    using a = gpu.upload(ha, [r, c]);
    using b = gpu.upload(hb, [r, c]);
    const what = `${r}x${c}`;
    const cases = [
      [add(gpu, a, b), arithRef(ha, hb)],
      [sub(gpu, a, b, { variant: "scalar" }), arithRef(ha, hb, { beta: -1 })],
      [mul(gpu, a, b), arithRef(ha, hb, { op: "mul" })],
      [scale(gpu, a, -2.5), arithRef(ha, hb, { alpha: -2.5, beta: 0 })],
      [axpy(gpu, a, b, { alpha: 0.75 }), arithRef(ha, hb, { alpha: 0.75 })],
    ] as const;
    for (const [i, [t, ref]] of cases.entries()) {
      assert.deepEqual(t.shape, [r, c]);
      assertClose(await t.read(), ref, TOL, `op ${i} ${what}`);
      t.dispose();
    }
  }
});

Deno.test("arithmetic works in place on either operand", async () => {
  const ha = randomFloats(999, 1), hb = randomFloats(999, 2);
  using a = gpu.upload(ha, [999]);
  using b = gpu.upload(hb, [999]);
  axpy(gpu, a, b, { alpha: 3, out: b }); // b ← 3a + b
  const b1 = arithRef(ha, hb, { alpha: 3 });
  assertClose(await b.read(), b1, TOL);
  sub(gpu, a, b, { out: a }); // a ← a − b
  assertClose(await a.read(), arithRef(ha, b1, { beta: -1 }), { atol: 1e-5, rtol: 1e-6 });
  using sq = mul(gpu, b, b);
  assertClose(await sq.read(), arithRef(b1, b1, { op: "mul" }), { atol: 1e-5, rtol: 1e-6 });
  scale(gpu, b, 0.5, { out: b });
  assertClose(await b.read(), arithRef(b1, b1, { alpha: 0.5, beta: 0 }), TOL);
});

Deno.test("arithmetic rejects bad arguments", () => {
  using a = gpu.zeros([2, 3]);
  using b = gpu.zeros([6]);
  assert.throws(() => add(gpu, a, b), { name: "RangeError", message: /a \[2, 3\] and b \[6\]/ });
  assert.throws(() => axpy(gpu, a, a, {} as never), { name: "TypeError", message: /alpha/ });
  assert.throws(() => scale(gpu, a, Infinity), { name: "TypeError", message: /alpha/ });
  assert.throws(() => mul(gpu, a, a, { out: b }), { name: "RangeError", message: /out has shape \[6\]/ });
});
