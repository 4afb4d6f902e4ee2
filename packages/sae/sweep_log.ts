/**
 * What the sweep trainer reports while it trains: per-member statistics of
 * logged steps, and the error that stops a run whose loss stops being finite.
 *
 * @module
 */

/** Training statistics of one member at one step (the loss before that step's update). */
export interface MemberLog {
  /** Member name (see `specName`). */
  name: string;
  /** `mse + α · l1` (for Gated members not their training objective, which weighs the gate: `kinds/gated.ts`). */
  loss: number;
  /** Mean squared error over all elements of the batch. */
  mse: number;
  /** Mean over rows of `Σ_j |c_j|`. */
  l1: number;
  /** Mean number of active features per row. */
  l0: number;
  /**
   * Fraction of variance unexplained on the batch, `Σ‖x − x̂‖² / Σ‖x − x̄‖²` (x̄ the batch mean);
   * NaN when the batch was given as a GPU tensor.
   */
  fvu: number;
  /** Fraction of features that did not fire since the previous log. */
  quietFraction: number;
}

/** The statistics of one logged step. */
export interface StepLog {
  /** Step number (1-based). */
  step: number;
  /** One entry per member, in member order. */
  members: MemberLog[];
}

/** Thrown when a loss or weight stops being finite. */
export class TrainingDivergedError extends Error {
  /**
   * @param message What diverged, where and when.
   */
  constructor(message: string) {
    super(message);
    this.name = "TrainingDivergedError";
  }
}

/** `Σ_b ‖x_b − x̄‖²` of a batch, in float64. */
export function batchVariance(x: Float32Array, d: number): number {
  const sum = new Float64Array(d), sq = new Float64Array(d);
  for (let e = 0; e < x.length; e++) {
    sum[e % d] += x[e];
    sq[e % d] += x[e] * x[e];
  }
  const rows = x.length / d;
  let t = 0;
  for (let i = 0; i < d; i++) t += sq[i] - (sum[i] * sum[i]) / rows;
  return t;
}
