import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { featureHist, HIST_BINS } from "./feature_hist.ts";
import { featureHistRef } from "./feature_hist_ref.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();

Deno.test("featureHist counts positive values per bin and adds into hist; a feature that never fired has no counts", async () => {
  const rows = 300, s = 5;
  const h = randomFloats(rows * s, 3, -0.5, 1);
  const top = new Float32Array(s);
  for (let r = 0; r < rows; r++) for (let j = 0; j < s; j++) top[j] = Math.max(top[j], h[r * s + j]);
  for (let r = 0; r < rows; r++) h[r * s + 3] = -Math.abs(h[r * s + 3]); // never fires
  top[3] = 0;
  using acts = gpu.upload(h, [rows, s]);
  using topT = gpu.upload(top, [s]);
  using hist = gpu.upload(new Uint32Array(s * HIST_BINS).fill(1), [s, HIST_BINS]);
  featureHist(gpu, acts, { rows, selected: s, top: topT, hist });
  const want = featureHistRef(h, top).map((c) => c + 1);
  assert.deepEqual([...await hist.read()], [...want]);
  const positives = h.filter((v, i) => v > 0 && i % s === 0).length;
  assert.equal(want.slice(0, HIST_BINS).reduce((a, b) => a + b, 0) - HIST_BINS, positives);
});
