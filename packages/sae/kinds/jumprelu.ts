/**
 * `jumprelu` (Rajamanoharan et al. 2024b, "Jumping Ahead"): untied, with a threshold `θ_j > 0` per
 * feature learned in training. Pre-activations `z = W_e (x − b_dec) + b_e`, codes
 * `f_j = z_j · H(z_j − θ_j)` (`H` the Heaviside step, `H(0) = 0`), and the loss
 * `mean((x − x̂)²) + α · mean_b Σ_j H(z_bj − θ_j)`: an L0 penalty with coefficient α in place of
 * the L1 term. `θ` is trained as `log θ` (SAELens' `log_threshold`, which keeps it positive) by Adam
 * with the other parameters, through straight-through estimators with the rectangle kernel
 * `K(u) = 1{−½ < u < ½}` of bandwidth `ε`:
 * `∂f/∂θ = −(θ/ε) · K((z − θ)/ε)`, `∂H/∂θ = −(1/ε) · K((z − θ)/ε)`, `∂f/∂z = H(z − θ)`, and no
 * gradient of the L0 term into `z`.
 *
 * Defaults are SAELens' `JumpReLUTrainingSAEConfig`'s: bandwidth `ε = 0.001`
 * (`jumprelu_bandwidth`) and initial threshold `θ = 0.001` (`jumprelu_init_threshold`), for
 * activations scaled to mean squared norm `d_in`, as `train` scales them. Deviations: the MSE is the
 * mean over all elements, as for every kind here (SAELens sums over the `d_in` dimensions), so
 * SAELens' `l0_coefficient` (default 1) is `α · d_in` here — `α = 1/d_in` is SAELens' default; the
 * decoder rows are unit length in every forward pass, as for every kind here; no L0 warm-up, no
 * pre-activation noise; `train` and `toy` start `θ` at {@linkcode JUMPRELU_START_THRESHOLD} (0.1), not
 * 0.001. `ε` and the initial `θ` are settings of the trainers (`SweepOptions.thresholds`;
 * `--jumprelu-bandwidth`, `--jumprelu-init-threshold`). Written for SAELens as a `jumprelu` SAE whose
 * `threshold` tensor holds `θ`, with `l0_coefficient = α · d_in` in its cfg (SAELens' name and units).
 *
 * @module
 */
import { jumpReluSelect, jumpReluThresholdGrad } from "@saelab/kernels";
import { cfgKindName, type SaeKindDef, untiedInit } from "./kind.ts";

/** SAELens' `jumprelu_bandwidth`: the width `ε` of the straight-through estimators' rectangle kernel. */
export const JUMPRELU_BANDWIDTH = 0.001;

/** SAELens' `jumprelu_init_threshold`: `θ` of every feature at initialisation. */
export const JUMPRELU_INIT_THRESHOLD = 0.001;

/**
 * The initial `θ` that `train` and `toy` give jumprelu members (`--jumprelu-init-threshold`), in place of SAELens'
 * 0.001: with `ε = 0.001` a threshold learns only from pre-activations within `ε/2` of it, and from 0.001 the default
 * run's members stayed dense (L0 126.7–127.7 of d_sae 128 at α 3e-3, 1e-2 and 3e-2: 1,600 steps of 1,024 rows on the
 * default model), where from 0.1 they trained to L0 56.7, 43.1 and 38.0 and converged; the toy's members stay dense
 * from 0.001 as well.
 */
export const JUMPRELU_START_THRESHOLD = 0.1;

/** SAELens' default `l0_coefficient`, which weighs L0 against an MSE summed over `d_in` (α here is it over `d_in`). */
export const SAELENS_L0_COEFFICIENT = 1;

/**
 * JumpReLU codes of one row: `z_j` where `z_j > θ_j`, else 0.
 *
 * @param pre Pre-activations `z`.
 * @param codes Written: the codes.
 * @param theta Threshold of each feature.
 * @returns Nothing.
 * @example
 * ```ts
 * import { jumpReluRow } from "./jumprelu.ts";
 * const c = new Float64Array(3);
 * jumpReluRow(new Float64Array([0.5, 0.2, -1]), c, [0.3, 0.2, 0.1]);
 * if (c[0] !== 0.5 || c[1] !== 0 || c[2] !== 0) throw new Error("jumprelu");
 * ```
 */
export function jumpReluRow(pre: Float64Array, codes: Float64Array, theta: ArrayLike<number>): void {
  for (let j = 0; j < pre.length; j++) codes[j] = pre[j] > theta[j] ? pre[j] : 0;
}

/** JumpReLU SAE. */
export const jumprelu: SaeKindDef = Object.freeze(
  {
    name: "jumprelu",
    summary:
      "untied, a learned threshold per feature and an L0 penalty with α as its coefficient (Rajamanoharan et al. 2024b)",
    tied: false,
    needs: [],
    preferred: false,
    resolveK: () => 0,
    nameTail: (spec) => `a${spec.l1.toExponential(1)}`,
    init: untiedInit,
    featureParams: ["logThreshold"],
    // one θ for every feature (the initial one by default); the reference passes the learned θ to `thresholds.activate`
    activate: (pre, codes, _spec, threshold = JUMPRELU_INIT_THRESHOLD) =>
      jumpReluRow(pre, codes, new Float64Array(pre.length).fill(threshold)),
    thresholds: {
      init: JUMPRELU_INIT_THRESHOLD,
      bandwidth: JUMPRELU_BANDWIDTH,
      activate: jumpReluRow,
      thetaGrad: (z, theta, { code, penalty, bandwidth: eps }) => {
        const u = (z - theta) / eps;
        return u > -0.5 && u < 0.5 ? -(theta / eps) * code - penalty / eps : 0;
      },
      gradKernel: jumpReluThresholdGrad,
    },
    gpu: { epilogue: "encodeRaw", select: jumpReluSelect },
    saelens: {
      cfg: (spec) => ({
        architecture: "jumprelu",
        activation_fn_str: "relu",
        l0_coefficient: spec.l1 * spec.dIn,
      }),
      matches: (cfg) => {
        const own = cfgKindName(cfg);
        if (own !== undefined) return own === "jumprelu";
        const meta = cfg.metadata as { training_architecture?: unknown } | undefined;
        return cfg.architecture === "jumprelu" &&
          (meta?.training_architecture === undefined || meta.training_architecture === "jumprelu");
      },
      spec: () => ({}),
    },
  } satisfies SaeKindDef,
);
