import { assertClose, createGpu } from "@saelab/gpu";
import { fragmentStats } from "./fragment_stats.ts";
import { fragmentStatsRef } from "./fragment_stats_ref.ts";
import { sparseFloats } from "./_testing.ts";

const gpu = await createGpu();

Deno.test("fragmentStats matches the float64 reference, written at an offset", async () => {
  for (const [frags, len, cols] of [[1, 1, 1], [3, 5, 7], [9, 4, 70]]) {
    const h = sparseFloats(frags * len * cols, frags + cols); // about 30% exact zeros
    using acts = gpu.upload(h, [frags * len, cols]);
    const offset = 2, rows = frags + offset;
    using fmax = gpu.zeros([rows, cols]), fnnz = gpu.zeros([rows, cols]), fsum = gpu.zeros([rows, cols]);
    fragmentStats(gpu, acts, { frags, cols, len, offset, fmax, fnnz, fsum });
    const want = fragmentStatsRef(h, { cols, len });
    const pad = new Float64Array(offset * cols);
    const at = `${frags}×${len}×${cols}`;
    assertClose(await fmax.read(), [...pad, ...want.max], { atol: 0, rtol: 0 }, `max ${at}`);
    assertClose(await fnnz.read(), [...pad, ...want.nonzero], { atol: 0, rtol: 0 }, `non-zero ${at}`);
    assertClose(await fsum.read(), [...pad, ...want.sum], { atol: 1e-5, rtol: 1e-5 }, `sum ${at}`);
  }
});
