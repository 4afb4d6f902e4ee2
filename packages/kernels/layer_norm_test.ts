import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { layerNorm } from "./layer_norm.ts";
import { layerNormRef } from "./layer_norm_ref.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();

Deno.test("layerNorm matches the reference on awkward shapes", async () => {
  for (const shape of [[1, 1], [3, 1], [1, 7], [5, 64], [17, 65], [2, 3, 130], [4, 1000]]) {
    const width = shape[shape.length - 1], n = shape.reduce((a, b) => a * b, 1);
    // an offset and a spread per row, so a one-pass variance would lose digits
    const hx = randomFloats(n, n + width, -3, 3).map((v, i) => 4 * Math.floor(i / width) + v);
    const hw = randomFloats(width, 7, 0.5, 1.5), hb = randomFloats(width, 8);
    using x = gpu.upload(hx, shape);
    using weight = gpu.upload(hw, [width]);
    using bias = gpu.upload(hb, [width]);
    for (const eps of [1e-5, 0.5]) {
      using y = layerNorm(gpu, x, { weight, bias, eps });
      assert.deepEqual(y.shape, shape);
      assertClose(await y.read(), layerNormRef(hx, width, { weight: hw, bias: hb, eps }), {
        atol: 1e-5,
        rtol: 1e-4,
      }, `layerNorm [${shape}] eps ${eps}`);
    }
  }
});

Deno.test("layerNorm gives bit-identical rows with a workgroup or an invocation per row", async () => {
  for (const shape of [[3, 1], [5, 7], [33, 128], [9, 512], [4, 1000], [2, 4100]]) {
    const width = shape[1], n = shape[0] * width;
    const hx = randomFloats(n, n + 1, -3, 3).map((v, i) => 4 * Math.floor(i / width) + v);
    using x = gpu.upload(hx, shape);
    using weight = gpu.upload(randomFloats(width, 2, 0.5, 1.5), [width]);
    using bias = gpu.upload(randomFloats(width, 3), [width]);
    using a = layerNorm(gpu, x, { weight, bias, mode: "workgroup" });
    using b = layerNorm(gpu, x, { weight, bias, mode: "serial" });
    const [ha, hb] = [await a.read(), await b.read()];
    assertClose(ha, layerNormRef(hx, width, { weight: await weight.read(), bias: await bias.read() }), {
      atol: 1e-5,
      rtol: 1e-4,
    }, `layerNorm [${shape}] workgroup`);
    assert.deepEqual(hb, ha, `layerNorm [${shape}]: serial and workgroup rows differ`);
  }
  using x = gpu.zeros([2, 4]);
  using w = gpu.zeros([4]);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => layerNorm(gpu, x, { weight: w, bias: w, mode: "warp" as any }), { name: "TypeError" });
});

Deno.test("layerNorm writes into out and rejects bad arguments", async () => {
  const hx = randomFloats(12, 3);
  using x = gpu.upload(hx, [3, 4]);
  using w = gpu.upload(new Float32Array([1, 2, 3, 4]), [4]);
  using b = gpu.zeros([4]);
  using w3 = gpu.zeros([3]);
  using out = gpu.zeros([3, 4]);
  assert.equal(layerNorm(gpu, x, { weight: w, bias: b, out }), out);
  assertClose(await out.read(), layerNormRef(hx, 4, { weight: [1, 2, 3, 4], bias: [0, 0, 0, 0] }));
  assert.throws(() => layerNorm(gpu, x, { weight: w3, bias: b }), {
    name: "RangeError",
    message: /weight \[3\] must have 4 entries to match x \[3, 4\]/,
  });
  assert.throws(() => layerNorm(gpu, x, { weight: w, bias: b, out: x }), /out must not be x/);
  assert.throws(() => layerNorm(gpu, x, { weight: w, bias: b, eps: NaN }), { name: "TypeError", message: /eps/ });
});
