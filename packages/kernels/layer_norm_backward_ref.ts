/**
 * CPU reference of the LayerNorm backward pass (float64).
 *
 * @module
 */
import { rowMoments } from "./layer_norm_ref.ts";

/**
 * Gradients of LayerNorm over rows of a row-major `[rows, width]` array.
 *
 * @param x Forward input.
 * @param dy Output gradient.
 * @param options `width`, `weight`, `eps` (default 1e-5).
 * @returns `dx`, `dweight`, `dbias`.
 * @example
 * ```ts
 * import { layerNormBackwardRef } from "./layer_norm_backward_ref.ts";
 * console.log(layerNormBackwardRef([1, 3], [1, 1], { width: 2, weight: [1, 1] }).dbias); // Float64Array [1, 1]
 * ```
 */
export function layerNormBackwardRef(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  options: { width: number; weight: ArrayLike<number>; eps?: number },
): { dx: Float64Array; dweight: Float64Array; dbias: Float64Array } {
  const { width, weight } = options;
  const eps = options.eps ?? 1e-5;
  const dx = new Float64Array(x.length), dweight = new Float64Array(width), dbias = new Float64Array(width);
  const xh = new Float64Array(width);
  for (let o = 0; o < x.length; o += width) {
    const { mean, rstd } = rowMoments(x, { offset: o, width, eps });
    let mg = 0, mgx = 0;
    for (let i = 0; i < width; i++) {
      xh[i] = (x[o + i] - mean) * rstd;
      const g = dy[o + i] * weight[i];
      mg += g / width;
      mgx += (g * xh[i]) / width;
      dweight[i] += dy[o + i] * xh[i];
      dbias[i] += dy[o + i];
    }
    for (let i = 0; i < width; i++) dx[o + i] = rstd * (dy[o + i] * weight[i] - mg - xh[i] * mgx);
  }
  return { dx, dweight, dbias };
}
