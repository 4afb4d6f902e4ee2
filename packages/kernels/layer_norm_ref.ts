/**
 * CPU reference of LayerNorm (float64).
 *
 * @module
 */

/**
 * LayerNorm of each row of a row-major `[rows, width]` array over its last dimension.
 *
 * @param x Input values.
 * @param width Length of a row.
 * @param options `weight`, `bias` (length `width`) and `eps` (default 1e-5).
 * @returns The normalised values.
 * @example
 * ```ts
 * import { layerNormRef } from "./layer_norm_ref.ts";
 * console.log(layerNormRef([1, 3], 2, { weight: [1, 1], bias: [0, 0], eps: 0 })); // Float64Array [-1, 1]
 * ```
 */
export function layerNormRef(
  x: ArrayLike<number>,
  width: number,
  options: { weight: ArrayLike<number>; bias: ArrayLike<number>; eps?: number },
): Float64Array {
  const eps = options.eps ?? 1e-5;
  const y = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += width) {
    const { mean, rstd } = rowMoments(x, { offset: o, width, eps });
    for (let i = 0; i < width; i++) y[o + i] = (x[o + i] - mean) * rstd * options.weight[i] + options.bias[i];
  }
  return y;
}

/**
 * Mean and reciprocal standard deviation `1/√(var + eps)` of one row, in two passes (float64):
 * the statistics LayerNorm and its backward pass normalise with.
 *
 * @param x Row-major values.
 * @param row `offset` of the row's first entry, its `width` and `eps`.
 * @returns `mean` and `rstd`.
 * @example
 * ```ts
 * import { rowMoments } from "./layer_norm_ref.ts";
 * console.log(rowMoments([1, 3], { offset: 0, width: 2, eps: 0 })); // { mean: 2, rstd: 1 }
 * ```
 */
export function rowMoments(
  x: ArrayLike<number>,
  row: { offset: number; width: number; eps: number },
): { mean: number; rstd: number } {
  const { offset: o, width, eps } = row;
  let mean = 0;
  for (let i = 0; i < width; i++) mean += x[o + i];
  mean /= width;
  let v = 0;
  for (let i = 0; i < width; i++) v += (x[o + i] - mean) ** 2;
  return { mean, rstd: 1 / Math.sqrt(v / width + eps) };
}
