/**
 * References of {@linkcode gatherCols} and {@linkcode gatherPairs}.
 *
 * @module
 */

/**
 * `acts [rows, width][:, cols]`.
 *
 * @param acts The activations, row-major.
 * @param options `width` and the column indices.
 * @returns `[rows, cols.length]`.
 * @example
 * ```ts
 * import { gatherColsRef } from "./gather_ref.ts";
 * console.log([...gatherColsRef(new Float32Array([1, 2, 3, 4]), { width: 2, cols: [1] })]); // [2, 4]
 * ```
 */
export function gatherColsRef(
  acts: ArrayLike<number>,
  options: { width: number; cols: ArrayLike<number> },
): Float64Array {
  const { width, cols } = options;
  const rows = acts.length / width;
  const out = new Float64Array(rows * cols.length);
  for (let r = 0; r < rows; r++) {
    for (let s = 0; s < cols.length; s++) out[r * cols.length + s] = acts[r * width + cols[s]];
  }
  return out;
}

/**
 * Each (fragment, column, slot) triple's `len` activations, in row `slot` of the result.
 *
 * @param acts The activations, `[frags · len, width]`.
 * @param options The triples (flat), `len`, `width` and the number of output rows `slots`.
 * @returns `[slots, len]` (rows no triple names stay 0).
 * @example
 * ```ts
 * import { gatherPairsRef } from "./gather_ref.ts";
 * const out = gatherPairsRef(new Float32Array([1, 2, 3, 4]), { pairs: [0, 1, 0], len: 2, width: 2, slots: 1 });
 * console.log([...out]); // [2, 4]
 * ```
 */
export function gatherPairsRef(
  acts: ArrayLike<number>,
  options: { pairs: ArrayLike<number>; len: number; width: number; slots: number },
): Float64Array {
  const { pairs, len, width } = options;
  const out = new Float64Array(options.slots * len);
  for (let p = 0; p < pairs.length / 3; p++) {
    const [frag, col, slot] = [pairs[3 * p], pairs[3 * p + 1], pairs[3 * p + 2]];
    for (let t = 0; t < len; t++) out[slot * len + t] = acts[(frag * len + t) * width + col];
  }
  return out;
}
