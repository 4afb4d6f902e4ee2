import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { NO_ID, rowExtremes } from "./row_extremes.ts";
import { rowExtremesRef } from "./row_extremes_ref.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

/** Run the kernel and compare every row with the float64 reference. */
async function check(hx: Float32Array, shape: [number, number], o: { k: number; bins: number }, what: string) {
  const [rows, cols] = shape;
  using x = gpu.upload(hx, shape);
  const r = rowExtremes(gpu, x, o);
  const [vals, ids, range, hist] = await Promise.all([r.vals.read(), r.ids.read(), r.range.read(), r.hist.read()]);
  for (const t of [r.vals, r.ids, r.range, r.hist]) t.dispose();
  for (let i = 0; i < rows; i++) {
    const row = hx.subarray(i * cols, (i + 1) * cols);
    const ref = rowExtremesRef(row, o);
    const at = `${what} row ${i}`;
    for (const [s, list] of [[0, ref.positive], [o.k, ref.negative]] as const) {
      for (let j = 0; j < o.k; j++) {
        const slot = i * 2 * o.k + s + j;
        // the inputs are float32 on both sides, so the lists agree exactly
        assert.equal(ids[slot], list[j]?.[0] ?? NO_ID, `${at} slot ${s + j} id`);
        assert.equal(vals[slot], list[j]?.[1] ?? 0, `${at} slot ${s + j} value`);
      }
    }
    // (-0 and +0 are the same minimum)
    assert.deepEqual([range[2 * i] + 0, range[2 * i + 1] + 0], ref.range.map((v) => v + 0), `${at} range`);
    // float32 binning may move a value that lies within 1e-5 of a bin edge into the neighbouring bin
    const [lo, hi] = ref.range, top = hi > lo ? hi : lo + 1;
    let nearEdge = 0;
    for (const v of row) {
      const pos = ((v - lo) / (top - lo)) * o.bins;
      if (Math.abs(pos - Math.round(pos)) < 1e-5 * o.bins && Math.round(pos) > 0 && Math.round(pos) < o.bins) {
        nearEdge++;
      }
    }
    const got = Array.from(hist.subarray(i * o.bins, (i + 1) * o.bins));
    assert.equal(got.reduce((a, b) => a + b, 0), cols, `${at} histogram total`);
    const moved = got.reduce((a, c, b) => a + Math.abs(c - ref.hist[b]), 0) / 2;
    assert.ok(moved <= nearEdge, `${at}: ${moved} values binned differently, ${nearEdge} near an edge`);
  }
}

Deno.test("rowExtremes matches the float64 reference on random rows", async () => {
  for (const [rows, cols, k, bins] of [[1, 1, 1, 1], [3, 7, 5, 4], [70, 301, 10, 32], [5, 5000, 32, 64]]) {
    await check(randomFloats(rows * cols, rows + cols, -2, 3), [rows, cols], { k, bins }, `${rows}x${cols} k=${k}`);
  }
});

Deno.test("rowExtremes keeps ties in column order and leaves empty slots for missing signs", async () => {
  const rows = [
    [1, 1, 1, 1, 1, 1], // constant: six ties, no negatives, histogram over [1, 2]
    [0, -0, 0, 2, 0, 0], // zeros belong to neither list
    [-5, -1, -3, -1, -2, -4], // no positives
    [2, -2, 2, -2, 7, -7],
  ];
  await check(new Float32Array(rows.flat()), [4, 6], { k: 3, bins: 3 }, "ties");
});

Deno.test("rowExtremes rejects bad arguments", () => {
  using x = gpu.zeros([4, 3]);
  using v = gpu.zeros([3]);
  assert.throws(() => rowExtremes(gpu, x, { k: 0, bins: 4 }), { name: "RangeError", message: /k = 0/ });
  assert.throws(() => rowExtremes(gpu, x, { k: 33, bins: 4 }), { name: "RangeError", message: /k = 33/ });
  assert.throws(() => rowExtremes(gpu, x, { k: 2, bins: 65 }), { name: "RangeError", message: /bins = 65/ });
  assert.throws(() => rowExtremes(gpu, x, { k: 1.5, bins: 4 }), { name: "TypeError", message: /k must be/ });
  assert.throws(() => rowExtremes(gpu, v, { k: 1, bins: 4 }), { name: "RangeError", message: /rank 2/ });
});
