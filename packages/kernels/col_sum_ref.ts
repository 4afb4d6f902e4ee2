/**
 * CPU reference of column and full sums.
 *
 * @module
 */

/**
 * `scale · Σ_i x[i, j]` for a row-major matrix `[rows, cols]`, in float64
 * (a full sum is `cols = 1`).
 *
 * @param x Values, row-major.
 * @param cols Number of columns.
 * @param scale Factor. Default 1.
 * @returns The column sums.
 * @example
 * ```ts
 * import { colSumRef } from "./col_sum_ref.ts";
 * console.log(colSumRef([1, 2, 3, 4, 5, 6], 3)); // [5, 7, 9]
 * ```
 */
export function colSumRef(x: ArrayLike<number>, cols: number, scale = 1): Float64Array {
  const out = new Float64Array(cols);
  for (let i = 0; i < x.length; i++) out[i % cols] += x[i];
  for (let j = 0; j < cols; j++) out[j] *= scale;
  return out;
}
