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
 *                 of the batch in training, `P · [P > θ]` at inference)
 * D̂_j = D_j / max(‖D_j‖, 1e-8)        (tied: D = M)
 * X̂  = C D̂ + b_dec                    // [B, dIn]
 * L  = Σ(X̂ − X)² / (B·dIn) + α · Σ|C| / B
 * ```
 * The MSE is a mean over every element and the L1 term a mean over rows of
 * the row's L1 norm, as in the paper's code (`(x̂ − x).pow(2).mean()`,
 * `α · ‖c‖₁.mean()`).
 *
 * Backward: `G = 2(X̂ − X)/(B·dIn)`, `∂D̂ = Cᵀ G`, `∂C = G D̂ᵀ + α/B`, `∂P = ∂C ⊙ [C > 0]`,
 * `∂b_e = Σ_b ∂P`, `∂W = ∂Pᵀ X'`, `∂b_dec = Σ_b (G − ∂P W)`, and through the row normalisation
 * `∂D_j = (∂D̂_j − (∂D̂_j·D̂_j) D̂_j) / ‖D_j‖`. Tied: `∂M̂ = ∂W + ∂D̂`, then the same normalisation rule.
 *
 * @module
 */
import { KINDS } from "./kinds/mod.ts";
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
  /** `D̂`, `[dDict, dIn]`. */
  directions: Float64Array;
  /** `max(‖D_j‖, 1e-8)`, `[dDict]`. */
  norms: Float64Array;
  /** `X̂`, `[B, dIn]`. */
  recon: Float64Array;
  /** Mean squared error over all elements. */
  mse: number;
  /** Mean over rows of `Σ_j |c_j|`. */
  l1: number;
  /** `mse + α · l1`, or the kind's own loss (Gated: see `kinds/gated.ts`). */
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
  for (let j = 0; j < n; j++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += raw[j * d + i] ** 2;
    norms[j] = Math.max(Math.sqrt(ss), NORM_EPS);
    for (let i = 0; i < d; i++) directions[j * d + i] = raw[j * d + i] / norms[j];
  }
  const encoderUsed = kind.tied ? directions : params.encoder;
  const pre = new Float64Array(rows * n);
  const codes = new Float64Array(rows * n);
  for (let b = 0; b < rows; b++) {
    for (let j = 0; j < n; j++) {
      let acc = params.encoderBias[j];
      for (let i = 0; i < d; i++) acc += encoderUsed[j * d + i] * input[b * d + i];
      pre[b * n + j] = acc;
    }
    if (!(options.training && kind.batch)) {
      const row = pre.subarray(b * n, (b + 1) * n);
      kind.activate(row, codes.subarray(b * n, (b + 1) * n), s, params.threshold ?? 0, params);
    }
  }
  if (options.training && kind.batch) kind.batch.activate(pre, codes, s);
  const recon = new Float64Array(rows * d);
  let se = 0, l1 = 0;
  for (let b = 0; b < rows; b++) {
    for (let i = 0; i < d; i++) recon[b * d + i] = params.decoderBias?.[i] ?? 0;
    for (let j = 0; j < n; j++) {
      const c = codes[b * n + j];
      if (c === 0) continue;
      l1 += Math.abs(c);
      for (let i = 0; i < d; i++) recon[b * d + i] += c * directions[j * d + i];
    }
    for (let i = 0; i < d; i++) se += (recon[b * d + i] - x[b * d + i]) ** 2;
  }
  const mse = se / (rows * d);
  l1 /= rows;
  const base = { input, encoderUsed, pre, codes, directions, norms, recon, mse, l1, loss: mse + s.l1 * l1 };
  return kind.reference ? kind.reference.forward(base, { spec: s, params }) : base;
}

/**
 * Gradients of the loss with respect to every parameter.
 *
 * @param spec Architecture and α.
 * @param params Parameters.
 * @param x `[rows, dIn]` inputs.
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
  const g = new Float64Array(rows * d); // ∂L/∂X̂
  for (let e = 0; e < g.length; e++) g[e] = (2 * (f.recon[e] - x[e])) / (rows * d);
  const dDir = new Float64Array(n * d); // ∂L/∂D̂
  const dW = new Float64Array(n * d); // ∂L/∂W (encoder as used)
  const dBe = new Float64Array(n);
  const dBd = params.decoderBias ? new Float64Array(d) : null;
  for (let b = 0; b < rows; b++) {
    for (let j = 0; j < n; j++) {
      const c = f.codes[b * n + j];
      if (c <= 0) continue;
      let dc = s.l1 / rows;
      for (let i = 0; i < d; i++) {
        dDir[j * d + i] += c * g[b * d + i];
        dc += g[b * d + i] * f.directions[j * d + i];
      }
      dBe[j] += dc;
      for (let i = 0; i < d; i++) dW[j * d + i] += dc * f.input[b * d + i];
      if (dBd) { for (let i = 0; i < d; i++) dBd[i] -= dc * f.encoderUsed[j * d + i]; }
    }
    if (dBd) { for (let i = 0; i < d; i++) dBd[i] += g[b * d + i]; }
  }
  let encoder: Float64Array, decoder: Float64Array | null;
  if (KINDS[s.kind].tied) {
    for (let e = 0; e < dW.length; e++) dW[e] += dDir[e];
    encoder = normalizeBackward(dW, f.directions, f.norms, d);
    decoder = null;
  } else {
    encoder = dW;
    decoder = normalizeBackward(dDir, f.directions, f.norms, d);
  }
  return { forward: f, grads: { encoder, encoderBias: dBe, decoder, decoderBias: dBd } };
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
