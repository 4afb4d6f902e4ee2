/**
 * A float64 CPU reference of the paper's SAEs, written from the math, with
 * hand-derived gradients (checked by finite differences in the tests).
 *
 * Forward, for a batch `X [B, dIn]`:
 * ```
 * X' = X − b_dec                      (only with a decoder bias)
 * W  = W_e (untied, topk)  |  M̂ (tied)
 * P  = X' Wᵀ + b_e                    // [B, dDict] pre-activations
 * C  = ReLU(P)   (topk: keep the k largest P of each row, then ReLU; batchtopk: the k·B largest
 *                 of the batch in training, `P · [P > θ]` at inference; jumprelu: `P · H(P − θ_j)`
 *                 with a learned θ per feature)
 * D̂_j = D_j / max(‖D_j‖, 1e-8)        (tied: D = M)
 * X̂  = C D̂ + b_dec                    // [B, dIn]
 * L  = Σ(X̂ − X)² / (B·dIn) + α · Σ|C| / B
 * ```
 * Kinds with nested levels `m_1 < … < m_L = dDict` (matryoshka) sum the first term over the levels,
 * level `i` reconstructing `X̂_i = C[:, :m_i] D̂[:m_i] + b_dec`: `L = Σ_i Σ(X̂_i − X)² / (B·dIn) + α · Σ|C| / B`.
 * The MSE is a mean over every element and the L1 term a mean over rows of
 * the row's L1 norm, as in the paper's code (`(x̂ − x).pow(2).mean()`,
 * `α · ‖c‖₁.mean()`).
 *
 * With `l1Penalty: "decoder-norm"` (SAELens' standard training SAE, untied) the decoder is used as it is,
 * `X̂ = C D + b_dec`, and the penalty is `α · Σ_j |c_j|·‖D_j‖ / B`; `b_dec` is subtracted from the input as above
 * (SAELens' `apply_b_dec_to_input`, its default). The MSE stays the mean over every element: SAELens sums over
 * the input dimension (`mse.sum(-1).mean()`), so its α corresponds to `dIn` times this one. Its gradient clipping
 * (global norm 1) and decoder initialisation (rows of norm 0.1, `W_e = Dᵀ`) are not part of this penalty.
 * Backward: `∂C = G Dᵀ + α‖D_j‖/B`, and `∂D_j = (Cᵀ G)_j + (α/B)(Σ_b c_bj) D_j/‖D_j‖` with no normalisation.
 *
 * Backward: `G = 2(X̂ − X)/(B·dIn)`, `∂D̂ = Cᵀ G`, `∂C = G D̂ᵀ + α/B`, `∂P = ∂C ⊙ [C > 0]`,
 * `∂b_e = Σ_b ∂P`, `∂W = ∂Pᵀ X'`, `∂b_dec = Σ_b (G − ∂P W)`, and through the row normalisation
 * `∂D_j = (∂D̂_j − (∂D̂_j·D̂_j) D̂_j) / ‖D_j‖`. Tied: `∂M̂ = ∂W + ∂D̂`, then the same normalisation rule.
 * With nested levels, feature `j` sees the sum `H_j = Σ_{i: j < m_i} G_i` of the errors of the levels
 * that hold it in place of `G` (`∂D̂_j = Σ_b c_bj H_j`, `∂c_bj = H_j·D̂_j + α/B`), and `∂b_dec` sums `G_i` over every level.
 * Kinds with learned per-feature thresholds (JumpReLU) replace the L1 term by `α · mean_b Σ_j H(P_bj − θ_j)`:
 * `∂C` has no `α/B`, and `∂θ_j = Σ_b` the kind's straight-through estimate
 * (`thresholds.thetaGrad` of `P_bj`, `θ_j`, `∂C_bj = G_b·D̂_j`, `α/B`), trained as `∂ log θ_j = θ_j ∂θ_j`.
 *
 * @module
 */
import { levelWidths, type ThresholdOptions, thresholdSettings } from "./kinds/kind.ts";
import { KINDS, sparsityLoss } from "./kinds/mod.ts";
import { NORM_EPS, resolveSpec, type SaeSpec } from "./spec.ts";

