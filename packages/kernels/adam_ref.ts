/**
 * Textbook Adam (Kingma & Ba 2015, Algorithm 1) with the decoupled weight decay of
 * AdamW (Loshchilov & Hutter 2019), in float64.
 *
 * @module
 */

/**
 * One step, in place.
 *
 * @param state Parameter and moments, updated.
 * @param grad Gradient.
 * @param options Hyper-parameters and the 1-based step `t`.
 * @example
 * ```ts
 * import { adamRefStep } from "./adam_ref.ts";
 * const s = { param: new Float64Array([1]), m: new Float64Array(1), v: new Float64Array(1) };
 * adamRefStep(s, [0.5], { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 0, t: 1 });
 * console.log(s.param[0]); // 0.9: the first step moves by lr·sign(g)
 * ```
 */
export function adamRefStep(
  state: { param: Float64Array; m: Float64Array; v: Float64Array },
  grad: ArrayLike<number>,
  options: { lr: number; beta1: number; beta2: number; eps: number; t: number; weightDecay?: number },
): void {
  const { lr, beta1, beta2, eps, t } = options;
  const wd = options.weightDecay ?? 0;
  for (let i = 0; i < state.param.length; i++) {
    const g = grad[i];
    state.param[i] -= lr * wd * state.param[i]; // decoupled decay uses θ_{t−1}
    state.m[i] = beta1 * state.m[i] + (1 - beta1) * g;
    state.v[i] = beta2 * state.v[i] + (1 - beta2) * g * g;
    const mHat = state.m[i] / (1 - Math.pow(beta1, t));
    const vHat = state.v[i] / (1 - Math.pow(beta2, t));
    state.param[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
  }
}
