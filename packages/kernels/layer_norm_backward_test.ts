import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { layerNormBackward } from "./layer_norm_backward.ts";
import { layerNormBackwardRef } from "./layer_norm_backward_ref.ts";
import { layerNormRef } from "./layer_norm_ref.ts";
import { dot, numericGrad } from "./_grad_check.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();

Deno.test("layerNormBackwardRef matches finite differences of layerNormRef", () => {
  const rows = 3, width = 5;
  const x = Float64Array.from(randomFloats(rows * width, 1, -2, 2));
  const w = Float64Array.from(randomFloats(width, 2, 0.5, 1.5)), b = Float64Array.from(randomFloats(width, 3));
  const dy = Float64Array.from(randomFloats(rows * width, 4));
  const ref = layerNormBackwardRef(x, dy, { width, weight: w, eps: 1e-3 });
  const ln = (xx: ArrayLike<number>, ww: ArrayLike<number>, bb: ArrayLike<number>) =>
    dot(layerNormRef(xx, width, { weight: ww, bias: bb, eps: 1e-3 }), dy);
  const tol = { atol: 1e-7, rtol: 1e-6 };
  assertClose(ref.dx, numericGrad((p) => ln(p, w, b), x), tol, "dx");
  assertClose(ref.dweight, numericGrad((p) => ln(x, p, b), w), tol, "dweight");
  assertClose(ref.dbias, numericGrad((p) => ln(x, w, p), b), tol, "dbias");
});

Deno.test("layerNormBackward matches the reference, and accumulates into dx", async () => {
  for (const [rows, width] of [[1, 1], [3, 7], [17, 130], [64, 128]]) {
    const hx = randomFloats(rows * width, rows + width, -3, 3).map((v, i) => 2 * Math.floor(i / width) + v);
    const hw = randomFloats(width, 7, 0.5, 1.5), hdy = randomFloats(rows * width, 9);
    using x = gpu.upload(hx, [rows, width]);
    using dy = gpu.upload(hdy, [rows, width]);
    using weight = gpu.upload(hw, [width]);
    const ref = layerNormBackwardRef(hx, hdy, { width, weight: hw });
    const g = layerNormBackward(gpu, x, dy, { weight });
    const tol = { atol: 1e-4, rtol: 1e-3 };
    assertClose(await g.dx.read(), ref.dx, tol, `dx [${rows}, ${width}]`);
    assertClose(await g.dweight.read(), ref.dweight, tol, `dweight [${rows}, ${width}]`);
    assertClose(await g.dbias.read(), ref.dbias, tol, `dbias [${rows}, ${width}]`);
    layerNormBackward(gpu, x, dy, { weight, dx: g.dx, accumulate: true, dweight: g.dweight, dbias: g.dbias });
    assertClose(await g.dx.read(), ref.dx.map((v) => 2 * v), tol, `accumulated dx [${rows}, ${width}]`);
    for (const t of Object.values(g)) t.dispose();
  }
});

Deno.test("layerNormBackward gives bit-identical gradients with a workgroup or an invocation per row", async () => {
  for (const [rows, width] of [[3, 7], [65, 128], [5, 1030]]) {
    const hx = randomFloats(rows * width, rows + width, -3, 3).map((v, i) => 2 * Math.floor(i / width) + v);
    using x = gpu.upload(hx, [rows, width]);
    using dy = gpu.upload(randomFloats(rows * width, 5), [rows, width]);
    using weight = gpu.upload(randomFloats(width, 6, 0.5, 1.5), [width]);
    const a = layerNormBackward(gpu, x, dy, { weight, mode: "workgroup" });
    const b = layerNormBackward(gpu, x, dy, { weight, mode: "serial" });
    for (const name of ["dx", "dweight", "dbias"] as const) {
      assert.deepEqual(await b[name].read(), await a[name].read(), `${name} [${rows}, ${width}]`);
    }
    for (const t of [...Object.values(a), ...Object.values(b)]) t.dispose();
  }
});

Deno.test("layerNormBackward rejects bad arguments", () => {
  using x = gpu.zeros([2, 4]);
  using dy = gpu.zeros([2, 3]);
  using w = gpu.zeros([4]);
  assert.throws(() => layerNormBackward(gpu, x, dy, { weight: w }), { name: "RangeError", message: /differ in shape/ });
  assert.throws(() => layerNormBackward(gpu, x, x, { weight: w, dx: x }), /dx must not be x or dy/);
  assert.throws(() => layerNormBackward(gpu, x, x, { weight: w, accumulate: true }), /accumulate needs dx/);
});
