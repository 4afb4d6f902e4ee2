import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { topK, topKBackward } from "./top_k.ts";
import { topKRef } from "./top_k_ref.ts";
import { reluBackwardRef } from "./relu_ref.ts";
import { AWKWARD_2D, randomFloats } from "./_testing.ts";

const gpu = await createGpu();
const EXACT = { atol: 0, rtol: 0 };

Deno.test("topK matches a sort-based reference on awkward shapes and k", async () => {
  for (const [b, n] of [...AWKWARD_2D, [4, 3000]] as [number, number][]) {
    const hx = randomFloats(b * n, b * 23 + n, -3, 3);
    using x = gpu.upload(hx, [b, n]);
    for (const k of new Set([1, Math.ceil(n / 3), n])) {
      using y = topK(gpu, x, k);
      assertClose(await y.read(), topKRef(hx, n, k), EXACT, `topK ${b}x${n} k=${k}`);
    }
  }
});

Deno.test("topK keeps exactly k per row with ties, zeros, negatives and infinities", async () => {
  const rows = [
    [1, 1, 1, 1, 1, 1],
    [0, -0, 0, 2, 0, 0],
    [-5, -1, -3, -1, -2, -4],
    [-Infinity, 7, Infinity, 7, 7, -0.5],
    [1e-30, -1e-30, 3e38, -3e38, 0, 1e-45],
  ];
  const hx = new Float32Array(rows.flat());
  using x = gpu.upload(hx, [5, 6]);
  for (const k of [1, 2, 3, 5]) {
    using y = topK(gpu, x, k);
    const got = await y.read();
    assertClose(got, topKRef(hx, 6, k), EXACT, `k=${k}`);
  }
});

Deno.test("topKBackward passes the gradient of kept entries only", async () => {
  const hx = randomFloats(7 * 50, 8), hg = randomFloats(7 * 50, 9);
  using x = gpu.upload(hx, [7, 50]);
  using g = gpu.upload(hg, [7, 50]);
  using y = topK(gpu, x, 5);
  using dx = topKBackward(gpu, g, y);
  const kept = topKRef(hx, 50, 5).map((v) => (v !== 0 ? 1 : 0));
  assertClose(await dx.read(), reluBackwardRef(hg, kept), EXACT);
  topKBackward(gpu, g, y, { out: g });
  assertClose(await g.read(), reluBackwardRef(hg, kept), EXACT);
});

Deno.test("topK rejects bad arguments", () => {
  using x = gpu.zeros([4, 3]);
  using v = gpu.zeros([3]);
  assert.throws(() => topK(gpu, x, 4), { name: "RangeError", message: /k = 4 .* 3 columns of x \[4, 3\]/ });
  assert.throws(() => topK(gpu, x, 0), { name: "RangeError", message: /k = 0/ });
  assert.throws(() => topK(gpu, x, 1.5), { name: "TypeError", message: /k must be a finite integer/ });
  assert.throws(() => topK(gpu, v, 1), { name: "RangeError", message: /rank 2, got shape \[3\]/ });
  assert.throws(() => topK(gpu, x, 1, { out: x }), { name: "RangeError", message: /out must not be x/ });
  assert.throws(() => topKBackward(gpu, x, v), { name: "RangeError", message: /gradOut \[4, 3\] and y \[3\]/ });
});