/** Float64 parameters in the layout of {@linkcode SaeWeights}. */
export interface ReferenceParams {
  /** `W_e` or tied `M`, `[dDict, dIn]`. */
  encoder: Float64Array;
  /** `[dDict]`. */
  encoderBias: Float64Array;
  /** Unnormalised `D`, `[dDict, dIn]`, or `null` when tied. */
  decoder: Float64Array | null;
  /** `[dIn]` or `null`. */
  decoderBias: Float64Array | null;
  /** The learned inference threshold of kinds with a batch selection (BatchTopK); default 0. */
  threshold?: number;
  /** `log θ [dDict]` of kinds with learned per-feature thresholds (JumpReLU); default `log` of the kind's initial θ. */
  logThreshold?: Float64Array;
  /** Gated: `r_mag [dDict]`. */
  rMag?: Float64Array;
  /** Gated: `b_mag [dDict]` (`encoderBias` is `b_gate`). */
  bMag?: Float64Array;
}

/** Everything the forward pass computes. */
export interface ReferenceForward {
  /** `X'`, `[B, dIn]`. */
  input: Float64Array;
  /** Encoder matrix as used (`W_e` or `M̂`), `[dDict, dIn]`. */
  encoderUsed: Float64Array;
  /** `P`, `[B, dDict]`. */
  pre: Float64Array;
  /** `C`, `[B, dDict]`. */
  codes: Float64Array;
  /** `D̂`, `[dDict, dIn]` (with the decoder-norm penalty: `D` itself, the rows the decoder uses). */
  directions: Float64Array;
  /** `max(‖D_j‖, 1e-8)`, `[dDict]`. */
  norms: Float64Array;
  /** `X̂`, `[B, dIn]`. */
  recon: Float64Array;
  /** Mean squared error over all elements. */
  mse: number;
  /** Kinds with nested levels: the MSE of each level's reconstruction, ascending widths (the last is `mse`). */
  levelMse: number[];
  /** Mean over rows of `Σ_j |c_j|` (with the decoder-norm penalty: of `Σ_j |c_j|·‖D_j‖`). */
  l1: number;
  /** Mean over rows of the number of non-zero codes. */
  l0: number;
  /**
   * `Σ levelMse + α · l1` (`mse + α · l1` without nested levels; `α · l0` in place of `α · l1` for kinds with learned
   * per-feature thresholds), or the kind's own loss (Gated: see `kinds/gated.ts`).
   */
  loss: number;
  /** Gated: the auxiliary reconstruction error, a mean over every element. */
  auxMse?: number;
  /** Gated: mean over rows of `Σ_j ReLU(π_bj)`, the term α weighs. */
  gateL1?: number;
}

/**
 * Run the forward pass.
 *
 * @param spec Architecture and α.
 * @param params Parameters.
 * @param x `[rows, dIn]` inputs.
 * @param options `training`: codes as training selects them (BatchTopK: over the whole batch;
 *   default false, the inference codes).
 * @returns The forward quantities and the loss.
 * @example
 * ```ts
 * import { referenceForward } from "@saelab/sae";
 * const spec = { kind: "tied" as const, dIn: 2, dDict: 2, l1: 0 };
 * const p = { encoder: new Float64Array([1, 0, 0, 1]), encoderBias: new Float64Array(2), decoder: null, decoderBias: null };
 * const f = referenceForward(spec, p, new Float64Array([0.5, 2]));
 * if (f.loss !== 0) throw new Error("identity dictionary reconstructs positive inputs exactly");
 * ```
 */
