/**
 * `gated` (Rajamanoharan et al. 2024a, "Improving Dictionary Learning with Gated Sparse
 * Autoencoders"): the encoder is split into a gate that decides which features fire and a
 * magnitude path that decides how strongly, sharing one matrix `W_gate` (`W_e` here):
 * ```
 * x' = x − b_dec
 * π  = W_gate x' + b_gate                         gate pre-activations (b_gate is b_e)
 * m  = exp(r_mag) ⊙ (W_gate x') + b_mag          magnitude pre-activations, W_mag = exp(r_mag) ⊙ W_gate row-wise
 * f  = [π > 0] ⊙ ReLU(m)                          codes
 * x̂  = D̂ᵀ f + b_dec
 * L  = mean(x − x̂)² + α · mean_b Σ_j ReLU(π_bj) + mean(x − x̂_frozen)²,   x̂_frozen = sg(D̂)ᵀ ReLU(π) + sg(b_dec)
 * ```
 * The Heaviside gate has zero derivative, so the gate parameters learn only from the sparsity term
 * and the auxiliary reconstruction through `ReLU(π)`; the decoder learns only from the main
 * reconstruction (the auxiliary term sees a stop-gradient copy of it, as in the paper).
 *
 * Decoder norm: as every kind here, the decoder rows are normalised to unit length in every forward
 * pass (the paper's Gated SAEs keep unit-norm decoder columns), so `‖W_dec,j‖ = 1` and the sparsity
 * term is `α · Σ_j ReLU(π_j)`. SAELens' `GatedTrainingSAE` leaves `W_dec` free and weighs each
 * `ReLU(π_j)` by `‖W_dec,j‖` instead; the two agree on the unit rows written to SAELens folders.
 * Other differences from SAELens' gated training SAE, whose defaults are `l1_coefficient` 1.0,
 * `l1_warm_up_steps` 0, `r_mag = b_gate = b_mag = 0` at init and `apply_b_dec_to_input` true:
 * the squared errors here are means over every element (the paper's code's convention for α), not
 * sums over `d_in` averaged over rows, so α here is SAELens' `l1_coefficient / d_in`; SAELens v6 does not stop the gradient of `W_dec` and `b_dec`
 * in the auxiliary term (this kind does, as the paper); `W_gate` and `D` start Xavier-uniform and
 * independent, as the other kinds here, and `b_dec` is absent unless the spec asks for one (the GPU
 * trainer trains none). Written for SAELens as architecture `gated` with tensors `W_enc`
 * (`W_gateᵀ`), `b_gate`, `r_mag`, `b_mag`, `W_dec`, `b_dec`.
 *
 * @module
 */
import { cfgKindName, type KindReference, reluKindFields, type SaeKindDef, untiedInit } from "./kind.ts";

/** SAELens' `GatedTrainingSAEConfig` defaults that name a training setting. */
export const SAELENS_GATED_DEFAULTS: Readonly<{ l1_coefficient: number; l1_warm_up_steps: number }> = Object.freeze({
  l1_coefficient: 1.0,
  l1_warm_up_steps: 0,
});

/**
 * Gated codes of one row: `f_j = [π_j > 0] · max(exp(r_j)(π_j − b_gate,j) + b_mag,j, 0)`.
 *
 * @param pre Gate pre-activations `π` of one row (with `b_gate`).
 * @param codes Written: the codes.
 * @param params `encoderBias` (`b_gate`), `rMag`, `bMag`.
 * @returns Nothing.
 * @example
 * ```ts
 * import { gatedCodes } from "./gated.ts";
 * const c = new Float64Array(2);
 * const p = { encoderBias: new Float64Array([0, 1]), rMag: new Float64Array([Math.log(2), 0]), bMag: new Float64Array([0, -5]) };
 * gatedCodes(new Float64Array([0.5, 2]), c, p);
 * if (c[0] !== 1 || c[1] !== 0) throw new Error("gated codes");
 * ```
 */
export function gatedCodes(
  pre: Float64Array,
  codes: Float64Array,
  params: { encoderBias: ArrayLike<number>; rMag?: ArrayLike<number>; bMag?: ArrayLike<number> },
): void {
  const { encoderBias, rMag, bMag } = params;
  if (!rMag || !bMag) throw new RangeError("Cannot compute Gated codes: the parameters hold no rMag or bMag");
  for (let j = 0; j < pre.length; j++) {
    const m = Math.exp(rMag[j]) * (pre[j] - encoderBias[j]) + bMag[j];
    codes[j] = pre[j] > 0 && m > 0 ? m : 0;
  }
}

