import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { attention } from "./attention.ts";
import { attentionRef } from "./attention_ref.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();
const TOL = { atol: 2e-5, rtol: 1e-4 };

const CASES: { shape: number[]; heads: number; causal?: boolean; scale?: number; spread?: number }[] = [
  { shape: [1, 1, 3], heads: 1 },
  { shape: [2, 5, 12], heads: 2 },
  { shape: [3, 17, 48], heads: 4, causal: false },
  { shape: [1, 70, 30], heads: 1, spread: 4 }, // head size 10, peaked softmax
  { shape: [2, 9, 3 * 3 * 24], heads: 3, scale: 0.3 },
  { shape: [1, 6, 3 * 256], heads: 1 }, // largest head size
  { shape: [1, 4, 3 * 2 * 33], heads: 2 }, // head size between buckets
];

Deno.test("attention matches the reference (causal and not, odd sizes)", async () => {
  for (const { shape, spread = 1, ...options } of CASES) {
    const n = shape.reduce((a, b) => a * b, 1);
    const hx = randomFloats(n, n + shape[2], -spread, spread);
    const want = attentionRef(hx, shape, options);
    using qkv = gpu.upload(hx, shape);
    using lse = gpu.empty([shape[0], options.heads, shape[1]]);
    using z = attention(gpu, qkv, { ...options, lse });
    assert.deepEqual(z.shape, [shape[0], shape[1], shape[2] / 3]);
    assertClose(await z.read(), want.z, TOL, `attention [${shape}] ${JSON.stringify(options)}`);
    assertClose(await lse.read(), want.lse, TOL, `lse [${shape}]`);
  }
});

Deno.test("attention rejects bad arguments", () => {
  using qkv = gpu.zeros([1, 2, 12]);
  assert.throws(() => attention(gpu, qkv, { heads: 3 }), {
    name: "RangeError",
    message: /does not split into 3 heads/,
  });
  using big = gpu.zeros([1, 1, 3 * 300]);
  assert.throws(() => attention(gpu, big, { heads: 1 }), /head size 300 exceeds/);
  using out = gpu.zeros([1, 2, 5]);
  assert.throws(() => attention(gpu, qkv, { heads: 1, out }), /out has shape \[1, 2, 5\], expected \[1, 2, 4\]/);
  using flat = gpu.zeros([12]);
  assert.throws(() => attention(gpu, flat, { heads: 1 }), /rank 3/);
});
