/**
 * The geometric median of activation rows (the point minimising the sum of Euclidean distances to them), by
 * Weiszfeld's algorithm — the initial decoder bias of the Anthropic/SAELens recipe (`b_dec_init_method:
 * geometric_median`). Starts from the mean; each iteration is the average of the rows weighted by
 * `1 / max(eps, ‖x_b − m‖)`; stops after `maxIter` iterations or when the objective improves by less than
 * `ftol` of itself. The defaults are SAELens' `compute_geometric_median`: eps 1e-6, 100 iterations, ftol 1e-20.
 *
 * @module
 */

/**
 * How a sweep's decoder bias starts: `none` (no `b_dec`, the paper), `zero` (a trainable `b_dec` from 0) or
 * `geometric-median` (a trainable `b_dec` from the geometric median of training rows: the Anthropic/SAELens recipe).
 */
export const DECODER_BIAS_INITS = ["none", "zero", "geometric-median"] as const;
/** A decoder-bias initialisation. */
export type DecoderBiasInit = typeof DECODER_BIAS_INITS[number];

/** Rows of training activations whose geometric median starts `b_dec` (`geometric-median`). */
export const DECODER_BIAS_ROWS = 4096;

/** Options of {@linkcode geometricMedian}. */
export interface GeometricMedianOptions {
  /** Smallest distance in a weight's denominator. Default 1e-6. */
  eps?: number;
  /** Most iterations. Default 100. */
  maxIter?: number;
  /** Stop when the objective improves by less than this fraction of itself. Default 1e-20. */
  ftol?: number;
}

/**
 * The geometric median of `rows`.
 *
 * @param rows `[count, d]`, row-major.
 * @param d Row width.
 * @param options Tolerances (SAELens' defaults).
 * @returns The median `[d]` (float64), the iterations run and the final mean distance to the rows.
 * @throws {RangeError} When there are no rows or `d` does not divide the length.
 * @example
 * ```ts
 * import { geometricMedian } from "@saelab/sae";
 * // three points on a line and one far away: the median stays near the cluster, the mean does not
 * const { median } = geometricMedian(new Float32Array([0, 0, 1, 0, 2, 0, 100, 0]), 2);
 * if (!(median[0] >= 0.99 && median[0] <= 2.01)) throw new Error(String(median[0]));
 * ```
 */
export function geometricMedian(
  rows: ArrayLike<number>,
  d: number,
  options: GeometricMedianOptions = {},
): { median: Float64Array; iterations: number; objective: number } {
  const count = rows.length / d;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(
      `Cannot take a geometric median: ${rows.length} values are not a whole number ≥ 1 of rows of ${d}`,
    );
  }
  const eps = options.eps ?? 1e-6, maxIter = options.maxIter ?? 100, ftol = options.ftol ?? 1e-20;
  let median = new Float64Array(d);
  for (let b = 0; b < count; b++) for (let i = 0; i < d; i++) median[i] += rows[b * d + i] / count;
  const distance = (m: Float64Array, b: number) => {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += (rows[b * d + i] - m[i]) ** 2;
    return Math.sqrt(ss);
  };
  const objective = (m: Float64Array) => {
    let s = 0;
    for (let b = 0; b < count; b++) s += distance(m, b);
    return s / count;
  };
  let value = objective(median), iterations = 0;
  while (iterations < maxIter) {
    iterations++;
    const next = new Float64Array(d);
    let total = 0;
    for (let b = 0; b < count; b++) {
      const w = 1 / Math.max(eps, distance(median, b));
      total += w;
      for (let i = 0; i < d; i++) next[i] += w * rows[b * d + i];
    }
    for (let i = 0; i < d; i++) next[i] /= total;
    const nextValue = objective(next);
    median = next;
    const improved = value - nextValue;
    value = nextValue;
    if (Math.abs(improved) <= ftol * nextValue) break;
  }
  return { median, iterations, objective: value };
}
