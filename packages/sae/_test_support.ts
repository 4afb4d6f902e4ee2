/**
 * Support shared by this package's tests: a sweep trained a few steps, and float64 references
 * written the plain way (two passes, no running sums) so that they check the package's own
 * accumulations independently.
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import type { Rng } from "./_random.ts";
import type { SaeSpec } from "./spec.ts";
import { SweepTrainer } from "./sweep.ts";

/**
 * A sweep of `specs` (batches of 16, seed 1) trained three steps on one batch of standard normal
 * rows drawn from `rng`; later draws from `rng` are fresh rows for held-out checks.
 *
 * @param gpu The device.
 * @param options `specs`: the members (all of one `dIn`); `rng`: the stream the rows come from.
 * @returns The trainer (the caller disposes of it).
 */
export function trainedSweep(gpu: Gpu, options: { specs: SaeSpec[]; rng: Rng }): SweepTrainer {
  const { specs, rng } = options;
  const trainer = new SweepTrainer(gpu, specs, { batchSize: 16, seed: 1, logEvery: 0 });
  const train = Float32Array.from({ length: 16 * specs[0].dIn }, () => rng.normal());
  for (let s = 0; s < 3; s++) trainer.step(train);
  return trainer;
}

/**
 * Total variance of rows about their mean: `Σ_i Σ_b (x_bi − x̄_i)²`, the denominator of FVU.
 *
 * @param x Rows `[rows, d]`, row-major.
 * @param d Row width.
 * @returns The sum of squared deviations over every row and dimension.
 */
export function totalVariance(x: ArrayLike<number>, d: number): number {
  const rows = x.length / d;
  let variance = 0;
  for (let i = 0; i < d; i++) {
    let mean = 0;
    for (let b = 0; b < rows; b++) mean += x[b * d + i] / rows;
    for (let b = 0; b < rows; b++) variance += (x[b * d + i] - mean) ** 2;
  }
  return variance;
}
