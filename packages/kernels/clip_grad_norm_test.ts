import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { clipGradNorm } from "./clip_grad_norm.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();

Deno.test("clipGradNorm scales by min(1, maxNorm / norm) over all tensors", async () => {
  const parts = [randomFloats(1, 1), randomFloats(1000, 2), randomFloats(37, 3)];
  const norm = Math.sqrt(parts.flat().reduce((s, p) => s + [...p].reduce((a, v) => a + v * v, 0), 0));
  for (const maxNorm of [norm / 4, norm * 2]) {
    const grads = parts.map((p, i) => gpu.upload(p, [p.length], `g${i}`));
    using stats = clipGradNorm(gpu, grads, { maxNorm });
    const factor = Math.min(1, maxNorm / (norm + 1e-6));
    assertClose(await stats.read(), [norm, factor], { atol: 1e-5, rtol: 1e-5 }, "stats");
    for (const [i, g] of grads.entries()) {
      assertClose(await g.read(), parts[i].map((v) => v * factor), { atol: 1e-6, rtol: 1e-5 }, `grad ${i}`);
      g.dispose();
    }
  }
});

Deno.test("clipGradNorm rejects no gradients, repeats and a bad maxNorm", () => {
  using g = gpu.zeros([3]);
  assert.throws(() => clipGradNorm(gpu, [], { maxNorm: 1 }), { name: "RangeError", message: /no gradients/ });
  assert.throws(() => clipGradNorm(gpu, [g, g], { maxNorm: 1 }), /appears twice/);
  assert.throws(() => clipGradNorm(gpu, [g], { maxNorm: 0 }), /maxNorm 0 must be > 0/);
});