export function referenceForward(
  spec: SaeSpec,
  params: ReferenceParams,
  x: ArrayLike<number>,
  options: { training?: boolean } = {},
): ReferenceForward {
  const s = resolveSpec(spec);
  const { dIn: d, dDict: n } = s;
  if (x.length % d !== 0) {
    throw new RangeError(`Cannot run the SAE: input length ${x.length} is not a multiple of ${d}`);
  }
  const rows = x.length / d;
  const input = new Float64Array(rows * d);
  for (let b = 0; b < rows; b++) {
    for (let i = 0; i < d; i++) input[b * d + i] = x[b * d + i] - (params.decoderBias?.[i] ?? 0);
  }
  const kind = KINDS[s.kind];
  const raw = kind.tied ? params.encoder : params.decoder!;
  const norms = new Float64Array(n);
  const directions = new Float64Array(n * d);
  const unnormalised = s.l1Penalty === "decoder-norm";
  for (let j = 0; j < n; j++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += raw[j * d + i] ** 2;
    norms[j] = Math.max(Math.sqrt(ss), NORM_EPS);
    for (let i = 0; i < d; i++) directions[j * d + i] = unnormalised ? raw[j * d + i] : raw[j * d + i] / norms[j];
  }
  const encoderUsed = kind.tied ? directions : params.encoder;
  const pre = new Float64Array(rows * n);
  const codes = new Float64Array(rows * n);
  const theta = thresholdsOf(s, params);
  for (let b = 0; b < rows; b++) {
    for (let j = 0; j < n; j++) {
      let acc = params.encoderBias[j];
      for (let i = 0; i < d; i++) acc += encoderUsed[j * d + i] * input[b * d + i];
      pre[b * n + j] = acc;
    }
    const row = pre.subarray(b * n, (b + 1) * n);
    if (theta) {
      kind.thresholds!.activate(row, codes.subarray(b * n, (b + 1) * n), theta);
    } else if (!(options.training && kind.batch)) {
      kind.activate(row, codes.subarray(b * n, (b + 1) * n), s, params.threshold ?? 0, params);
    }
  }
  if (options.training && kind.batch) kind.batch.activate(pre, codes, s);
  const recon = new Float64Array(rows * d);
  let se = 0, l1 = 0, l0 = 0;
  for (let b = 0; b < rows; b++) {
    for (let i = 0; i < d; i++) recon[b * d + i] = params.decoderBias?.[i] ?? 0;
    for (let j = 0; j < n; j++) {
      const c = codes[b * n + j];
      if (c === 0) continue;
      l1 += Math.abs(c) * (unnormalised ? norms[j] : 1);
      l0++;
      for (let i = 0; i < d; i++) recon[b * d + i] += c * directions[j * d + i];
    }
    for (let i = 0; i < d; i++) se += (recon[b * d + i] - x[b * d + i]) ** 2;
  }
  const mse = se / (rows * d);
  l1 /= rows;
  l0 /= rows;
  const levelMse = levelRecons(s, { codes, directions, recon }, params.decoderBias).slice(0, -1).map((r) => {
    let sum = 0;
    for (let e = 0; e < r.length; e++) sum += (r[e] - x[e]) ** 2;
    return sum / (rows * d);
  });
  levelMse.push(mse);
  const recError = levelMse.length === 1 ? mse : levelMse.reduce((a, b) => a + b, 0);
  const base = {
    input,
    encoderUsed,
    pre,
    codes,
    directions,
    norms,
    recon,
    mse,
    levelMse,
    l1,
    l0,
    loss: recError + sparsityLoss(s, { l0, l1 }),
  };
  return kind.reference ? kind.reference.forward(base, { spec: s, params }) : base;
}

/** Each level's reconstruction `C[:, :m_i] D̂[:m_i] + b_dec`, ascending; the last is the full `recon`. */
function levelRecons(
  spec: Required<SaeSpec>,
  f: Pick<ReferenceForward, "codes" | "directions" | "recon">,
  bias: Float64Array | null,
): Float64Array[] {
  const { dIn: d, dDict: n } = spec;
  const widths = levelWidths(spec);
  const rows = f.recon.length / d;
  const inner = widths.slice(0, -1).map((m) => {
    const r = new Float64Array(rows * d);
    for (let b = 0; b < rows; b++) {
      for (let i = 0; i < d; i++) r[b * d + i] = bias?.[i] ?? 0;
      for (let j = 0; j < m; j++) {
        const c = f.codes[b * n + j];
        if (c !== 0) { for (let i = 0; i < d; i++) r[b * d + i] += c * f.directions[j * d + i]; }
      }
    }
    return r;
  });
  return [...inner, f.recon];
}

