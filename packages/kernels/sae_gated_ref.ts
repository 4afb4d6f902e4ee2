/**
 * Float64 CPU references of the Gated kernels (`sae_gated.ts`), on one member's plain row-major arrays.
 *
 * @module
 */

/** One member's Gated parameters: `b_gate`, `r_mag`, `b_mag`, each `[n]`. */
export interface GatedParamsRef {
  /** `b_gate [n]`. */
  bGate: ArrayLike<number>;
  /** `r_mag [n]`. */
  rMag: ArrayLike<number>;
  /** `b_mag [n]`. */
  bMag: ArrayLike<number>;
}

/**
 * Gated codes and gate codes of one member.
 *
 * @param p Gate pre-activations `π [rows, n]`.
 * @param params `b_gate`, `r_mag`, `b_mag`.
 * @returns `codes = [π > 0]·ReLU(exp(r)(π − b_gate) + b_mag)` and `gate = ReLU(π)`, both `[rows, n]`.
 * @example
 * ```ts
 * import { gatedSelectRef } from "./sae_gated_ref.ts";
 * const r = gatedSelectRef([1, -1], { bGate: [0, 0], rMag: [0, 0], bMag: [0.5, 9] });
 * if (r.codes[0] !== 1.5 || r.codes[1] !== 0 || r.gate[0] !== 1) throw new Error("gated");
 * ```
 */
export function gatedSelectRef(
  p: ArrayLike<number>,
  params: GatedParamsRef,
): { codes: Float64Array; gate: Float64Array } {
  const n = params.bGate.length;
  const codes = new Float64Array(p.length), gate = new Float64Array(p.length);
  for (let e = 0; e < p.length; e++) {
    const j = e % n;
    const m = Math.exp(params.rMag[j]) * (p[e] - params.bGate[j]) + params.bMag[j];
    codes[e] = p[e] > 0 ? Math.max(m, 0) : 0;
    gate[e] = Math.max(p[e], 0);
  }
  return { codes, gate };
}

/**
 * The Gated gradients of one member from `∂π` and `∂m`.
 *
 * @param grads `dpg`: `∂π [rows, n]`; `dpm`: `∂m [rows, n]`; `codes`: `f [rows, n]`.
 * @param params `r_mag`, `b_mag` (`b_gate` unused).
 * @returns `dp = ∂π + exp(r)·∂m [rows, n]`, and `[n]` each: `rMag = Σ_b ∂m·(f − b_mag)`,
 *   `bMag = Σ_b ∂m`, `bGate = Σ_b ∂π`.
 * @example
 * ```ts
 * import { gatedGradRef } from "./sae_gated_ref.ts";
 * const g = gatedGradRef({ dpg: [1], dpm: [2], codes: [3] }, { bGate: [0], rMag: [0], bMag: [1] });
 * if (g.dp[0] !== 3 || g.rMag[0] !== 4 || g.bMag[0] !== 2 || g.bGate[0] !== 1) throw new Error("grad");
 * ```
 */
export function gatedGradRef(
  grads: { dpg: ArrayLike<number>; dpm: ArrayLike<number>; codes: ArrayLike<number> },
  params: GatedParamsRef,
): { dp: Float64Array; rMag: Float64Array; bMag: Float64Array; bGate: Float64Array } {
  const n = params.rMag.length;
  const { dpg, dpm, codes } = grads;
  const dp = new Float64Array(dpg.length);
  const rMag = new Float64Array(n), bMag = new Float64Array(n), bGate = new Float64Array(n);
  for (let e = 0; e < dpg.length; e++) {
    const j = e % n;
    dp[e] = dpg[e] + Math.exp(params.rMag[j]) * dpm[e];
    rMag[j] += dpm[e] * (codes[e] - params.bMag[j]);
    bMag[j] += dpm[e];
    bGate[j] += dpg[e];
  }
  return { dp, rMag, bMag, bGate };
}
