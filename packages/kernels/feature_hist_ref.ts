/**
 * Float64 reference of {@linkcode featureHist}.
 *
 * @module
 */
import { HIST_BINS } from "./feature_hist.ts";

/**
 * Histograms `[S, 32]` of the positive values of each column of `acts [rows, S]`, bins over
 * `[0, top[s]]` (the maximum in the last bin; with `top[s] ≤ 0` every positive value counts in bin 0).
 *
 * @param acts The activations, row-major.
 * @param top Each column's maximum.
 * @returns The counts.
 * @example
 * ```ts
 * import { featureHistRef } from "./feature_hist_ref.ts";
 * const h = featureHistRef(new Float32Array([0, 0.5, 1]), new Float32Array([1]));
 * console.log(h[16], h[31]); // 1 1
 * ```
 */
export function featureHistRef(acts: ArrayLike<number>, top: ArrayLike<number>): Uint32Array {
  const s = top.length, rows = acts.length / s;
  const hist = new Uint32Array(s * HIST_BINS);
  for (let j = 0; j < s; j++) {
    const scale = top[j] > 0 ? HIST_BINS / top[j] : 0;
    for (let r = 0; r < rows; r++) {
      const v = acts[r * s + j];
      if (v > 0) hist[j * HIST_BINS + Math.min(Math.floor(v * scale), HIST_BINS - 1)]++;
    }
  }
  return hist;
}
