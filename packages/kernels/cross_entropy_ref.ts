/**
 * CPU reference of per-row softmax cross-entropy (float64).
 *
 * @module
 */

/**
 * `logsumexp(row) − row[target]` for each row of `[N, vocab]` logits; a negative target gives 0.
 *
 * @param logits Row-major logits.
 * @param targets One id per row.
 * @param vocab Row length.
 * @returns Losses and each row's log-sum-exp.
 * @example
 * ```ts
 * import { crossEntropyRef } from "./cross_entropy_ref.ts";
 * console.log(crossEntropyRef([0, 0], [1], 2).loss[0].toFixed(4)); // 0.6931
 * ```
 */
export function crossEntropyRef(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  vocab: number,
): { loss: Float64Array; lse: Float64Array } {
  const rows = targets.length;
  const loss = new Float64Array(rows), lse = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let i = 0; i < vocab; i++) max = Math.max(max, logits[r * vocab + i]);
    let sum = 0;
    for (let i = 0; i < vocab; i++) sum += Math.exp(logits[r * vocab + i] - max);
    lse[r] = max + Math.log(sum);
    const t = targets[r];
    loss[r] = t < 0 ? 0 : t >= vocab ? NaN : lse[r] - logits[r * vocab + t];
  }
  return { loss, lse };
}
