import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { attention } from "./attention.ts";
import { attentionBackward } from "./attention_backward.ts";
import { attentionRef } from "./attention_ref.ts";
import { attentionBackwardRef } from "./backward_ref.ts";
import { dot, numericGrad } from "./_grad_check.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();

Deno.test("attentionBackwardRef matches finite differences of attentionRef", () => {
  for (const causal of [true, false]) {
    const shape = [2, 4, 3 * 2 * 3]; // B 2, T 4, 2 heads of 3
    const qkv = Float64Array.from(randomFloats(2 * 4 * 18, 3, -1.5, 1.5));
    const dz = Float64Array.from(randomFloats(2 * 4 * 6, 4));
    const f = (p: Float64Array) => dot(attentionRef(p, shape, { heads: 2, causal }).z, dz);
    assertClose(attentionBackwardRef(qkv, dz, { shape, heads: 2, causal }), numericGrad(f, qkv), {
      atol: 1e-8,
      rtol: 1e-6,
    }, `causal ${causal}`);
  }
});

Deno.test("attentionBackward matches the reference", async () => {
  for (
    const [b, t, heads, hs, causal] of [[1, 1, 1, 4, true], [2, 5, 2, 8, true], [1, 33, 4, 32, true], [
      2,
      6,
      3,
      5,
      false,
    ]] as const
  ) {
    const shape = [b, t, 3 * heads * hs];
    const hq = randomFloats(b * t * 3 * heads * hs, t + hs, -2, 2), hdz = randomFloats(b * t * heads * hs, t);
    using qkv = gpu.upload(hq, shape);
    using dz = gpu.upload(hdz, [b, t, heads * hs]);
    using lse = gpu.zeros([b, heads, t]);
    using z = attention(gpu, qkv, { heads, causal, lse });
    using dqkv = attentionBackward(gpu, qkv, dz, { heads, causal, z, lse });
    assertClose(await dqkv.read(), attentionBackwardRef(hq, hdz, { shape, heads, causal }), {
      atol: 1e-5,
      rtol: 1e-3,
    }, `attentionBackward [${shape}] causal ${causal}`);
  }
});

Deno.test("attentionBackward rejects mismatched shapes", () => {
  using qkv = gpu.zeros([1, 2, 12]);
  using dz = gpu.zeros([1, 2, 3]);
  using z = gpu.zeros([1, 2, 4]);
  using lse = gpu.zeros([1, 2, 2]);
  assert.throws(() => attentionBackward(gpu, qkv, dz, { heads: 2, z, lse }), { name: "RangeError", message: /dz/ });
  assert.throws(() => attentionBackward(gpu, qkv, z, { heads: 5, z, lse }), /does not split into 5 heads/);
});
