/**
 * CPU reference of the mean squared error and its gradient.
 *
 * @module
 */

/**
 * `mean((pred − target)²)` and `2·(pred − target)/N`, in float64.
 *
 * @param pred Predictions.
 * @param target Targets.
 * @returns Loss and gradient.
 * @example
 * ```ts
 * import { squaredErrorRef } from "./squared_error_ref.ts";
 * console.log(squaredErrorRef([1, 3], [0, 0])); // { loss: 5, grad: [1, 3] }
 * ```
 */
export function squaredErrorRef(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
): { loss: number; grad: Float64Array } {
  const n = pred.length;
  let s = 0;
  const grad = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = pred[i] - target[i];
    s += d * d;
    grad[i] = 2 * d / n;
  }
  return { loss: s / n, grad };
}
