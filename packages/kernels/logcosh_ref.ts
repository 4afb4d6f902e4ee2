/**
 * Float64 reference of {@linkcode logcosh}.
 *
 * @module
 */

/**
 * `g = tanh(α·y)` and `gp = α·(1 − g²)` elementwise.
 *
 * @param y The input.
 * @param alpha The contrast's `α`.
 * @returns `g` and `gp`, like `y`.
 * @example
 * ```ts
 * import { logcoshRef } from "./logcosh_ref.ts";
 * console.log(logcoshRef([0], 1).gp[0]); // 1
 * ```
 */
export function logcoshRef(y: ArrayLike<number>, alpha: number): { g: Float64Array; gp: Float64Array } {
  const g = new Float64Array(y.length), gp = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    g[i] = Math.tanh(alpha * y[i]);
    gp[i] = alpha * (1 - g[i] * g[i]);
  }
  return { g, gp };
}
