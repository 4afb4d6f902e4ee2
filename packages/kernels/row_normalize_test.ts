import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { rowNormalize, rowNormalizeBackward } from "./row_normalize.ts";
import { rowNormalizeRef } from "./row_normalize_ref.ts";
import { AWKWARD_2D, randomFloats } from "./_testing.ts";

const gpu = await createGpu();
const TOL = { atol: 1e-6, rtol: 1e-5 };

Deno.test("rowNormalize and its backward match the reference on awkward shapes", async () => {
  for (const [r, c] of [...AWKWARD_2D, [64, 300]] as [number, number][]) {
    const hw = randomFloats(r * c, r * 19 + c), hg = randomFloats(r * c, r + c);
    const ref = rowNormalizeRef(hw, c, { eps: 1e-8, gradOut: hg });
    using w = gpu.upload(hw, [r, c]);
    using g = gpu.upload(hg, [r, c]);
    const { out, norms } = rowNormalize(gpu, w);
    using dw = rowNormalizeBackward(gpu, g, { w, norms });
    assertClose(await norms.read(), ref.norms, TOL, `norms ${r}x${c}`);
    assertClose(await out.read(), ref.out, TOL, `rows ${r}x${c}`);
    assertClose(await dw.read(), ref.grad!, { atol: 1e-5, rtol: 1e-4 }, `grad ${r}x${c}`);
    out.dispose();
    norms.dispose();
  }
});

Deno.test("rowNormalize's backward agrees with finite differences of a scalar loss", async () => {
  // L(w) = Σ c ⊙ normalize(w); dL/dw from the kernel vs central differences of the float64 reference
  const r = 3, c = 4, h = 1e-6;
  const hw = randomFloats(r * c, 3), coef = randomFloats(r * c, 4);
  const loss = (v: Float64Array) => rowNormalizeRef(v, c, { eps: 1e-8 }).out.reduce((s, y, k) => s + y * coef[k], 0);
  const numeric = new Float64Array(r * c);
  for (let k = 0; k < r * c; k++) {
    const up = Float64Array.from(hw), down = Float64Array.from(hw);
    up[k] += h;
    down[k] -= h;
    numeric[k] = (loss(up) - loss(down)) / (2 * h);
  }
  using w = gpu.upload(hw, [r, c]);
  using g = gpu.upload(coef, [r, c]);
  const { out, norms } = rowNormalize(gpu, w);
  using dw = rowNormalizeBackward(gpu, g, { w, norms });
  assertClose(await dw.read(), numeric, { atol: 1e-5, rtol: 1e-4 });
  out.dispose();
  norms.dispose();
});

Deno.test("rowNormalize guards zero rows with eps and works in place", async () => {
  const hw = new Float32Array([0, 0, 0, 3, 4, 0, 1e-6, 0, 0]);
  using w = gpu.upload(hw, [3, 3]);
  using norms = gpu.zeros([3]);
  const r = rowNormalize(gpu, w, { out: w, norms, eps: 1e-3 });
  assert.equal(r.out, w);
  assertClose(await norms.read(), [0, 5, 1e-6], { atol: 1e-9, rtol: 1e-6 });
  assertClose(await w.read(), [0, 0, 0, 0.6, 0.8, 0, 1e-3, 0, 0], { atol: 1e-7, rtol: 1e-6 });
  using g = gpu.upload(new Float32Array(9).fill(2), [3, 3]);
  using orig = gpu.upload(hw, [3, 3]);
  rowNormalizeBackward(gpu, g, { w: orig, norms }, { eps: 1e-3, out: g });
  const ref = rowNormalizeRef(hw, 3, { eps: 1e-3, gradOut: new Float32Array(9).fill(2) });
  assertClose(await g.read(), ref.grad!, { atol: 1e-5, rtol: 1e-5 });
});

Deno.test("rowNormalize and its backward reject bad arguments", () => {
  using w = gpu.zeros([4, 3]);
  using g = gpu.zeros([3, 4]);
  using n3 = gpu.zeros([3]);
  assert.throws(() => rowNormalize(gpu, n3), { name: "RangeError", message: /rank 2, got shape \[3\]/ });
  assert.throws(() => rowNormalize(gpu, w, { norms: n3 }), { name: "RangeError", message: /norms has shape \[3\]/ });
  assert.throws(() => rowNormalize(gpu, w, { eps: 0 }), { name: "RangeError", message: /eps/ });
  assert.throws(() => rowNormalizeBackward(gpu, g, { w, norms: n3 }), {
    name: "RangeError",
    message: /gradOut \[3, 4\] and w \[4, 3\]/,
  });
  assert.throws(() => rowNormalizeBackward(gpu, w, { w, norms: n3 }), {
    name: "RangeError",
    message: /norms \[3\] do not match the 4 rows/,
  });
  assert.throws(() => rowNormalizeBackward(gpu, w, undefined as never), { name: "TypeError", message: /saved/ });
});
