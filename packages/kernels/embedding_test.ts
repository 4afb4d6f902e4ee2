import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { embedding } from "./embedding.ts";
import { embeddingRef } from "./embedding_ref.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();
const EXACT = { atol: 0, rtol: 0 };

Deno.test("embedding gathers rows; ids outside the table give zeros", async () => {
  for (const [vocab, width, b, t] of [[1, 1, 1, 1], [7, 3, 2, 5], [50, 65, 3, 17], [1000, 4, 1, 300]]) {
    const table = randomFloats(vocab * width, vocab + width);
    const ids = Int32Array.from({ length: b * t }, (_, i) => (i * 7919) % vocab);
    ids[0] = -1;
    if (ids.length > 1) ids[ids.length - 1] = vocab;
    using tab = gpu.upload(table, [vocab, width]);
    using gi = gpu.upload(ids, [b, t]);
    using y = embedding(gpu, gi, tab);
    assert.deepEqual(y.shape, [b, t, width]);
    assertClose(await y.read(), embeddingRef(ids, table, width), EXACT, `embedding V ${vocab} D ${width}`);
    using gu = gpu.upload(Uint32Array.from(ids.slice(1, -1)), [Math.max(0, ids.length - 2)]);
    using yu = embedding(gpu, gu, tab);
    assertClose(await yu.read(), embeddingRef(ids.slice(1, -1), table, width), EXACT, "u32 ids");
  }
});

Deno.test("embedding fills one output from a table split in parts", async () => {
  const vocab = 10, width = 3, split = 6;
  const table = randomFloats(vocab * width, 5);
  const ids = Int32Array.from([9, 0, 5, 6, 3, 7]);
  using lo = gpu.upload(table.slice(0, split * width), [split, width]);
  using hi = gpu.upload(table.slice(split * width), [vocab - split, width]);
  using gi = gpu.upload(ids, [2, 3]);
  using y = embedding(gpu, gi, lo);
  embedding(gpu, gi, hi, { out: y, firstRow: split });
  assertClose(await y.read(), embeddingRef(ids, table, width), EXACT);
});

Deno.test("embedding rejects bad arguments", () => {
  using tab = gpu.zeros([4, 2]);
  using f = gpu.zeros([3]);
  using ids = gpu.zeros([3], "i32");
  assert.throws(() => embedding(gpu, f as never, tab), { name: "TypeError", message: /ids \[3\] has dtype f32/ });
  using flat = gpu.zeros([8]);
  assert.throws(() => embedding(gpu, ids, flat), { name: "RangeError", message: /table must have rank 2/ });
  using out = gpu.zeros([3, 3]);
  assert.throws(() => embedding(gpu, ids, tab, { out }), /out has shape \[3, 3\], expected \[3, 2\]/);
  assert.throws(() => embedding(gpu, ids, tab, { firstRow: -1 }), /firstRow -1/);
});
