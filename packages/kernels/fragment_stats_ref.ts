/**
 * Float64 reference of {@linkcode fragmentStats}.
 *
 * @module
 */

/** Per (fragment, column) statistics, each `[frags, cols]`. */
export interface FragmentStatsRef {
  /** Maxima. */
  max: Float64Array;
  /** Counts of non-zero tokens. */
  nonzero: Float64Array;
  /** Sums. */
  sum: Float64Array;
}

/**
 * Max, non-zero count and sum over each fragment's tokens of `acts [frags · len, cols]`.
 *
 * @param acts The activations, row-major.
 * @param options `cols` and tokens per fragment `len`.
 * @returns The statistics, `[frags, cols]` each.
 * @example
 * ```ts
 * import { fragmentStatsRef } from "./fragment_stats_ref.ts";
 * const s = fragmentStatsRef(new Float32Array([0, 1, 2, 0]), { cols: 1, len: 2 });
 * console.log([...s.max], [...s.nonzero], [...s.sum]); // [1, 2] [1, 1] [1, 2]
 * ```
 */
export function fragmentStatsRef(acts: ArrayLike<number>, options: { cols: number; len: number }): FragmentStatsRef {
  const { cols, len } = options;
  const frags = acts.length / (cols * len);
  const max = new Float64Array(frags * cols).fill(-Infinity);
  const nonzero = new Float64Array(frags * cols), sum = new Float64Array(frags * cols);
  for (let f = 0; f < frags; f++) {
    for (let t = 0; t < len; t++) {
      for (let j = 0; j < cols; j++) {
        const v = acts[(f * len + t) * cols + j];
        const o = f * cols + j;
        max[o] = Math.max(max[o], v);
        if (v !== 0) nonzero[o]++;
        sum[o] += v;
      }
    }
  }
  return { max, nonzero, sum };
}
