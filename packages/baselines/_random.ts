/**
 * Random orthogonal matrices from a seeded uniform source (Gaussian draws come from `@saelab/core`).
 *
 * @module
 */
import { gaussian, type Random } from "@saelab/core";

/** A random orthogonal matrix `[n, n]` (Gram–Schmidt of Gaussian rows), float64, row-major. */
export function randomOrthogonal(n: number, random: Random): Float64Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) q[i] = gaussian(random);
  orthonormalizeRows(q, n, n);
  return q;
}

/** Gram–Schmidt (twice, for stability) on the rows of `m [rows, cols]`, in place. */
export function orthonormalizeRows(m: Float64Array, rows: number, cols: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < rows; i++) {
      const ri = m.subarray(i * cols, (i + 1) * cols);
      for (let j = 0; j < i; j++) {
        const rj = m.subarray(j * cols, (j + 1) * cols);
        let dot = 0;
        for (let t = 0; t < cols; t++) dot += ri[t] * rj[t];
        for (let t = 0; t < cols; t++) ri[t] -= dot * rj[t];
      }
      let ss = 0;
      for (let t = 0; t < cols; t++) ss += ri[t] * ri[t];
      const inv = 1 / Math.sqrt(ss);
      for (let t = 0; t < cols; t++) ri[t] *= inv;
    }
  }
}
