/**
 * CPU reference of row L2 normalisation and its backward, in float64.
 *
 * @module
 */

/**
 * Unit rows `w / max(‖w_i‖, eps)`, the norms, and, given `gradOut`, the gradient with respect
 * to `w` (`g/n − w·(w·g)/n³`, or `g/eps` for rows with `n ≤ eps`).
 *
 * @param w Matrix, row-major.
 * @param cols Number of columns.
 * @param options `eps` and an optional `gradOut` for the backward pass.
 * @returns Unit rows, norms and (when `gradOut` is given) the input gradient.
 * @example
 * ```ts
 * import { rowNormalizeRef } from "./row_normalize_ref.ts";
 * const r = rowNormalizeRef([3, 4], 2, { eps: 1e-8, gradOut: [1, 0] });
 * console.log(r.out, r.norms, r.grad); // [0.6, 0.8] [5] [0.128, -0.096]
 * ```
 */
export function rowNormalizeRef(
  w: ArrayLike<number>,
  cols: number,
  options: { eps: number; gradOut?: ArrayLike<number> },
): { out: Float64Array; norms: Float64Array; grad?: Float64Array } {
  const rows = cols === 0 ? 0 : w.length / cols;
  const out = new Float64Array(w.length), norms = new Float64Array(rows);
  const g = options.gradOut;
  const grad = g ? new Float64Array(w.length) : undefined;
  for (let i = 0; i < rows; i++) {
    let ss = 0, dot = 0;
    for (let j = 0; j < cols; j++) {
      ss += w[i * cols + j] ** 2;
      if (g) dot += w[i * cols + j] * g[i * cols + j];
    }
    const n = Math.sqrt(ss);
    norms[i] = n;
    for (let j = 0; j < cols; j++) {
      const k = i * cols + j;
      out[k] = w[k] / Math.max(n, options.eps);
      if (g && grad) grad[k] = n > options.eps ? g[k] / n - w[k] * dot / n ** 3 : g[k] / options.eps;
    }
  }
  return { out, norms, grad };
}
