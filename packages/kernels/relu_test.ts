import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { RELU, relu, reluBackward } from "./relu.ts";
import { runMap } from "./_map.ts";
import { MAX_GROUPS_X } from "./_util.ts";
import { reluBackwardRef, reluRef } from "./relu_ref.ts";
import { AWKWARD_2D, randomFloats } from "./_testing.ts";

const gpu = await createGpu();
const EXACT = { atol: 0, rtol: 0 };

for (const variant of ["scalar", "vec4"] as const) {
  Deno.test(`relu and reluBackward (${variant}) match the reference on awkward shapes`, async () => {
    for (const [r, c] of [...AWKWARD_2D, [1, 70001] as [number, number]]) {
      const hx = randomFloats(r * c, r * 31 + c), hg = randomFloats(r * c, r + c);
      hx[0] = 0; // relu'(0) is taken as 0
      using x = gpu.upload(hx, [r, c]);
      using g = gpu.upload(hg, [r, c]);
      using y = relu(gpu, x, { variant });
      using dx = reluBackward(gpu, g, x, { variant });
      assert.deepEqual(y.shape, [r, c]);
      assertClose(await y.read(), reluRef(hx), EXACT, `relu ${r}x${c}`);
      assertClose(await dx.read(), reluBackwardRef(hg, hx), EXACT, `reluBackward ${r}x${c}`);
    }
  });
}

Deno.test("relu and reluBackward work in place and into a given out", async () => {
  const hx = randomFloats(1001, 1), hg = randomFloats(1001, 2);
  using x = gpu.upload(hx, [1001]);
  using g = gpu.upload(hg, [1001]);
  using out = gpu.zeros([1001]);
  assert.equal(relu(gpu, x, { out }), out);
  assertClose(await out.read(), reluRef(hx), EXACT);
  assert.equal(reluBackward(gpu, g, x, { out: g }), g);
  assertClose(await g.read(), reluBackwardRef(hg, hx), EXACT);
  relu(gpu, x, { out: x });
  assertClose(await x.read(), reluRef(hx), EXACT);
});

Deno.test("the elementwise engine covers more than 65535 workgroups (2-D dispatch)", async () => {
  const n = MAX_GROUPS_X * 64 + 5; // one f32 per invocation, 64 per workgroup
  const hx = randomFloats(n, 77);
  using x = gpu.upload(hx, [n]);
  using y = gpu.zeros([n]);
  runMap(gpu, RELU, { tensors: { x, y }, variant: "scalar", tuning: { wg: 64, per: 1 } });
  const got = await y.read();
  let bad = -1;
  for (let i = n - 1; i >= 0 && bad < 0; i--) if (got[i] !== Math.max(hx[i], 0)) bad = i;
  assert.equal(bad, -1, `element ${bad} of ${n} is wrong`);
});

Deno.test("relu and reluBackward reject bad arguments", () => {
  using a = gpu.zeros([2, 3]);
  using b = gpu.zeros([3, 2]);
  using i = gpu.zeros([2, 3], "i32");
  assert.throws(() => reluBackward(gpu, a, b), { name: "RangeError", message: /\[2, 3\] and x \[3, 2\]/ });
  assert.throws(() => relu(gpu, a, { out: b }), {
    name: "RangeError",
    message: /out has shape \[3, 2\], expected \[2, 3\]/,
  });
  assert.throws(() => relu(gpu, i as never), { name: "TypeError", message: /dtype i32/ });
  assert.throws(() => relu(gpu, new Float32Array(3) as never), { name: "TypeError", message: /must be a Tensor/ });
});
