/**
 * Dictionary metrics of the paper: mean max cosine similarity (MMCS) between
 * dictionaries or against ground truth, fraction of variance unexplained,
 * and the running sums that evaluation accumulates.
 *
 * @module
 */

/**
 * Mean max cosine similarity: for each row of `a`, the largest cosine with any
 * row of `b`, averaged over the rows of `a`. `mmcs(truth, learned)` measures
 * how well learned features recover true ones; `mmcs(small, large)` compares a
 * dictionary with the one of twice its size (the paper's stability check).
 *
 * @param a `[rowsA, d]` directions (need not be normalised).
 * @param b `[rowsB, d]` directions.
 * @param d Row length.
 * @returns The mean over rows of `a` of the best cosine in `b` (zero rows count as 0).
 * @example
 * ```ts
 * import { mmcs } from "@saelab/sae";
 * const truth = new Float32Array([1, 0, 0, 1]);
 * const learned = new Float32Array([0, 2, 3, 0, 1, 1]);
 * if (Math.abs(mmcs(truth, learned, 2) - 1) > 1e-6) throw new Error("both recovered");
 * ```
 */
export function mmcs(a: Float32Array, b: Float32Array, d: number): number {
  if (a.length % d !== 0 || b.length % d !== 0) {
    throw new RangeError(`Cannot compute MMCS: lengths ${a.length} and ${b.length} are not multiples of ${d}`);
  }
  return maxCosines(a, b, d).reduce((s, v) => s + v, 0) / (a.length / d);
}

/**
 * For each row of `a`, the largest cosine similarity with a row of `b`.
 *
 * @param a `[rowsA, d]`.
 * @param b `[rowsB, d]`.
 * @param d Row length.
 * @returns `[rowsA]` best cosines.
 * @example
 * ```ts
 * import { maxCosines } from "@saelab/sae";
 * const best = maxCosines(new Float32Array([1, 0]), new Float32Array([1, 1]), 2);
 * if (Math.abs(best[0] - Math.SQRT1_2) > 1e-6) throw new Error("cos 45°");
 * ```
 */
export function maxCosines(a: Float32Array, b: Float32Array, d: number): Float64Array {
  const na = a.length / d, nb = b.length / d;
  const unit = (m: Float32Array, rows: number) => {
    const out = new Float32Array(m.length);
    for (let r = 0; r < rows; r++) {
      let ss = 0;
      for (let i = 0; i < d; i++) ss += m[r * d + i] ** 2;
      const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
      for (let i = 0; i < d; i++) out[r * d + i] = m[r * d + i] * inv;
    }
    return out;
  };
  const ua = unit(a, na), ub = unit(b, nb);
  const best = new Float64Array(na).fill(na > 0 && nb === 0 ? 0 : -Infinity);
  const BLOCK = 64; // rows of b per pass, kept in cache
  for (let j0 = 0; j0 < nb; j0 += BLOCK) {
    const j1 = Math.min(nb, j0 + BLOCK);
    for (let r = 0; r < na; r++) {
      const ar = ua.subarray(r * d, (r + 1) * d);
      let m = best[r];
      for (let j = j0; j < j1; j++) {
        let dot = 0;
        const o = j * d;
        for (let i = 0; i < d; i++) dot += ar[i] * ub[o + i];
        if (dot > m) m = dot;
      }
      best[r] = m;
    }
  }
  for (let r = 0; r < na; r++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += a[r * d + i] ** 2;
    if (ss === 0 || nb === 0) best[r] = 0;
  }
  return best;
}

/**
 * Running first and second moments of the inputs per dimension, for the
 * fraction of variance unexplained `FVU = Σ‖x − x̂‖² / Σ‖x − x̄‖²`.
 */
export class InputMoments {
  /** Input width. */
  readonly d: number;
  /** Rows seen. */
  rows = 0;
  #sum: Float64Array;
  #sq: Float64Array;

  /** @param d Input width. */
  constructor(d: number) {
    this.d = d;
    this.#sum = new Float64Array(d);
    this.#sq = new Float64Array(d);
  }

  /**
   * Add rows.
   *
   * @param x `[rows, d]` values.
   */
  add(x: ArrayLike<number>): void {
    const d = this.d;
    for (let e = 0; e < x.length; e++) {
      this.#sum[e % d] += x[e];
      this.#sq[e % d] += x[e] * x[e];
    }
    this.rows += x.length / d;
  }

  /** `Σ_b ‖x_b − x̄‖²` over the rows seen. */
  get totalVariance(): number {
    let t = 0;
    for (let i = 0; i < this.d; i++) t += this.#sq[i] - (this.#sum[i] * this.#sum[i]) / Math.max(this.rows, 1);
    return t;
  }
}
