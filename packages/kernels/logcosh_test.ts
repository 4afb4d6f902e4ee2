import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { logcosh } from "./logcosh.ts";
import { logcoshRef } from "./logcosh_ref.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();

Deno.test("logcosh matches tanh and its derivative, saturating without NaN for large inputs", async () => {
  const h = randomFloats(1000, 6, -4, 4);
  h[0] = 1e6;
  h[1] = -1e6;
  using y = gpu.upload(h, [10, 100]);
  using g = gpu.zeros([10, 100]), gp = gpu.zeros([10, 100]);
  logcosh(gpu, y, { alpha: 1.5, g, gp });
  const want = logcoshRef(h, 1.5);
  assertClose(await g.read(), want.g, { atol: 1e-5, rtol: 1e-4 }, "g");
  assertClose(await gp.read(), want.gp, { atol: 1e-5, rtol: 1e-4 }, "gp");
  using short = gpu.zeros([3]);
  assert.throws(() => logcosh(gpu, y, { alpha: 1, g: short, gp }), RangeError);
});
