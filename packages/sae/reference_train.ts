/**
 * Float64 CPU training of one SAE with Adam (PyTorch's update rule), the
 * reference the GPU sweep trainer is tested against.
 *
 * @module
 */
import { KINDS } from "./kinds/mod.ts";
import type { ThresholdOptions } from "./kinds/kind.ts";
import { referenceAuxK, referenceGradients, type ReferenceParams } from "./reference.ts";
import { type AdamSettings, type OptimizerOptions, PAPER_ADAM, type SaeSpec } from "./spec.ts";
import type { SaeWeights } from "./weights.ts";
import { l1Coefficient } from "./schedule.ts";

/** Options of {@linkcode ReferenceTrainer}: Adam's settings and the training recipes the GPU trainer offers. */
export interface ReferenceTrainerOptions extends OptimizerOptions {
  /** SAELens' L1 warm-up (`SweepOptions.l1WarmupSteps`). Default 0. */
  l1WarmupSteps?: number;
}

type Key = Exclude<keyof ReferenceParams, "threshold">;
const KEYS: readonly Key[] = ["encoder", "encoderBias", "decoder", "decoderBias", "rMag", "bMag", "logThreshold"];

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
    ...(w.logThreshold ? { logThreshold: Float64Array.from(w.logThreshold) } : {}),
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
  /** `mse + α·l1` (`mse + α·l0` for kinds with learned per-feature thresholds). */
  loss: number;
  /** Mean squared error over all elements. */
  mse: number;
  /** Mean L1 norm of the codes. */
  l1: number;
  /** Mean number of active codes per row. */
  l0: number;
  /** The AuxK term in `loss` (0 without AuxK). */
  aux: number;
}

/** Trains one SAE on the CPU in float64. */
export class ReferenceTrainer {
  /** The resolved spec. */
  readonly spec: Required<SaeSpec>;
  /** Current parameters. */
  readonly params: ReferenceParams;
  /** Adam settings. */
  readonly adam: AdamSettings;
  /** The bandwidth ε of kinds with learned per-feature thresholds (default the kind's). */
  readonly bandwidth?: number;
  /** Completed steps. */
  step = 0;
  /** L1 warm-up steps (0: none). */
  readonly l1WarmupSteps: number;
  #m: Partial<Record<Key, Float64Array>> = {};
  #v: Partial<Record<Key, Float64Array>> = {};
  /** The step at which each feature last fired (0: never), as the GPU trainer keeps it. */
  #fired: Uint32Array;

  /**
   * @param weights Initial weights (copied).
   * @param options Adam settings (paper defaults), recipes (none by default) and the `bandwidth` of kinds with
   *   learned per-feature thresholds.
   */
  constructor(weights: SaeWeights, options: ReferenceTrainerOptions & Pick<ThresholdOptions, "bandwidth"> = {}) {
    this.spec = { ...weights.spec };
    this.params = toReferenceParams(weights);
    const { l1WarmupSteps, bandwidth, ...adam } = options;
    this.adam = { ...PAPER_ADAM, ...adam };
    this.l1WarmupSteps = l1WarmupSteps ?? 0;
    this.#fired = new Uint32Array(this.spec.dDict);
    if (bandwidth !== undefined) this.bandwidth = bandwidth;
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
   * @returns The loss before the update (at this step's L1 coefficient).
   */
  trainStep(x: ArrayLike<number>): StepLoss {
    const l1 = l1Coefficient(this.step + 1, { l1: this.spec.l1, warmupSteps: this.l1WarmupSteps });
    const { forward, grads } = referenceGradients({ ...this.spec, l1 }, this.params, x, { bandwidth: this.bandwidth });
    this.step++;
    const n = this.spec.dDict, rows = x.length / this.spec.dIn;
    for (let e = 0; e < forward.codes.length; e++) if (forward.codes[e] > 0) this.#fired[e % n] = this.step;
    let aux = 0;
    if (this.spec.auxK > 0) {
      // dead: no firing over more than the window's tokens, this step's batch included
      const windowSteps = Math.floor(this.spec.deadWindow / rows);
      const dead = Uint8Array.from(this.#fired, (f) => (this.step - f > windowSteps ? 1 : 0));
      const extra = referenceAuxK(this.spec, this.params, x, { forward, dead });
      aux = extra.loss;
      for (const k of KEYS) {
        const g = grads[k], more = extra.grads[k];
        if (g && more) { for (let i = 0; i < g.length; i++) g[i] += more[i]; }
      }
    }
    const batch = KINDS[this.spec.kind].batch;
    if (batch) this.params.threshold = batch.nextThreshold(this.params.threshold ?? 0, forward.codes);
    for (const k of KEYS) {
      const p = this.params[k];
      if (p) adamReference(p, { g: grads[k]!, m: this.#m[k]!, v: this.#v[k]!, step: this.step, adam: this.adam });
    }
    return { loss: forward.loss + aux, mse: forward.mse, l1: forward.l1, l0: forward.l0, aux };
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
      ...(p.logThreshold ? { logThreshold: Float32Array.from(p.logThreshold) } : {}),
    };
  }
}
