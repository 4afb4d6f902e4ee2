/**
 * CPU references (float64) of the backward passes of GELU, attention,
 * cross-entropy and the embedding lookup. LayerNorm's is in
 * `layer_norm_backward_ref.ts`; rotary's is the inverse rotation (`rotary_ref.ts`).
 *
 * @module
 */
import { erfRef } from "./gelu_ref.ts";

/**
 * `dy · GELU'(x)` elementwise.
 *
 * @param x Forward input.
 * @param dy Output gradient.
 * @returns The input gradient.
 * @example
 * ```ts
 * import { geluBackwardRef } from "./backward_ref.ts";
 * console.log(geluBackwardRef([0], [1])); // Float64Array [0.5]
 * ```
 */
export function geluBackwardRef(x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => {
    const cdf = 0.5 * (1 + erfRef(v / Math.SQRT2));
    return dy[i] * (cdf + v * Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI));
  });
}

/**
 * Gradient of attention over `qkv` `[B, T, 3·D]` (per-head `[q | k | v]`), recomputing the softmax.
 *
 * @param qkv Forward input.
 * @param dz Output gradient `[B, T, D]`.
 * @param options `shape` of `qkv`, `heads`, `causal` (default true), `scale` (default `headSize^−0.5`).
 * @returns `dqkv`.
 * @example
 * ```ts
 * import { attentionBackwardRef } from "./backward_ref.ts";
 * // one token attends only to itself: dq = dk = 0, dv = dz
 * console.log(attentionBackwardRef([1, 2, 3], [5], { shape: [1, 1, 3], heads: 1 })); // Float64Array [0, 0, 5]
 * ```
 */
export function attentionBackwardRef(
  qkv: ArrayLike<number>,
  dz: ArrayLike<number>,
  options: { shape: readonly number[]; heads: number; causal?: boolean; scale?: number },
): Float64Array {
  const [b, t, width] = options.shape;
  const heads = options.heads, hs = width / (3 * heads), d = heads * hs;
  const scale = options.scale ?? 1 / Math.sqrt(hs);
  const out = new Float64Array(qkv.length);
  const p = new Float64Array(t), dp = new Float64Array(t);
  for (let s = 0; s < b; s++) {
    for (let h = 0; h < heads; h++) {
      const at = (i: number, part: number) => (s * t + i) * width + h * 3 * hs + part * hs;
      for (let i = 0; i < t; i++) {
        const last = options.causal === false ? t - 1 : i;
        let max = -Infinity;
        for (let j = 0; j <= last; j++) {
          let dotqk = 0;
          for (let e = 0; e < hs; e++) dotqk += qkv[at(i, 0) + e] * qkv[at(j, 1) + e];
          p[j] = dotqk * scale;
          max = Math.max(max, p[j]);
        }
        let sum = 0;
        for (let j = 0; j <= last; j++) sum += p[j] = Math.exp(p[j] - max);
        const g = (s * t + i) * d + h * hs;
        let delta = 0;
        for (let j = 0; j <= last; j++) {
          p[j] /= sum;
          dp[j] = 0;
          for (let e = 0; e < hs; e++) dp[j] += dz[g + e] * qkv[at(j, 2) + e];
          delta += p[j] * dp[j];
        }
        for (let j = 0; j <= last; j++) {
          const ds = p[j] * (dp[j] - delta) * scale;
          for (let e = 0; e < hs; e++) {
            out[at(i, 0) + e] += ds * qkv[at(j, 1) + e];
            out[at(j, 1) + e] += ds * qkv[at(i, 0) + e];
            out[at(j, 2) + e] += p[j] * dz[g + e];
          }
        }
      }
    }
  }
  return out;
}

/**
 * Gradient of `scale · Σ_n loss[n]` of softmax cross-entropy with respect to the logits.
 *
 * @param logits `[N, V]`.
 * @param targets `[N]`; negative ids are ignored rows.
 * @param options `vocab`, `scale`.
 * @returns `[N, V]`.
 * @example
 * ```ts
 * import { crossEntropyBackwardRef } from "./backward_ref.ts";
 * console.log(crossEntropyBackwardRef([0, 0], [0], { vocab: 2, scale: 1 })); // Float64Array [-0.5, 0.5]
 * ```
 */
export function crossEntropyBackwardRef(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  options: { vocab: number; scale: number },
): Float64Array {
  const { vocab, scale } = options;
  const out = new Float64Array(logits.length);
  for (let n = 0; n < targets.length; n++) {
    if (targets[n] < 0) continue;
    let max = -Infinity;
    for (let v = 0; v < vocab; v++) max = Math.max(max, logits[n * vocab + v]);
    let sum = 0;
    for (let v = 0; v < vocab; v++) sum += Math.exp(logits[n * vocab + v] - max);
    for (let v = 0; v < vocab; v++) {
      out[n * vocab + v] = scale * (Math.exp(logits[n * vocab + v] - max) / sum - (v === targets[n] ? 1 : 0));
    }
  }
  return out;
}

/**
 * Scatter-add of embedded rows' gradients into a `[V, D]` table gradient.
 *
 * @param ids `[N]` token ids.
 * @param dy `[N, D]`.
 * @param options `vocab`, `width`.
 * @returns `[V, D]`.
 * @example
 * ```ts
 * import { embeddingBackwardRef } from "./backward_ref.ts";
 * console.log(embeddingBackwardRef([1, 1], [1, 2], { vocab: 2, width: 1 })); // Float64Array [0, 3]
 * ```
 */
export function embeddingBackwardRef(
  ids: ArrayLike<number>,
  dy: ArrayLike<number>,
  options: { vocab: number; width: number },
): Float64Array {
  const { vocab, width } = options;
  const out = new Float64Array(vocab * width);
  for (let n = 0; n < ids.length; n++) {
    for (let e = 0; e < width; e++) out[ids[n] * width + e] += dy[n * width + e];
  }
  return out;
}
