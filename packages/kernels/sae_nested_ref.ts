/**
 * Float64 CPU references of `sae_nested.ts`, written from their definitions.
 *
 * @module
 */

/**
 * `dst[z][r][i·d + c] = src[z][r][c]` where `r < limits[i]`, else 0.
 *
 * @param src `[layers][rows][d]`, row-major.
 * @param sizes `rows`, `d`, the level `limits`.
 * @returns `[layers][rows][L·d]`.
 * @example
 * ```ts
 * import { nestedExpandRef } from "./sae_nested_ref.ts";
 * const out = nestedExpandRef([1, 2, 3, 4], { rows: 2, d: 2, limits: [2, 1] });
 * if (out.join() !== "1,2,1,2,3,4,0,0") throw new Error(out.join());
 * ```
 */
export function nestedExpandRef(
  src: ArrayLike<number>,
  sizes: { rows: number; d: number; limits: readonly number[] },
): Float64Array {
  const { rows, d, limits } = sizes, L = limits.length;
  const layers = src.length / (rows * d);
  const out = new Float64Array(layers * rows * L * d);
  for (let z = 0; z < layers; z++) {
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < L; i++) {
        if (r >= limits[i]) continue;
        for (let c = 0; c < d; c++) out[((z * rows + r) * L + i) * d + c] = src[(z * rows + r) * d + c];
      }
    }
  }
  return out;
}

/**
 * `dst[z][r][c] = Σ_i [r < limits[i]] · src[z][r][i·d + c]`.
 *
 * @param src `[layers][rows][L·d]`.
 * @param sizes `rows`, `d`, the level `limits`.
 * @returns `[layers][rows][d]`.
 * @example
 * ```ts
 * import { nestedFoldRef } from "./sae_nested_ref.ts";
 * const out = nestedFoldRef([1, 2, 10, 20, 3, 4, 30, 40], { rows: 2, d: 2, limits: [2, 1] });
 * if (out.join() !== "11,22,3,4") throw new Error(out.join());
 * ```
 */
export function nestedFoldRef(
  src: ArrayLike<number>,
  sizes: { rows: number; d: number; limits: readonly number[] },
): Float64Array {
  const { rows, d, limits } = sizes, L = limits.length;
  const layers = src.length / (rows * L * d);
  const out = new Float64Array(layers * rows * d);
  for (let z = 0; z < layers; z++) {
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < L; i++) {
        if (r >= limits[i]) continue;
        for (let c = 0; c < d; c++) out[(z * rows + r) * d + c] += src[((z * rows + r) * L + i) * d + c];
      }
    }
  }
  return out;
}
