/**
 * CPU reference of the per-row KL divergence between softmax distributions (float64).
 *
 * @module
 */

/**
 * `KL(softmax(p_n) ‖ softmax(q_n))` for each row of two `[N, vocab]` logits arrays.
 *
 * @param p Row-major logits of P.
 * @param q Row-major logits of Q, the same length.
 * @param vocab Row length.
 * @returns One divergence per row, in nats.
 * @example
 * ```ts
 * import { klDivRef } from "./kl_div_ref.ts";
 * console.log(klDivRef([0, 0], [Math.log(3), 0], 2)[0].toFixed(4)); // 0.1438
 * ```
 */
export function klDivRef(p: ArrayLike<number>, q: ArrayLike<number>, vocab: number): Float64Array {
  const rows = vocab === 0 ? 0 : p.length / vocab;
  const out = new Float64Array(rows);
  const lse = (x: ArrayLike<number>, o: number) => {
    let max = -Infinity;
    for (let i = 0; i < vocab; i++) max = Math.max(max, x[o + i]);
    let sum = 0;
    for (let i = 0; i < vocab; i++) sum += Math.exp(x[o + i] - max);
    return max + Math.log(sum);
  };
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    const lp = lse(p, o), lq = lse(q, o);
    let kl = 0;
    for (let i = 0; i < vocab; i++) {
      const logP = p[o + i] - lp;
      const P = Math.exp(logP);
      if (P > 0) kl += P * (logP - (q[o + i] - lq));
    }
    out[r] = kl;
  }
  return out;
}
