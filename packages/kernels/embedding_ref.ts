/**
 * CPU reference of the embedding lookup.
 *
 * @module
 */

/**
 * Gather rows of a `[V, width]` table; ids outside `0 … V−1` give zero rows.
 *
 * @param ids Token ids.
 * @param table Row-major table values.
 * @param width Row length `D`.
 * @returns `[ids.length, D]` values.
 * @example
 * ```ts
 * import { embeddingRef } from "./embedding_ref.ts";
 * console.log(embeddingRef([1, 7], [0, 0, 5, 6], 2)); // Float64Array [5, 6, 0, 0]
 * ```
 */
export function embeddingRef(ids: ArrayLike<number>, table: ArrayLike<number>, width: number): Float64Array {
  const rows = table.length / width;
  const y = new Float64Array(ids.length * width);
  for (let n = 0; n < ids.length; n++) {
    const id = ids[n];
    if (id < 0 || id >= rows) continue;
    for (let e = 0; e < width; e++) y[n * width + e] = table[id * width + e];
  }
  return y;
}
