/**
 * CPU reference of per-column non-zero counts.
 *
 * @module
 */

/**
 * Number of non-zero entries in each column of a row-major matrix.
 *
 * @param c Matrix, row-major.
 * @param cols Number of columns.
 * @returns Counts per column.
 * @example
 * ```ts
 * import { nonzeroCountRef } from "./nonzero_count_ref.ts";
 * console.log(nonzeroCountRef([0, 1, 2, 0, 3, 0], 3)); // [1, 2, 0]
 * ```
 */
export function nonzeroCountRef(c: ArrayLike<number>, cols: number): Float64Array {
  const out = new Float64Array(cols);
  for (let i = 0; i < c.length; i++) if (c[i] !== 0) out[i % cols]++;
  return out;
}
