import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { jumpReluCodes } from "./sae_batch_threshold.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();

Deno.test("jumpReluCodes keeps p where p > θ of its column (float64 reference) and refuses bad operands", async () => {
  const rows = 7, n = 13;
  const hx = randomFloats(rows * n, 5, -1, 1), ht = randomFloats(n, 6, 0, 0.6);
  ht[3] = hx[3]; // equal to the threshold: not kept
  const want = Float64Array.from(hx, (v, e) => (v > ht[e % n] ? v : 0));
  using x = gpu.upload(hx, [rows, n]);
  using t = gpu.upload(ht, [n]);
  using y = jumpReluCodes(gpu, x, t);
  assertClose(await y.read(), want, { atol: 0, rtol: 0 });
  assert.equal(want[3], 0);
  assert.throws(() => jumpReluCodes(gpu, x, t, { out: x }), /out must not be x/);
  using bad = gpu.zeros([n - 1]);
  assert.throws(() => jumpReluCodes(gpu, x, bad), /threshold \[12\] must hold one value per column of x \[7, 13\]/);
});

Deno.test("jumpReluCodes covers batches of more than 65535 workgroups (4096 × 2048, float64 reference)", async () => {
  const rows = 4096, n = 2048;
  const hx = randomFloats(rows * n, 7, -1, 1), ht = randomFloats(n, 8, 0, 0.6);
  using x = gpu.upload(hx, [rows, n]);
  using t = gpu.upload(ht, [n]);
  using y = jumpReluCodes(gpu, x, t);
  assertClose(await y.read(), Float64Array.from(hx, (v, e) => (v > ht[e % n] ? v : 0)), { atol: 0, rtol: 0 });
});
