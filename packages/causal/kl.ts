/**
 * Output comparisons on the host in float64: log-softmax, KL divergence and
 * logit differences of rows of logits.
 *
 * @module
 */

/**
 * Log-softmax of each row.
 *
 * @param logits Rows of logits `[rows, v]`, row-major.
 * @param v Row width (vocabulary size).
 * @returns Log-probabilities `[rows, v]` in float64.
 * @throws {RangeError} When the length is not a multiple of `v`.
 * @example
 * ```ts
 * import { logSoftmax } from "@saelab/causal";
 * const lp = logSoftmax(new Float32Array([0, 0]), 2); // [log ½, log ½]
 * if (Math.abs(lp[0] - Math.log(0.5)) > 1e-12) throw new Error("log-softmax");
 * ```
 */
export function logSoftmax(logits: ArrayLike<number>, v: number): Float64Array {
  if (!(v >= 1) || logits.length % v !== 0) {
    throw new RangeError(`Cannot take the log-softmax: ${logits.length} values are not rows of ${v}`);
  }
  const out = new Float64Array(logits.length);
  for (let o = 0; o < logits.length; o += v) {
    let max = -Infinity;
    for (let i = 0; i < v; i++) max = Math.max(max, logits[o + i]);
    let sum = 0;
    for (let i = 0; i < v; i++) sum += Math.exp(logits[o + i] - max);
    const lse = max + Math.log(sum);
    for (let i = 0; i < v; i++) out[o + i] = logits[o + i] - lse;
  }
  return out;
}

/**
 * KL divergence `D(P‖Q) = Σ_v P(v) (log P(v) − log Q(v))` of each pair of rows.
 *
 * @param logP Log-probabilities of P `[rows, v]`.
 * @param logQ Log-probabilities of Q `[rows, v]`.
 * @param v Row width.
 * @returns One divergence per row (nats).
 * @example
 * ```ts
 * import { klRows, logSoftmax } from "@saelab/causal";
 * const p = logSoftmax([0, 0], 2), q = logSoftmax([Math.log(3), 0], 2); // (½, ½) and (¾, ¼)
 * const [d] = klRows(p, q, 2); // ½ log(⅔) + ½ log(2) = ½ log(4/3)
 * if (Math.abs(d - 0.5 * Math.log(4 / 3)) > 1e-12) throw new Error("kl");
 * ```
 */
export function klRows(logP: ArrayLike<number>, logQ: ArrayLike<number>, v: number): Float64Array {
  if (logP.length !== logQ.length || logP.length % v !== 0) {
    throw new RangeError(
      `Cannot compare outputs: ${logP.length} and ${logQ.length} values are not matching rows of ${v}`,
    );
  }
  const out = new Float64Array(logP.length / v);
  for (let r = 0; r < out.length; r++) {
    let s = 0;
    for (let i = r * v; i < (r + 1) * v; i++) {
      const lp = logP[i];
      if (lp > -Infinity) s += Math.exp(lp) * (lp - logQ[i]);
    }
    out[r] = Math.max(0, s);
  }
  return out;
}

/**
 * Logit difference `logit[a] − logit[b]` of each row.
 *
 * @param logits Rows `[rows, v]`.
 * @param v Row width.
 * @param answers One `[a, b]` token pair per row.
 * @returns One difference per row.
 * @example
 * ```ts
 * import { logitDiffs } from "@saelab/causal";
 * const [d] = logitDiffs(new Float32Array([1, 4, 2]), 3, [[1, 2]]); // 4 − 2
 * if (d !== 2) throw new Error("logit difference");
 * ```
 */
export function logitDiffs(
  logits: ArrayLike<number>,
  v: number,
  answers: readonly (readonly [number, number])[],
): Float64Array {
  if (logits.length !== answers.length * v) {
    throw new RangeError(
      `Cannot take logit differences: ${logits.length} values are not ${answers.length} rows of ${v}`,
    );
  }
  return Float64Array.from(answers, ([a, b], r) => logits[r * v + a] - logits[r * v + b]);
}

/** Mean of an array (NaN when empty). */
export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}
