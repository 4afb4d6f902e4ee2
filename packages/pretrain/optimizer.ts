/**
 * AdamW with global-norm clipping, and the learning-rate schedule: linear
 * warm-up, then cosine decay to a floor.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { adam, clipGradNorm } from "@saelab/kernels";
import type { Param } from "./params.ts";

/** The schedule of {@linkcode learningRate}. */
export interface Schedule {
  /** Peak learning rate. */
  lr: number;
  /** Steps of linear warm-up from 0. */
  warmup: number;
  /** Total steps. */
  total: number;
  /** Final rate as a fraction of the peak. Default 0.1. */
  minRatio?: number;
}

/**
 * Learning rate of a 1-based step: `lr·step/warmup` during warm-up, then a cosine from `lr`
 * down to `minRatio·lr` at the last step.
 *
 * @param step The step, 1-based.
 * @param schedule Peak, warm-up, total, floor.
 * @returns The rate.
 * @example
 * ```ts
 * import { learningRate } from "@saelab/pretrain";
 * const s = { lr: 1e-3, warmup: 10, total: 110 };
 * console.log(learningRate(5, s), learningRate(10, s), learningRate(110, s).toFixed(6)); // 0.0005 0.001 0.000100
 * ```
 */
export function learningRate(step: number, schedule: Schedule): number {
  const { lr, warmup, total } = schedule;
  const floor = (schedule.minRatio ?? 0.1) * lr;
  if (step <= warmup) return (lr * step) / Math.max(1, warmup);
  const t = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return floor + 0.5 * (lr - floor) * (1 + Math.cos(Math.PI * t));
}

/** Hyper-parameters of {@linkcode optimizerStep}. */
export interface OptimizerOptions {
  /** Learning rate of this step. */
  lr: number;
  /** 1-based step (Adam's bias correction). */
  step: number;
  /** Decoupled weight decay of matrices. Default 0.1. */
  weightDecay?: number;
  /** Clip the global gradient norm to this. Default 1. */
  maxGradNorm?: number;
  /** Adam β1. Default 0.9. */
  beta1?: number;
  /** Adam β2. Default 0.95. */
  beta2?: number;
  /** Adam ε. Default 1e-8. */
  eps?: number;
  /** Write `[grad norm, clip factor]` here. */
  stats?: Tensor<"f32">;
}

/**
 * Clip the gradients to a global norm and apply one AdamW update to every parameter.
 *
 * @param gpu The GPU context.
 * @param params The parameters with this step's gradients.
 * @param options Rate, step and hyper-parameters.
 * @returns `[grad norm before clipping, clip factor]` (the given `stats` or a new tensor).
 * @example
 * ```ts ignore
 * const stats = optimizerStep(gpu, params, { lr: learningRate(step, schedule), step });
 * ```
 */
export function optimizerStep(gpu: Gpu, params: Map<string, Param>, options: OptimizerOptions): Tensor<"f32"> {
  const all = [...params.values()];
  const stats = clipGradNorm(gpu, all.map((p) => p.grad), { maxNorm: options.maxGradNorm ?? 1, out: options.stats });
  for (const p of all) {
    adam(gpu, { param: p.value, grad: p.grad, m: p.m, v: p.v }, {
      lr: options.lr,
      beta1: options.beta1 ?? 0.9,
      beta2: options.beta2 ?? 0.95,
      eps: options.eps ?? 1e-8,
      step: options.step,
      weightDecay: p.decay ? options.weightDecay ?? 0.1 : 0,
    });
  }
  return stats;
}
