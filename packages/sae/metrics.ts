/**
 * Dictionary metrics of the paper: mean max cosine similarity (MMCS) between
 * dictionaries or against ground truth, its chance level for random unit
 * vectors, fraction of variance unexplained, and the running sums that
 * evaluation accumulates.
 *
 * @module
 */
import { Rng } from "./_random.ts";

/**
 * Mean max cosine similarity: for each row of `a`, the largest cosine with any
 * row of `b`, averaged over the rows of `a`. `mmcs(truth, learned)` measures
 * how well learned features recover true ones (the toy experiments' MMCS with
 * ground truth: mean over the true features). Between two learned dictionaries
 * of different sizes the paper's code averages over the larger one: use
 * {@linkcode mmcsLargerToSmaller} for that.
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
 * MMCS between two dictionaries of different sizes in the direction of the
 * paper's code: for each feature of the larger dictionary, the largest cosine
 * with any feature of the smaller one, averaged over the larger. Features of
 * the larger dictionary that the smaller one does not contain (dead, duplicated
 * or split features) pull it down; `mmcs(small, large, d)` would not see them.
 *
 * Cost: `rows(small) · rows(large) · d` multiply-adds on the CPU — 16.8 M for
 * 256 against 512 features at d = 128, a few tens of milliseconds.
 *
 * @param small `[rowsSmall, d]` directions of the smaller dictionary.
 * @param large `[rowsLarge, d]` directions of the larger one (`rowsLarge ≥ rowsSmall`).
 * @param d Row length.
 * @returns The mean over the rows of `large` of the best cosine with a row of `small`.
 * @throws {RangeError} When a length is not a multiple of `d` or `large` has fewer rows than `small`.
 * @example
 * ```ts
 * import { mmcsLargerToSmaller } from "@saelab/sae";
 * const small = new Float32Array([1, 0]);
 * const large = new Float32Array([1, 0, 0, 1]); // one feature matched, one new
 * if (Math.abs(mmcsLargerToSmaller(small, large, 2) - 0.5) > 1e-6) throw new Error("(1 + 0) / 2");
 * ```
 */
export function mmcsLargerToSmaller(small: Float32Array, large: Float32Array, d: number): number {
  if (small.length % d !== 0 || large.length % d !== 0) {
    throw new RangeError(
      `Cannot compute MMCS between sizes: lengths ${small.length} and ${large.length} are not multiples of ${d}`,
    );
  }
  if (large.length < small.length) {
    throw new RangeError(
      `Cannot compute MMCS between sizes: the larger dictionary has ${large.length / d} features, ` +
        `fewer than the smaller one's ${small.length / d}`,
    );
  }
  return mmcs(large, small, d);
}

/** Options of {@linkcode mmcsChance}. */
export interface MmcsChanceOptions {
  /** Dimension of the vectors. */
  dIn: number;
  /** Vectors the maximum is taken over (the smaller dictionary's size). */
  nSmall: number;
  /** Vectors the mean is taken over (the larger dictionary's size). */
  nLarge: number;
  /** Seed of the random vectors. Default 0. */
  seed?: number;
  /** Independent draws averaged. Default 1. */
  trials?: number;
}

/**
 * The chance level of {@linkcode mmcsLargerToSmaller}: the same statistic for
 * `nSmall` and `nLarge` random unit vectors in `dIn` dimensions (Gaussian
 * entries, then normalised, so uniform on the sphere), computed — not
 * tabulated — and averaged over `trials` draws. It grows with `nSmall` (more
 * chances of a close vector) and falls with `dIn` (random cosines concentrate
 * near 0, roughly as `√(2 ln nSmall / dIn)`). Its expectation does not depend
 * on `nLarge`, so it is also the chance level of `mmcs(truth, learned)` with
 * `nSmall` = the learned dictionary's size and `nLarge` = the number of true
 * features (the mean runs over `nLarge`, the maximum over `nSmall`).
 *
 * Cost: `trials · nSmall · nLarge · dIn` multiply-adds plus drawing the vectors.
 *
 * @param options Sizes, seed and trials.
 * @returns The mean over trials of the mean over the `nLarge` vectors of their best cosine with an `nSmall` vector.
 * @throws {RangeError} When a size or `trials` is not a whole number ≥ 1.
 * @example
 * ```ts
 * import { mmcsChance } from "@saelab/sae";
 * const wide = mmcsChance({ dIn: 128, nSmall: 256, nLarge: 512, seed: 1 });
 * const narrow = mmcsChance({ dIn: 16, nSmall: 256, nLarge: 512, seed: 1 });
 * if (!(wide < narrow)) throw new Error("random cosines shrink with the dimension");
 * ```
 */
export function mmcsChance(options: MmcsChanceOptions): number {
  const { dIn, nSmall, nLarge } = options;
  const trials = options.trials ?? 1;
  for (const [name, v] of [["dIn", dIn], ["nSmall", nSmall], ["nLarge", nLarge], ["trials", trials]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`Cannot compute the chance level of MMCS: ${name} ${v} is not a whole number ≥ 1`);
    }
  }
  const rng = new Rng(options.seed ?? 0);
  const gaussian = (rows: number) => Float32Array.from({ length: rows * dIn }, () => rng.normal());
  let sum = 0;
  for (let t = 0; t < trials; t++) {
    const small = gaussian(nSmall), large = gaussian(nLarge);
    sum += mmcs(large, small, dIn); // maxCosines normalises the rows
  }
  return sum / trials;
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
