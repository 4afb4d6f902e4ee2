/**
 * CPU reference of the broadcast bias add.
 *
 * @module
 */

/**
 * `x[i, j] + b[j]` for a row-major matrix `x` with `b.length` columns, in float64.
 *
 * @param x Matrix, row-major.
 * @param b Bias row.
 * @returns The sum.
 * @example
 * ```ts
 * import { addBiasRef } from "./add_bias_ref.ts";
 * console.log(addBiasRef([1, 2, 3, 4], [10, 20])); // [11, 22, 13, 24]
 * ```
 */
export function addBiasRef(x: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => v + b[i % b.length]);
}
