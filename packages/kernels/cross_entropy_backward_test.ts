import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { crossEntropy } from "./cross_entropy.ts";
import { crossEntropyBackward } from "./cross_entropy_backward.ts";
import { crossEntropyRef } from "./cross_entropy_ref.ts";
import { crossEntropyBackwardRef } from "./backward_ref.ts";
import { numericGrad } from "./_grad_check.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();

Deno.test("crossEntropyBackwardRef matches finite differences of the mean loss", () => {
  const vocab = 5, targets = [3, -1, 0];
  const logits = Float64Array.from(randomFloats(15, 1, -3, 3));
  const mean = (p: Float64Array) => crossEntropyRef(p, targets, vocab).loss.reduce((a, b) => a + b, 0) / 2;
  assertClose(crossEntropyBackwardRef(logits, targets, { vocab, scale: 0.5 }), numericGrad(mean, logits), {
    atol: 1e-8,
    rtol: 1e-6,
  });
});

Deno.test("crossEntropyBackward matches the reference, also in place", async () => {
  for (const [rows, vocab] of [[1, 1], [4, 7], [9, 1000]]) {
    const hl = randomFloats(rows * vocab, rows + vocab, -10, 10);
    const ht = Int32Array.from({ length: rows }, (_, i) => (i % 3 === 2 ? -1 : (i * 7) % vocab));
    const ref = crossEntropyBackwardRef(hl, ht, { vocab, scale: 1 / rows });
    using logits = gpu.upload(hl, [rows, vocab]);
    using targets = gpu.upload(ht, [rows]);
    using lse = gpu.zeros([rows]);
    crossEntropy(gpu, logits, targets, { lse }).dispose();
    using d = crossEntropyBackward(gpu, logits, targets, { lse, scale: 1 / rows });
    assertClose(await d.read(), ref, { atol: 1e-6, rtol: 1e-4 }, `[${rows}, ${vocab}]`);
    crossEntropyBackward(gpu, logits, targets, { lse, scale: 1 / rows, out: logits });
    assertClose(await logits.read(), ref, { atol: 1e-6, rtol: 1e-4 }, `in place [${rows}, ${vocab}]`);
  }
});

Deno.test("crossEntropyBackward rejects mismatched targets and lse", () => {
  using logits = gpu.zeros([2, 3]);
  using targets = gpu.upload(new Int32Array([0, 1, 2]), [3]);
  using t2 = gpu.upload(new Int32Array([0, 1]), [2]);
  using lse = gpu.zeros([3]);
  assert.throws(() => crossEntropyBackward(gpu, logits, targets, { lse, scale: 1 }), /one id per row/);
  assert.throws(() => crossEntropyBackward(gpu, logits, t2, { lse, scale: 1 }), /lse \[3\] must have 2 entries/);
});
