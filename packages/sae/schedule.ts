/**
 * Learning-rate schedules of the trainer: `constant`; `warmup-decay` (SAELens' style: a linear
 * warm-up from 0 over the first steps, constant, then a linear decay to 0 over the last steps); or
 * `warmup-linear` (the linear warm-up, then a linear decay to 0 over every step after it — the
 * rate falls from the end of the warm-up on); or `warmup-cosine` (the linear warm-up, then a cosine
 * decay to 0 over every step after it: `lr·½(1 + cos πt)`, t from 0 to 1).
 *
 * @module
 */

/** The schedules {@linkcode learningRate} knows. */
export const LR_SCHEDULES = ["constant", "warmup-decay", "warmup-linear", "warmup-cosine"] as const;
/** A schedule name. */
export type LrSchedule = typeof LR_SCHEDULES[number];

/** What each schedule does, in words (for help texts and summaries). */
export const LR_SCHEDULE_TEXT: Readonly<Record<LrSchedule, string>> = Object.freeze({
  "constant": "the peak rate at every step",
  "warmup-decay": "linear warm-up, constant, then a linear decay to 0 over the last steps",
  "warmup-linear": "linear warm-up, then a linear decay to 0 over every later step",
  "warmup-cosine": "linear warm-up, then a cosine decay to 0 over every later step",
});

/** A schedule with its lengths. */
export interface LrScheduleOptions {
  /** Which schedule. */
  schedule: LrSchedule;
  /** The peak learning rate. */
  lr: number;
  /** Total steps. */
  steps: number;
  /** Warm-up steps (`warmup-decay`, `warmup-linear`; default 5% of the steps). */
  warmupSteps?: number;
  /** Decay steps at the end (`warmup-decay`; default 20% of the steps; `warmup-linear`: every step after the warm-up). */
  decaySteps?: number;
}

/**
 * The learning rate of a step.
 *
 * @param step The step being taken, counted from 1.
 * @param options Schedule, peak rate, total steps and the warm-up and decay lengths.
 * @returns The rate (`lr·step/warmup` during warm-up, `lr·(steps − step + 1)/decay` in the decay; `warmup-linear`
 *   decays over `steps − warmup` steps).
 * @example
 * ```ts
 * import { learningRate } from "@saelab/sae";
 * const o = { schedule: "warmup-decay", lr: 1e-3, steps: 100 } as const;
 * const near = (a: number, b: number) => Math.abs(a - b) < 1e-12;
 * if (!near(learningRate(1, o), 2e-4) || !near(learningRate(50, o), 1e-3) || !near(learningRate(100, o), 5e-5)) {
 *   throw new Error("warm-up, plateau, decay");
 * }
 * const linear = { schedule: "warmup-linear", lr: 1e-3, steps: 105, warmupSteps: 5 } as const; // then 100 of decay
 * if (!near(learningRate(5, linear), 1e-3) || !near(learningRate(56, linear), 5e-4)) throw new Error("linear");
 * const cosine = { ...linear, schedule: "warmup-cosine" } as const; // half way through the decay: half the peak
 * if (!near(learningRate(55, cosine), 5e-4) || !near(learningRate(105, cosine), 0)) throw new Error("cosine");
 * ```
 */
export function learningRate(step: number, options: LrScheduleOptions): number {
  const { lr, steps } = options;
  if (options.schedule === "constant") return lr;
  const warmup = options.warmupSteps ?? Math.round(0.05 * steps);
  if (options.schedule === "warmup-cosine") {
    if (warmup > 0 && step <= warmup) return lr * step / warmup;
    const t = Math.min(1, (step - warmup) / Math.max(1, steps - warmup));
    return lr * 0.5 * (1 + Math.cos(Math.PI * t));
  }
  const decay = options.schedule === "warmup-linear" ? steps - warmup : options.decaySteps ?? Math.round(0.2 * steps);
  let f = 1;
  if (warmup > 0 && step <= warmup) f = Math.min(f, step / warmup);
  if (decay > 0 && step > steps - decay) f = Math.min(f, Math.max(0, steps - step + 1) / decay);
  return lr * f;
}

/**
 * The L1 coefficient of a step under SAELens' L1 warm-up (`l1_warm_up_steps`): it ramps linearly from 0 at the
 * first step to α after `warmupSteps` steps, `α · min(1, (step − 1)/warmupSteps)`, then stays at α. SAELens' first
 * step trains at coefficient 0 and reaches α at step `warmupSteps + 1` (its coefficient scheduler starts at 0 and
 * moves after each step). `warmupSteps` 0 (the paper, the default): α at every step.
 *
 * @param step The step being taken, counted from 1.
 * @param options The final coefficient `l1` and the warm-up length.
 * @returns The coefficient of that step.
 * @example
 * ```ts
 * import { l1Coefficient } from "@saelab/sae";
 * const o = { l1: 1e-2, warmupSteps: 4 };
 * const at = [1, 2, 3, 5, 9].map((s) => l1Coefficient(s, o));
 * if (at.join() !== [0, 0.0025, 0.005, 0.01, 0.01].join()) throw new Error(at.join());
 * if (l1Coefficient(1, { l1: 1e-2 }) !== 1e-2) throw new Error("no warm-up: α from the first step");
 * ```
 */
export function l1Coefficient(step: number, options: { l1: number; warmupSteps?: number }): number {
  return options.l1 * l1WarmupFactor(step, options.warmupSteps ?? 0);
}

/**
 * The fraction of α that {@linkcode l1Coefficient} applies at a step.
 *
 * @param step The step being taken, counted from 1.
 * @param warmupSteps The warm-up length (0: none).
 * @returns `min(1, (step − 1)/warmupSteps)`, or 1 without a warm-up.
 * @example
 * ```ts
 * import { l1WarmupFactor } from "@saelab/sae";
 * if (l1WarmupFactor(3, 4) !== 0.5 || l1WarmupFactor(3, 0) !== 1) throw new Error();
 * ```
 */
export function l1WarmupFactor(step: number, warmupSteps: number): number {
  return warmupSteps > 0 ? Math.min(1, Math.max(0, step - 1) / warmupSteps) : 1;
}
