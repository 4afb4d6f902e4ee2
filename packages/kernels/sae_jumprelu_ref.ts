/**
 * Float64 references of the JumpReLU kernels (`sae_jumprelu.ts`), written from the definitions.
 *
 * @module
 */

/**
 * JumpReLU codes of one member: `c_bj = z_bj` where `z_bj > θ_j = exp ℓ_j`, else 0.
 *
 * @param pre Pre-activations `Z [rows, n]`.
 * @param logTheta `ℓ [n]`.
 * @returns The codes `[rows, n]`.
 * @example
 * ```ts
 * import { jumpReluSelectRef } from "./sae_jumprelu_ref.ts";
 * const c = jumpReluSelectRef([0.5, 2], [Math.log(1), Math.log(1)]);
 * if (c[0] !== 0 || c[1] !== 2) throw new Error("jumprelu");
 * ```
 */
export function jumpReluSelectRef(pre: ArrayLike<number>, logTheta: ArrayLike<number>): Float64Array {
  const n = logTheta.length;
  return Float64Array.from(pre, (z, e) => (z > Math.exp(logTheta[e % n]) ? z : 0));
}

/**
 * The straight-through gradient with respect to `ℓ = log θ` of one member:
 * `θ_j · Σ_b K((z_bj − θ_j)/ε) · (−(θ_j/ε) · G_b·D̂_j − λ/(B·ε))`, `K(u) = 1{−½ < u < ½}`.
 *
 * @param inputs `pre [rows, n]`, the error gradient `g [rows, d]`, unit decoder rows `dh [n, d]`, `logTheta [n]`.
 * @param options `lambda` (the L0 coefficient) and `bandwidth` ε.
 * @returns `∂L/∂ℓ [n]`.
 * @example
 * ```ts
 * import { jumpReluThresholdGradRef } from "./sae_jumprelu_ref.ts";
 * const g = jumpReluThresholdGradRef(
 *   { pre: [1], g: [0, 0, 0, 0], dh: [1, 0, 0, 0], logTheta: [0] },
 *   { lambda: 1, bandwidth: 0.5 },
 * );
 * if (g[0] !== -2) throw new Error("the L0 term alone: θ · (−λ/(B·ε))");
 * ```
 */
export function jumpReluThresholdGradRef(
  inputs: { pre: ArrayLike<number>; g: ArrayLike<number>; dh: ArrayLike<number>; logTheta: ArrayLike<number> },
  options: { lambda: number; bandwidth: number },
): Float64Array {
  const { pre, g, dh, logTheta } = inputs, { lambda, bandwidth: eps } = options;
  const n = logTheta.length, d = dh.length / n, rows = pre.length / n;
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const theta = Math.exp(logTheta[j]);
    let acc = 0;
    for (let b = 0; b < rows; b++) {
      const u = (pre[b * n + j] - theta) / eps;
      if (!(u > -0.5 && u < 0.5)) continue;
      let dc = 0;
      for (let i = 0; i < d; i++) dc += g[b * d + i] * dh[j * d + i];
      acc += -(theta / eps) * dc - lambda / (rows * eps);
    }
    out[j] = theta * acc;
  }
  return out;
}
