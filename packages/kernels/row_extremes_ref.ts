/**
 * CPU reference of {@linkcode rowExtremes} in float64, by sorting.
 *
 * @module
 */

/** One row's extremes: lists as `[column, value]`, the range and the histogram. */
export interface RowExtremesRef {
  /** Positive entries, largest first (ties: lower column first). */
  positive: [number, number][];
  /** Negative entries, most negative first (ties: lower column first). */
  negative: [number, number][];
  /** Minimum and maximum. */
  range: [number, number];
  /** Equal-width counts over `[min, max]` (`[min, min + 1]` for a constant row), the maximum in the last bin. */
  hist: number[];
}

/**
 * The extremes of one row.
 *
 * @param row The values.
 * @param options `k` per sign and `bins`.
 * @returns Lists, range and histogram.
 * @example
 * ```ts
 * import { rowExtremesRef } from "./row_extremes_ref.ts";
 * const r = rowExtremesRef([3, -1, 5, 2], { k: 2, bins: 2 });
 * console.log(r.positive, r.negative, r.hist); // [[2, 5], [0, 3]] [[1, -1]] [2, 2]
 * ```
 */
export function rowExtremesRef(row: ArrayLike<number>, options: { k: number; bins: number }): RowExtremesRef {
  const { k, bins } = options;
  const cols = Array.from({ length: row.length }, (_, j) => j);
  const positive = cols.filter((j) => row[j] > 0).sort((a, b) => row[b] - row[a] || a - b).slice(0, k);
  const negative = cols.filter((j) => row[j] < 0).sort((a, b) => row[a] - row[b] || a - b).slice(0, k);
  let lo = Infinity, hi = -Infinity;
  for (const j of cols) {
    lo = Math.min(lo, row[j]);
    hi = Math.max(hi, row[j]);
  }
  const top = hi > lo ? hi : lo + 1;
  const hist = new Array(bins).fill(0);
  for (const j of cols) hist[Math.min(bins - 1, Math.floor(((row[j] - lo) / (top - lo)) * bins))]++;
  return {
    positive: positive.map((j) => [j, row[j]]),
    negative: negative.map((j) => [j, row[j]]),
    range: [lo, hi],
    hist,
  };
}
