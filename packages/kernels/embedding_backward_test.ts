import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { embeddingBackward, groupIds } from "./embedding_backward.ts";
import { embeddingBackwardRef } from "./backward_ref.ts";
import { embeddingRef } from "./embedding_ref.ts";
import { dot, numericGrad } from "./_grad_check.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();

Deno.test("embeddingBackwardRef matches finite differences of embeddingRef", () => {
  const ids = [2, 0, 2, 3], width = 3;
  const table = Float64Array.from(randomFloats(4 * width, 1)), dy = Float64Array.from(randomFloats(4 * width, 2));
  assertClose(
    embeddingBackwardRef(ids, dy, { vocab: 4, width }),
    numericGrad((p) => dot(embeddingRef(ids, p, width), dy), table),
    { atol: 1e-8, rtol: 1e-6 },
  );
});

Deno.test("groupIds sorts positions stably by id and rejects ids outside the table", () => {
  const g = groupIds([3, 1, 3, 0, 1], 5);
  assert.deepEqual([...g.order], [3, 1, 4, 0, 2]);
  assert.deepEqual([...g.offsets], [0, 1, 3, 3, 5, 5]);
  assert.throws(() => groupIds([0, 5], 5), { name: "RangeError", message: /id 5 at position 1/ });
});

Deno.test("embeddingBackward matches the reference and accumulates", async () => {
  for (const [n, vocab, width] of [[1, 1, 1], [20, 7, 5], [512, 300, 64]]) {
    const ids = Int32Array.from({ length: n }, (_, i) => (i * i + 3 * i) % vocab);
    const hdy = randomFloats(n * width, n + width);
    const g = groupIds(ids, vocab);
    using order = gpu.upload(g.order, [n]);
    using offsets = gpu.upload(g.offsets, [vocab + 1]);
    using dy = gpu.upload(hdy, [n, width]);
    const ref = embeddingBackwardRef(ids, hdy, { vocab, width });
    using out = embeddingBackward(gpu, dy, vocab, { order, offsets });
    assertClose(await out.read(), ref, { atol: 1e-5, rtol: 1e-5 }, `[${n}, ${vocab}, ${width}]`);
    embeddingBackward(gpu, dy, vocab, { order, offsets, out, accumulate: true });
    assertClose(await out.read(), ref.map((v) => 2 * v), { atol: 1e-5, rtol: 1e-5 }, "accumulated");
  }
});

Deno.test("embeddingBackward rejects groups that do not fit", () => {
  using dy = gpu.zeros([3, 2]);
  using order = gpu.upload(new Int32Array(2), [2]);
  using offsets = gpu.upload(new Int32Array(4), [4]);
  assert.throws(() => embeddingBackward(gpu, dy, 3, { order, offsets }), { name: "RangeError", message: /3 and 4/ });
});
