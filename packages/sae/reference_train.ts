/**
 * Float64 CPU training of one SAE with Adam (PyTorch's update rule), the
 * reference the GPU sweep trainer is tested against.
 *
 * @module
 */
import { KINDS } from "./kinds/mod.ts";
import { referenceGradients, type ReferenceParams } from "./reference.ts";
import { type AdamSettings, type OptimizerOptions, PAPER_ADAM, type SaeSpec } from "./spec.ts";
import type { SaeWeights } from "./weights.ts";

type Key = Exclude<keyof ReferenceParams, "threshold">;
const KEYS: readonly Key[] = ["encoder", "encoderBias", "decoder", "decoderBias", "rMag", "bMag"];

/**
 * Convert host weights to float64 reference parameters.
 *
 * @param w Weights.
 * @returns Float64 copies.
 * @example
 * ```ts
 * import { initWeights, toReferenceParams } from "@saelab/sae";
 * const p = toReferenceParams(initWeights({ kind: "tied", dIn: 2, dDict: 3, l1: 0 }));
 * if (p.decoder !== null) throw new Error("tied has no decoder");
 * ```
 */
export function toReferenceParams(w: SaeWeights): ReferenceParams {
  return {
    encoder: Float64Array.from(w.encoder),
    encoderBias: Float64Array.from(w.encoderBias),
    decoder: w.decoder ? Float64Array.from(w.decoder) : null,
    decoderBias: w.decoderBias ? Float64Array.from(w.decoderBias) : null,
    ...(w.threshold !== undefined ? { threshold: w.threshold } : {}),
    ...(w.rMag ? { rMag: Float64Array.from(w.rMag) } : {}),
    ...(w.bMag ? { bMag: Float64Array.from(w.bMag) } : {}),
  };
}

/**
 * One Adam update of `p` in place, as `torch.optim.Adam` does it:
 * `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `p ← p − lr · (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)`.
 *
 * @param p Parameter (updated).
 * @param state `g` gradient, `m` and `v` moments (updated), `step` t ≥ 1, `adam` settings.
 * @example
 * ```ts
 * import { adamReference, PAPER_ADAM } from "@saelab/sae";
 * const p = new Float64Array([1]);
 * adamReference(p, { g: new Float64Array([5]), m: new Float64Array(1), v: new Float64Array(1), step: 1, adam: PAPER_ADAM });
 * if (Math.abs(p[0] - (1 - 1e-3)) > 1e-9) throw new Error("the first Adam step moves by lr");
 * ```
 */
export function adamReference(
  p: Float64Array,
  state: { g: ArrayLike<number>; m: Float64Array; v: Float64Array; step: number; adam: AdamSettings },
): void {
  const { g, m, v, step, adam } = state;
  const c1 = 1 - adam.beta1 ** step, c2 = 1 - adam.beta2 ** step;
  for (let i = 0; i < p.length; i++) {
    m[i] = adam.beta1 * m[i] + (1 - adam.beta1) * g[i];
    v[i] = adam.beta2 * v[i] + (1 - adam.beta2) * g[i] * g[i];
    p[i] -= (adam.lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + adam.eps);
  }
}

/** Losses of one step (before the update). */
export interface StepLoss {
  /** `mse + α·l1`. */
  loss: number;
  /** Mean squared error over all elements. */
  mse: number;
  /** Mean L1 norm of the codes. */
  l1: number;
}

/** Trains one SAE on the CPU in float64. */
export class ReferenceTrainer {
  /** The resolved spec. */
  readonly spec: Required<SaeSpec>;
  /** Current parameters. */
  readonly params: ReferenceParams;
  /** Adam settings. */
  readonly adam: AdamSettings;
  /** Completed steps. */
  step = 0;
  #m: Partial<Record<Key, Float64Array>> = {};
  #v: Partial<Record<Key, Float64Array>> = {};

  /**
   * @param weights Initial weights (copied).
   * @param options Adam settings (paper defaults).
   */
  constructor(weights: SaeWeights, options: OptimizerOptions = {}) {
    this.spec = { ...weights.spec };
    this.params = toReferenceParams(weights);
    this.adam = { ...PAPER_ADAM, ...options };
    for (const k of KEYS) {
      const p = this.params[k];
      if (p) {
        this.#m[k] = new Float64Array(p.length);
        this.#v[k] = new Float64Array(p.length);
      }
    }
  }

  /**
   * One optimisation step on a batch.
   *
   * @param x `[B, dIn]` batch.
   * @returns The loss before the update.
   */
  trainStep(x: ArrayLike<number>): StepLoss {
    const { forward, grads } = referenceGradients(this.spec, this.params, x);
    this.step++;
    const batch = KINDS[this.spec.kind].batch;
    if (batch) this.params.threshold = batch.nextThreshold(this.params.threshold ?? 0, forward.codes);
    for (const k of KEYS) {
      const p = this.params[k];
      if (p) adamReference(p, { g: grads[k]!, m: this.#m[k]!, v: this.#v[k]!, step: this.step, adam: this.adam });
    }
    return { loss: forward.loss, mse: forward.mse, l1: forward.l1 };
  }

  /** The current parameters as float32 host weights. */
  toWeights(): SaeWeights {
    const p = this.params;
    return {
      spec: { ...this.spec },
      encoder: Float32Array.from(p.encoder),
      encoderBias: Float32Array.from(p.encoderBias),
      decoder: p.decoder ? Float32Array.from(p.decoder) : null,
      decoderBias: p.decoderBias ? Float32Array.from(p.decoderBias) : null,
      ...(p.threshold !== undefined ? { threshold: p.threshold } : {}),
      ...(p.rMag ? { rMag: Float32Array.from(p.rMag) } : {}),
      ...(p.bMag ? { bMag: Float32Array.from(p.bMag) } : {}),
    };
  }
}