/** `θ = exp(log θ)` of a kind with learned per-feature thresholds (the initial θ when none are given), else null. */
function thresholdsOf(s: Required<SaeSpec>, params: ReferenceParams): Float64Array | null {
  const t = KINDS[s.kind].thresholds;
  if (!t) return null;
  if (params.logThreshold && params.logThreshold.length !== s.dDict) {
    throw new RangeError(
      `Cannot run the SAE: logThreshold has ${params.logThreshold.length} values, expected ${s.dDict}`,
    );
  }
  return params.logThreshold ? params.logThreshold.map(Math.exp) : new Float64Array(s.dDict).fill(t.init);
}

/**
 * Gradients of the loss with respect to every parameter.
 *
 * @param spec Architecture and α.
 * @param params Parameters.
 * @param x `[rows, dIn]` inputs.
 * @param options `bandwidth` ε of kinds with learned per-feature thresholds (default the kind's).
 * @returns The forward pass and the gradients (same layout as `params`).
 * @example
 * ```ts
 * import { referenceGradients } from "@saelab/sae";
 * const spec = { kind: "untied" as const, dIn: 2, dDict: 1, l1: 0.1 };
 * const p = { encoder: new Float64Array([1, 0]), encoderBias: new Float64Array(1),
 *   decoder: new Float64Array([0, 1]), decoderBias: null };
 * const { grads } = referenceGradients(spec, p, new Float64Array([1, 0]));
 * if (!(grads.encoderBias[0] > 0)) throw new Error("reconstructing on the wrong axis should shrink the code");
 * ```
 */
export function referenceGradients(
  spec: SaeSpec,
  params: ReferenceParams,
  x: ArrayLike<number>,
  options: Pick<ThresholdOptions, "bandwidth"> = {},
): { forward: ReferenceForward; grads: ReferenceParams } {
  const s = resolveSpec(spec);
  const { dIn: d, dDict: n } = s;
  const f = referenceForward(s, params, x, { training: true });
  const own = KINDS[s.kind].reference;
  if (own) {
    const grads = own.gradients(f, { spec: s, params, x });
    return { forward: f, grads: { ...grads, decoder: normalizeBackward(grads.decoder!, f.directions, f.norms, d) } };
  }
  const rows = x.length / d;
  // H[ℓ]: the summed ∂L/∂X̂_i of the levels i ≥ ℓ, the error a feature of band ℓ (m_{ℓ−1} ≤ j < m_ℓ) sees
  const widths = levelWidths(s);
  const H = levelRecons(s, f, params.decoderBias).map((r) => {
    const g = new Float64Array(rows * d);
    for (let e = 0; e < g.length; e++) g[e] = (2 * (r[e] - x[e])) / (rows * d);
    return g;
  });
  for (let l = H.length - 2; l >= 0; l--) for (let e = 0; e < rows * d; e++) H[l][e] += H[l + 1][e];
  const band = new Int32Array(n);
  for (let j = 0, l = 0; j < n; j++) {
    while (j >= widths[l]) l++;
    band[j] = l;
  }
  const dDir = new Float64Array(n * d); // ∂L/∂D̂
  const dW = new Float64Array(n * d); // ∂L/∂W (encoder as used)
  const dBe = new Float64Array(n);
  const dBd = params.decoderBias ? new Float64Array(d) : null;
  const jump = KINDS[s.kind].thresholds;
  const bandwidth = jump ? thresholdSettings(jump, options).bandwidth : 0;
  const dTheta = jump ? new Float64Array(n) : null; // ∂L/∂θ by the kind's straight-through estimator
  const theta = thresholdsOf(s, params);
  const unnormalised = s.l1Penalty === "decoder-norm";
  const l1Mass = new Float64Array(n); // Σ_b c_bj, for the decoder-norm penalty's ∂/∂D
  for (let b = 0; b < rows; b++) {
    if (jump) {
      for (let j = 0; j < n; j++) {
        const g = H[band[j]]; // the error feature j sees
        let code = 0;
        for (let i = 0; i < d; i++) code += g[b * d + i] * f.directions[j * d + i];
        dTheta![j] += jump.thetaGrad(f.pre[b * n + j], theta![j], { code, penalty: s.l1 / rows, bandwidth });
      }
    }
    for (let j = 0; j < n; j++) {
      const c = f.codes[b * n + j];
      if (c <= 0) continue;
      const g = H[band[j]];
      let dc = jump ? 0 : (s.l1 / rows) * (unnormalised ? f.norms[j] : 1); // JumpReLU: the L0 term reaches θ only
      if (unnormalised && !jump) l1Mass[j] += c;
      for (let i = 0; i < d; i++) {
        dDir[j * d + i] += c * g[b * d + i];
        dc += g[b * d + i] * f.directions[j * d + i];
      }
      dBe[j] += dc;
      for (let i = 0; i < d; i++) dW[j * d + i] += dc * f.input[b * d + i];
      if (dBd) { for (let i = 0; i < d; i++) dBd[i] -= dc * f.encoderUsed[j * d + i]; }
    }
    if (dBd) { for (let i = 0; i < d; i++) dBd[i] += H[0][b * d + i]; }
  }
  let encoder: Float64Array, decoder: Float64Array | null;
  if (KINDS[s.kind].tied) {
    for (let e = 0; e < dW.length; e++) dW[e] += dDir[e];
    encoder = normalizeBackward(dW, f.directions, f.norms, d);
    decoder = null;
  } else if (unnormalised) {
    encoder = dW;
    decoder = dDir;
    for (let j = 0; j < n; j++) {
      const k = (s.l1 / rows) * l1Mass[j] / f.norms[j];
      for (let i = 0; i < d; i++) decoder[j * d + i] += k * f.directions[j * d + i];
    }
  } else {
    encoder = dW;
    decoder = normalizeBackward(dDir, f.directions, f.norms, d);
  }
  const logThreshold = dTheta ? dTheta.map((v, j) => v * theta![j]) : null; // ∂L/∂log θ = θ · ∂L/∂θ
  return {
    forward: f,
    grads: { encoder, encoderBias: dBe, decoder, decoderBias: dBd, ...(logThreshold ? { logThreshold } : {}) },
  };
}

