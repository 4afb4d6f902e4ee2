/**
 * CPU reference of row-wise top-k, by sorting.
 *
 * @module
 */

/**
 * Keep the `k` largest entries of each row (ties to the lower index), zero the rest.
 *
 * @param x Matrix, row-major.
 * @param cols Number of columns.
 * @param k Entries kept per row.
 * @returns The sparse matrix.
 * @example
 * ```ts
 * import { topKRef } from "./top_k_ref.ts";
 * console.log(topKRef([3, -1, 5, 2], 4, 2)); // [3, 0, 5, 0]
 * ```
 */
export function topKRef(x: ArrayLike<number>, cols: number, k: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let start = 0; start < x.length; start += cols) {
    const idx = Array.from({ length: cols }, (_, j) => j);
    idx.sort((a, b) => x[start + b] - x[start + a] || a - b);
    for (const j of idx.slice(0, k)) out[start + j] = x[start + j];
  }
  return out;
}