/** The Gated loss and its gradients in float64 (`decoder` of the gradients is `∂L/∂D̂`, see {@linkcode KindReference}). */
const gatedReference: KindReference = {
  forward: (base, { spec, params }) => {
    const { dIn: d, dDict: n } = spec;
    const rows = base.pre.length / n;
    const x = new Float64Array(rows * d); // x = X' + b_dec
    for (let e = 0; e < x.length; e++) x[e] = base.input[e] + (params.decoderBias?.[e % d] ?? 0);
    let gate = 0, se = 0;
    for (let b = 0; b < rows; b++) {
      const frozen = new Float64Array(d);
      for (let i = 0; i < d; i++) frozen[i] = params.decoderBias?.[i] ?? 0;
      for (let j = 0; j < n; j++) {
        const g = Math.max(base.pre[b * n + j], 0);
        if (g === 0) continue;
        gate += g;
        for (let i = 0; i < d; i++) frozen[i] += g * base.directions[j * d + i];
      }
      for (let i = 0; i < d; i++) se += (frozen[i] - x[b * d + i]) ** 2;
    }
    const gateL1 = gate / rows, auxMse = se / (rows * d);
    return { ...base, gateL1, auxMse, loss: base.mse + spec.l1 * gateL1 + auxMse };
  },
  gradients: (f, { spec, params, x }) => {
    const { dIn: d, dDict: n } = spec;
    const rows = f.pre.length / n;
    const rMag = params.rMag!;
    const dDir = new Float64Array(n * d), dW = new Float64Array(n * d);
    const dBg = new Float64Array(n), dR = new Float64Array(n), dBm = new Float64Array(n);
    const dBd = params.decoderBias ? new Float64Array(d) : null;
    const g = new Float64Array(d), g2 = new Float64Array(d);
    for (let b = 0; b < rows; b++) {
      g2.fill(0);
      for (let i = 0; i < d; i++) g2[i] = (params.decoderBias?.[i] ?? 0) - x[b * d + i];
      for (let j = 0; j < n; j++) {
        const p = Math.max(f.pre[b * n + j], 0);
        if (p > 0) { for (let i = 0; i < d; i++) g2[i] += p * f.directions[j * d + i]; }
      }
      for (let i = 0; i < d; i++) {
        g[i] = (2 * (f.recon[b * d + i] - x[b * d + i])) / (rows * d);
        g2[i] *= 2 / (rows * d);
        if (dBd) dBd[i] += g[i];
      }
      for (let j = 0; j < n; j++) {
        const pi = f.pre[b * n + j];
        if (!(pi > 0)) continue;
        const c = f.codes[b * n + j];
        const scale = Math.exp(rMag[j]);
        let dm = 0, dg = spec.l1 / rows;
        for (let i = 0; i < d; i++) {
          dg += g2[i] * f.directions[j * d + i];
          if (c > 0) {
            dm += g[i] * f.directions[j * d + i];
            dDir[j * d + i] += c * g[i];
          }
        }
        dBg[j] += dg;
        dBm[j] += dm;
        dR[j] += dm * scale * (pi - params.encoderBias[j]);
        const dx = dg + scale * dm; // ∂L/∂(W_gate x')_bj through both paths
        for (let i = 0; i < d; i++) dW[j * d + i] += dx * f.input[b * d + i];
        if (dBd) { for (let i = 0; i < d; i++) dBd[i] -= dx * f.encoderUsed[j * d + i]; }
      }
    }
    return { encoder: dW, encoderBias: dBg, decoder: dDir, decoderBias: dBd, rMag: dR, bMag: dBm };
  },
};

/** Gated SAE. */
export const gated: SaeKindDef = Object.freeze(
  {
    name: "gated",
    summary:
      "untied, a Heaviside gate W_gate x + b_gate choosing features and a rescaled magnitude path (Rajamanoharan et al. 2024a)",
    help: "α weighs mean_b Σ_j ReLU(gate_j) with unit-norm decoder rows, as the paper (SAELens weighs each by " +
      "‖W_dec,j‖ instead), plus an auxiliary reconstruction from ReLU(gate) " +
      "through a stop-gradient decoder; SAELens' GatedTrainingSAE defaults: l1_coefficient " +
      `${SAELENS_GATED_DEFAULTS.l1_coefficient}, l1_warm_up_steps ${SAELENS_GATED_DEFAULTS.l1_warm_up_steps}, ` +
      "r_mag = b_gate = b_mag = 0 at init, squared errors summed over d_in (here means over every element, so α here = SAELens' l1_coefficient / d_in)",
    tied: false,
    preferred: false,
    ...reluKindFields,
    init: untiedInit,
    activate: (pre, codes, _spec, _threshold, params) => {
      if (!params) throw new RangeError("Cannot compute Gated codes without the member's parameters");
      gatedCodes(pre, codes, params);
    },
    featureParams: ["rMag", "bMag"],
    reference: gatedReference,
    gpu: { epilogue: "gated" },
    saelens: {
      cfg: () => ({ architecture: "gated", activation_fn_str: "relu" }),
      matches: (cfg) => {
        const own = cfgKindName(cfg);
        return own !== undefined ? own === "gated" : cfg.architecture === "gated";
      },
      spec: () => ({}),
    },
  } satisfies SaeKindDef,
);