/** `∂D_j = (∂D̂_j − (∂D̂_j·D̂_j) D̂_j) / ‖D_j‖`; below the norm guard `D̂ = D / 1e-8` is linear. */
function normalizeBackward(dDir: Float64Array, dir: Float64Array, norms: Float64Array, d: number): Float64Array {
  const out = new Float64Array(dDir.length);
  for (let j = 0; j < norms.length; j++) {
    const clamped = norms[j] <= NORM_EPS;
    let dot = 0;
    if (!clamped) { for (let i = 0; i < d; i++) dot += dDir[j * d + i] * dir[j * d + i]; }
    for (let i = 0; i < d; i++) out[j * d + i] = (dDir[j * d + i] - dot * dir[j * d + i]) / norms[j];
  }
  return out;
}

/** What {@linkcode referenceAuxK} returns. */
export interface ReferenceAuxK {
  /** The aux codes `A [B, dDict]`: per row the `k_eff` largest positive pre-activations of dead latents. */
  codes: Float64Array;
  /** `σ = min(dead / k_aux, 1)`. */
  scale: number;
  /** `α_aux · σ · Σ(ê − e)² / (B·dIn)`. */
  loss: number;
  /** Its gradients (layout of the params; `decoderBias` null without one). */
  grads: ReferenceParams;
}

