/**
 * CPU reference of the elementwise arithmetic kernels.
 *
 * @module
 */

/**
 * `alpha·a + beta·b`, or `a·b` with `op: "mul"`, in float64.
 *
 * @param a First operand.
 * @param b Second operand (ignored by `beta = 0`).
 * @param options Coefficients or the product.
 * @returns The result.
 * @example
 * ```ts
 * import { arithRef } from "./arith_ref.ts";
 * console.log(arithRef([1, 2], [3, 4], { alpha: 2, beta: -1 })); // [-1, 0]
 * ```
 */
export function arithRef(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: { alpha?: number; beta?: number; op?: "linear" | "mul" } = {},
): Float64Array {
  const { alpha = 1, beta = 1, op = "linear" } = options;
  return Float64Array.from(a, (v, i) => (op === "mul" ? v * b[i] : alpha * v + (beta === 0 ? 0 : beta * b[i])));
}
