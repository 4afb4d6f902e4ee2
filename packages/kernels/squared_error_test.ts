import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { squaredError } from "./squared_error.ts";
import { squaredErrorRef } from "./squared_error_ref.ts";
import { AWKWARD_2D, randomFloats } from "./_testing.ts";

const gpu = await createGpu();

Deno.test("squaredError matches the reference on awkward shapes", async () => {
  for (const [r, c] of [...AWKWARD_2D, [300, 257]] as [number, number][]) {
    const hp = randomFloats(r * c, r * 5 + c), ht = randomFloats(r * c, r + 3 * c);
    using pred = gpu.upload(hp, [r, c]);
    using target = gpu.upload(ht, [r, c]);
    const { loss, grad } = squaredError(gpu, pred, target);
    const ref = squaredErrorRef(hp, ht);
    assert.deepEqual(loss.shape, [1]);
    assertClose(await loss.read(), [ref.loss], { atol: 1e-7, rtol: 1e-5 }, `loss ${r}x${c}`);
    assertClose(await grad.read(), ref.grad, { atol: 1e-9, rtol: 1e-6 }, `grad ${r}x${c}`);
    loss.dispose();
    grad.dispose();
  }
});

Deno.test("squaredError reuses outputs and may overwrite pred with the gradient", async () => {
  const hp = randomFloats(1000, 1), ht = randomFloats(1000, 2);
  using pred = gpu.upload(hp, [10, 100]);
  using target = gpu.upload(ht, [10, 100]);
  using loss = gpu.zeros([1]);
  const ref = squaredErrorRef(hp, ht);
  const r = squaredError(gpu, pred, target, { loss, grad: pred });
  assert.equal(r.loss, loss);
  assert.equal(r.grad, pred);
  assertClose(await loss.read(), [ref.loss], { atol: 1e-7, rtol: 1e-5 });
  assertClose(await pred.read(), ref.grad, { atol: 1e-9, rtol: 1e-6 });
});

Deno.test("squaredError rejects bad arguments", () => {
  using a = gpu.zeros([4, 3]);
  using b = gpu.zeros([3, 4]);
  using e = gpu.zeros([0, 3]);
  assert.throws(() => squaredError(gpu, a, b), { name: "RangeError", message: /pred \[4, 3\] and target \[3, 4\]/ });
  assert.throws(() => squaredError(gpu, a, a, { loss: b }), { name: "RangeError", message: /loss has shape \[3, 4\]/ });
  assert.throws(() => squaredError(gpu, e, e), { name: "RangeError", message: /empty/ });
  assert.throws(() => squaredError(gpu, a, b.reshape([4, 3]), { grad: b }), { name: "RangeError", message: /grad/ });
});
