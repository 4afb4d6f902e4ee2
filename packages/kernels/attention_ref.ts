/**
 * CPU reference of multi-head self-attention on GPT-NeoX's fused `[q | k | v]` layout (float64).
 *
 * @module
 */

/** The output of {@linkcode attentionRef}. */
export interface AttentionRefOutput {
  /** `[B, T, D]`, heads merged. */
  z: Float64Array;
  /** `[B, H, T]` log-sum-exp of each scaled score row. */
  lse: Float64Array;
}

/**
 * Attention of `qkv` `[B, T, 3·D]` laid out per head as `[q_h | k_h | v_h]`.
 *
 * @param qkv Input values, row-major.
 * @param shape `[B, T, 3·D]`.
 * @param options `heads`, `causal` (default true), `scale` (default `headSize^−0.5`).
 * @returns The merged heads and each row's log-sum-exp.
 * @example
 * ```ts
 * import { attentionRef, type AttentionRefOutput } from "./attention_ref.ts";
 * // one token attends only to itself: z = v
 * const out: AttentionRefOutput = attentionRef([1, 2, 3], [1, 1, 3], { heads: 1 });
 * console.log(out.z); // Float64Array [3]
 * ```
 */
export function attentionRef(
  qkv: ArrayLike<number>,
  shape: readonly number[],
  options: { heads: number; causal?: boolean; scale?: number },
): AttentionRefOutput {
  const [b, t, width] = shape;
  const heads = options.heads, hs = width / (3 * heads), d = heads * hs;
  const scale = options.scale ?? 1 / Math.sqrt(hs);
  const z = new Float64Array(b * t * d), lse = new Float64Array(b * heads * t);
  const scores = new Float64Array(t);
  for (let s = 0; s < b; s++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < t; i++) {
        const q = (s * t + i) * width + h * 3 * hs;
        const last = options.causal === false ? t - 1 : i;
        let max = -Infinity;
        for (let j = 0; j <= last; j++) {
          const k = (s * t + j) * width + h * 3 * hs + hs;
          let dot = 0;
          for (let e = 0; e < hs; e++) dot += qkv[q + e] * qkv[k + e];
          scores[j] = dot * scale;
          max = Math.max(max, scores[j]);
        }
        let sum = 0;
        for (let j = 0; j <= last; j++) sum += Math.exp(scores[j] - max);
        lse[(s * heads + h) * t + i] = max + Math.log(sum);
        for (let j = 0; j <= last; j++) {
          const p = Math.exp(scores[j] - max) / sum;
          const v = (s * t + j) * width + h * 3 * hs + 2 * hs;
          for (let e = 0; e < hs; e++) z[(s * t + i) * d + h * hs + e] += p * qkv[v + e];
        }
      }
    }
  }
  return { z, lse };
}
