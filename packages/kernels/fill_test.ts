import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { copy, fill } from "./fill.ts";
import { grid, MAX_GROUPS_X } from "./_util.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();

Deno.test("grid spreads workgroups over two dimensions past 65535", () => {
  assert.deepEqual(grid(0), [0, 1]);
  assert.deepEqual(grid(1), [1, 1]);
  assert.deepEqual(grid(MAX_GROUPS_X), [MAX_GROUPS_X, 1]);
  assert.deepEqual(grid(MAX_GROUPS_X + 1), [MAX_GROUPS_X, 2]);
  assert.deepEqual(grid(10, 3), [3, 4]);
});

Deno.test("fill writes every element of every dtype", async () => {
  using f = fill(gpu, gpu.empty([3, 7]), -1.25);
  assert.deepEqual([...await f.read()], new Array(21).fill(-1.25));
  using i = fill(gpu, gpu.empty([5], "i32"), -7);
  assert.deepEqual([...await i.read()], [-7, -7, -7, -7, -7]);
  using u = fill(gpu, gpu.empty([1], "u32"), 2 ** 32 - 1);
  assert.deepEqual([...await u.read()], [2 ** 32 - 1]);
  using inf = fill(gpu, gpu.empty([2]), -Infinity);
  assert.deepEqual([...await inf.read()], [-Infinity, -Infinity]);
});

Deno.test("fill covers a tensor needing more than 65535 workgroups (2-D dispatch)", async () => {
  const n = MAX_GROUPS_X * 64 + 77; // workgroup size 64
  using x = gpu.zeros([n]);
  fill(gpu, x, 3);
  const h = await x.read();
  let bad = -1;
  for (let k = 0; k < n && bad < 0; k++) if (h[k] !== 3) bad = k;
  assert.equal(bad, -1, `element ${bad} of ${n} was not filled`);
});

Deno.test("copy duplicates a tensor, ordered with kernels", async () => {
  const h = randomFloats(1001, 5);
  using x = gpu.upload(h, [7, 143]);
  using y = copy(gpu, x);
  fill(gpu, x, 0); // recorded after the copy
  assert.deepEqual(y.shape, [7, 143]);
  assert.deepEqual(await y.read(), h);
  using z = gpu.zeros([7, 143], "f32");
  assert.equal(copy(gpu, y, { out: z }), z);
  assert.deepEqual(await z.read(), h);
  assert.equal(copy(gpu, z, { out: z }), z);
});

Deno.test("fill and copy reject bad arguments", () => {
  using i = gpu.zeros([3], "i32");
  using f = gpu.zeros([3]);
  using g = gpu.zeros([4]);
  assert.throws(() => fill(gpu, i, 0.5), { name: "TypeError", message: /integer/ });
  assert.throws(() => fill(gpu, i, 2 ** 31), { name: "RangeError", message: /outside i32/ });
  assert.throws(() => copy(gpu, f, { out: i as never }), { name: "TypeError", message: /dtype i32, expected f32/ });
  assert.throws(() => copy(gpu, f, { out: g }), { name: "RangeError", message: /\[4\], expected \[3\]/ });
});
