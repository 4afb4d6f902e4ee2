import { assertClose, createGpu } from "@saelab/gpu";
import { gatherCols, gatherPairs } from "./gather.ts";
import { gatherColsRef, gatherPairsRef } from "./gather_ref.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();

Deno.test("gatherCols picks columns in the given order, repeats allowed", async () => {
  const rows = 37, width = 11, cols = new Uint32Array([10, 0, 3, 3, 7]);
  const h = randomFloats(rows * width, 4);
  using acts = gpu.upload(h, [rows, width]);
  using colsT = gpu.upload(cols, [cols.length]);
  using out = gpu.zeros([rows, cols.length]);
  gatherCols(gpu, acts, { rows, width, cols: colsT, selected: cols.length, out });
  assertClose(await out.read(), gatherColsRef(h, { width, cols }), { atol: 0, rtol: 0 });
});

Deno.test("gatherPairs copies each triple's tokens into its slot", async () => {
  const frags = 6, len = 9, width = 5, slots = 4;
  const h = randomFloats(frags * len * width, 5);
  const pairs = new Uint32Array([5, 4, 2, 0, 0, 0, 3, 2, 3]); // slot 1 stays empty
  using acts = gpu.upload(h, [frags * len, width]);
  using pairsT = gpu.upload(pairs, [pairs.length]);
  using out = gpu.zeros([slots, len]);
  gatherPairs(gpu, acts, { pairs: pairsT, count: pairs.length / 3, len, width, out });
  assertClose(await out.read(), gatherPairsRef(h, { pairs, len, width, slots }), { atol: 0, rtol: 0 });
});
