import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { FMA_WORKGROUP, FMA_X, FMA_Y, fmaDispatch, fmaFlops, fmaProgram, fmaReference } from "./_fma_ceiling.ts";

const gpu = await createGpu();

Deno.test("the multiply-add ceiling kernel does every multiply-add it counts, at every unroll", async () => {
  const iterations = 32, workgroups = 2, n = workgroups * FMA_WORKGROUP;
  const want = Float32Array.from({ length: n }, (_, g) => fmaReference(g, iterations, FMA_X, FMA_Y));
  for (const unroll of [1, 4, 32]) {
    using out = gpu.zeros([n]);
    fmaDispatch(gpu, out.buffer, { unroll, iterations, workgroups });
    // float32 chains of 32 steps against float64: a few ulps of the sum of 64 terms
    assertClose(await out.read(), want, { atol: 1e-5, rtol: 1e-5 }, `unroll ${unroll}`);
  }
  // one step fewer is visibly another value: the comparison can fail
  const fewer = fmaReference(0, iterations - 1, FMA_X, FMA_Y);
  assert.ok(Math.abs(fewer - want[0]) > 5e-3 * Math.abs(want[0]));
  assert.equal(fmaFlops({ iterations, workgroups }), 2 * 4 * 16 * iterations * n);
});

Deno.test("the ceiling kernel refuses an unroll that does not divide its iterations", () => {
  assert.throws(() => fmaProgram(3, 32), /32 iterations is not a multiple of 3/);
});
