/**
 * CPU reference of the L1 penalty gradient.
 *
 * @module
 */

/**
 * `alpha · sign(c) / B` for codes `c` [B, n] (row-major), plus `base` when given.
 *
 * @param c Codes, row-major.
 * @param rows Number of rows `B`.
 * @param options `alpha` and an optional gradient to add to.
 * @returns The gradient.
 * @example
 * ```ts
 * import { l1GradRef } from "./l1_grad_ref.ts";
 * console.log(l1GradRef([-2, 0, 3, 1], 2, { alpha: 0.1 })); // [-0.05, 0, 0.05, 0.05]
 * ```
 */
export function l1GradRef(
  c: ArrayLike<number>,
  rows: number,
  options: { alpha: number; base?: ArrayLike<number> },
): Float64Array {
  return Float64Array.from(c, (v, i) => (options.base?.[i] ?? 0) + options.alpha * Math.sign(v) / rows);
}
