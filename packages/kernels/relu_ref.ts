/**
 * CPU references of ReLU and its backward.
 *
 * @module
 */

/**
 * `max(x, 0)` elementwise.
 *
 * @param x Input values.
 * @returns The activations.
 * @example
 * ```ts
 * import { reluBackwardRef, reluRef } from "./relu_ref.ts";
 * const x = [-1, 2];
 * console.log(reluRef(x), reluBackwardRef([5, 7], x)); // [0, 2] [0, 7]
 * ```
 */
export function reluRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => (v > 0 ? v : 0));
}

/**
 * `gradOut` where `x > 0`, else 0.
 *
 * @param gradOut Gradient with respect to the output.
 * @param x Forward input.
 * @returns Gradient with respect to `x`.
 * @example
 * ```ts
 * import { reluBackwardRef, reluRef } from "./relu_ref.ts";
 * const x = [-1, 2];
 * console.log(reluBackwardRef([5, 7], x), reluRef(x)); // [0, 7] [0, 2]
 * ```
 */
export function reluBackwardRef(gradOut: ArrayLike<number>, x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => (v > 0 ? gradOut[i] : 0));
}