/**
 * The AuxK loss (Gao et al. 2024) of a training step and its gradients. With `dead` latents
 * (`k_eff = min(k_aux, dead)`), each row keeps its `k_eff` largest positive pre-activations among
 * them (ties at the threshold all kept) as aux codes `A`; `ê = A D̂` (no `b_dec`, as the paper's
 * `W_dec z`) reconstructs the residual `e = x − x̂` of the main reconstruction, held fixed; the loss
 * is `α_aux · σ · Σ(ê − e)² / (B·dIn)` with `σ = min(dead / k_aux, 1)` (sparsify's scale), the
 * project's MSE (a mean over all elements, where sparsify divides by the residual's variance).
 *
 * @param spec Architecture and AuxK settings (`auxK` ≥ 1).
 * @param params Parameters.
 * @param x `[rows, dIn]` inputs.
 * @param options The step's training forward pass and the dead mask `[dDict]`.
 * @returns Aux codes, scale, loss and gradients.
 * @example
 * ```ts
 * import { referenceAuxK, referenceForward } from "@saelab/sae";
 * const spec = { kind: "topk" as const, dIn: 2, dDict: 2, l1: 0, k: 1, auxK: 1, auxAlpha: 1 };
 * const p = { encoder: new Float64Array([1, 0, 0, 1]), encoderBias: new Float64Array(2),
 *   decoder: new Float64Array([1, 0, 0, 1]), decoderBias: null };
 * const x = new Float64Array([2, 1]);
 * const forward = referenceForward(spec, p, x, { training: true }); // keeps feature 0
 * const aux = referenceAuxK(spec, p, x, { forward, dead: new Uint8Array([0, 1]) });
 * if (aux.codes[1] !== 1 || aux.loss !== 0) throw new Error("the dead feature 1 reconstructs the residual [0, 1]");
 * ```
 */
export function referenceAuxK(
  spec: SaeSpec,
  params: ReferenceParams,
  x: ArrayLike<number>,
  options: { forward: ReferenceForward; dead: Uint8Array },
): ReferenceAuxK {
  const s = resolveSpec(spec);
  const { dIn: d, dDict: n } = s;
  const { forward: f, dead } = options;
  const rows = x.length / d;
  const count = dead.reduce((a, b) => a + b, 0);
  const k = Math.min(s.auxK, count), scale = Math.min(count / s.auxK, 1);
  const codes = new Float64Array(rows * n);
  for (let b = 0; b < rows; b++) {
    const alive = [];
    for (let j = 0; j < n; j++) if (dead[j] && f.pre[b * n + j] > 0) alive.push(f.pre[b * n + j]);
    if (k === 0 || alive.length === 0) continue;
    const cut = alive.sort((u, v) => v - u)[Math.min(k, alive.length) - 1];
    for (let j = 0; j < n; j++) {
      const v = f.pre[b * n + j];
      if (dead[j] && v > 0 && v >= cut) codes[b * n + j] = v;
    }
  }
  const gAux = new Float64Array(rows * d); // ∂L_aux/∂ê
  let se = 0;
  for (let b = 0; b < rows; b++) {
    for (let i = 0; i < d; i++) {
      let eHat = 0;
      for (let j = 0; j < n; j++) eHat += codes[b * n + j] * f.directions[j * d + i];
      const diff = eHat - (x[b * d + i] - f.recon[b * d + i]);
      se += diff * diff;
      gAux[b * d + i] = (2 * s.auxAlpha * scale * diff) / (rows * d);
    }
  }
  const dDir = new Float64Array(n * d), dW = new Float64Array(n * d), dBe = new Float64Array(n);
  const dBd = params.decoderBias ? new Float64Array(d) : null;
  for (let b = 0; b < rows; b++) {
    for (let j = 0; j < n; j++) {
      const a = codes[b * n + j];
      if (a <= 0) continue;
      let da = 0;
      for (let i = 0; i < d; i++) {
        dDir[j * d + i] += a * gAux[b * d + i];
        da += gAux[b * d + i] * f.directions[j * d + i];
      }
      dBe[j] += da;
      for (let i = 0; i < d; i++) dW[j * d + i] += da * f.input[b * d + i];
      if (dBd) { for (let i = 0; i < d; i++) dBd[i] -= da * f.encoderUsed[j * d + i]; }
    }
  }
  return {
    codes,
    scale,
    loss: (s.auxAlpha * scale * se) / (rows * d),
    grads: {
      encoder: dW,
      encoderBias: dBe,
      decoder: normalizeBackward(dDir, f.directions, f.norms, d),
      decoderBias: dBd,
    },
  };
}
