/**
 * Per (fragment, feature) statistics of fragment activations, so that only small results leave
 * the GPU: the maximum, the count of non-zero tokens and the sum over each fragment's tokens.
 *
 * Bindings: `acts [frags · len, cols]` (read), `fmax`, `fnnz`, `fsum` (each `[fragments, cols]`,
 * written at rows `offset …`), uniforms `{ n, cols, len, offset }`. One invocation per
 * (fragment, column) pair, workgroup size 64 over a 2-D grid.
 *
 * @module
 */
import type { Binding, Gpu } from "@saelab/gpu";
import { dispatchLinear, Uniforms } from "./_util.ts";
import { perItemProgram } from "./_wgsl.ts";

const WG = 64;

const STATS = perItemProgram({
  name: "fragment_stats",
  wg: WG,
  buffers: [
    ["acts", "read", "f32"],
    ["fmax", "read_write", "f32"],
    ["fnnz", "read_write", "f32"],
    ["fsum", "read_write", "f32"],
  ],
  uniforms: "cols: u32, len: u32, offset: u32",
  body: `let f = i / u.cols;
  let j = i % u.cols;
  var m = acts[f * u.len * u.cols + j];
  var c = 0.0;
  var s = 0.0;
  for (var t = 0u; t < u.len; t++) {
    let v = acts[(f * u.len + t) * u.cols + j];
    m = max(m, v);
    c += select(0.0, 1.0, v != 0.0);
    s += v;
  }
  let o = (u.offset + f) * u.cols + j;
  fmax[o] = m;
  fnnz[o] = c;
  fsum[o] = s;`,
});

/** Options of {@linkcode fragmentStats}. */
export interface FragmentStatsOptions {
  /** Fragments in `acts`. */
  frags: number;
  /** Columns (features) of `acts`. */
  cols: number;
  /** Tokens per fragment. */
  len: number;
  /** First output row written. */
  offset: number;
  /** Maxima, `[fragments, cols]`. */
  fmax: Binding;
  /** Counts of non-zero tokens, `[fragments, cols]`. */
  fnnz: Binding;
  /** Sums, `[fragments, cols]`. */
  fsum: Binding;
}

/**
 * Per (fragment, column) max, non-zero count and sum of `acts [frags · len, cols]`, written at rows
 * `offset …` of `fmax`, `fnnz`, `fsum` (each `[fragments, cols]`).
 *
 * @param gpu The GPU context.
 * @param acts The activations, `[frags · len, cols]`.
 * @param options Sizes, the output offset and the outputs.
 * @returns Nothing; the outputs are written in queue order.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { fragmentStats } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const acts = gpu.upload(new Float32Array([0, 1, 2, 0]), [4, 1]); // two fragments of two tokens
 * const [fmax, fnnz, fsum] = [gpu.zeros([2, 1]), gpu.zeros([2, 1]), gpu.zeros([2, 1])];
 * fragmentStats(gpu, acts, { frags: 2, cols: 1, len: 2, offset: 0, fmax, fnnz, fsum });
 * console.log(await fmax.read(), await fnnz.read()); // [1, 2] [1, 1]
 * ```
 */
export function fragmentStats(gpu: Gpu, acts: Binding, options: FragmentStatsOptions): void {
  const o = options;
  const count = o.frags * o.cols;
  if (count === 0) return;
  dispatchLinear(gpu, STATS, {
    bindings: [acts, o.fmax, o.fnnz, o.fsum],
    uniforms: new Uniforms().u32(count).u32(o.cols).u32(o.len).u32(o.offset),
    count,
    wg: WG,
  });
}
