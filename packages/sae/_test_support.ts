/**
 * Support shared by this package's tests: a sweep trained a few steps, and float64 references
 * written the plain way (two passes, no running sums) so that they check the package's own
 * accumulations independently.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertClose, type Gpu } from "@saelab/gpu";
import type { LinearDictionary } from "@saelab/dictionary";
import type { Rng } from "./_random.ts";
import { ReferenceTrainer, type StepLoss } from "./reference_train.ts";
import type { SaeSpec } from "./spec.ts";
import { SweepTrainer } from "./sweep.ts";
import { initWeights, type SaeWeights } from "./weights.ts";

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

/** The tolerance within which a GPU-trained member follows its float64 reference trainer. */
export const FOLLOW_TOL = Object.freeze({ atol: 5e-6, rtol: 1e-4 });

/**
 * Steps a GPU sweep and one float64 reference trainer per member over the same batches, then waits for
 * the sweep's logs and reads its weights (the caller disposes of the trainer).
 *
 * @param trainer The GPU sweep.
 * @param options `refs`: one reference trainer per member, in member order; `batches`: the rows of each step.
 * @returns The sweep's weights and, per step, every reference member's losses.
 */
export async function stepInLockstep(
  trainer: SweepTrainer,
  options: { refs: ReferenceTrainer[]; batches: Float32Array[] },
): Promise<{ got: SaeWeights[]; losses: StepLoss[][] }> {
  const losses: StepLoss[][] = [];
  for (const x of options.batches) {
    trainer.step(x);
    losses.push(options.refs.map((r) => r.trainStep(x)));
  }
  await trainer.settle();
  return { got: await trainer.weights(), losses };
}

/**
 * A sweep of `specs` and its float64 reference trainers (Adam at `lr`), trained in lockstep over `batches`
 * of one batch size: from `initWeights` at `seed + i` for member `i`, or from the given `weights`. Checks
 * that the trainer runs on the asked `operands`, and disposes of it.
 *
 * @param gpu The device.
 * @param options `specs` (or `weights`), `batches`, `lr`, `seed`, `operands` and the thresholds' `bandwidth`.
 * @returns The sweep's weights, the reference trainers and their per-step losses.
 */
export async function trainBoth(gpu: Gpu, options: {
  specs?: SaeSpec[];
  weights?: SaeWeights[];
  batches: Float32Array[];
  lr: number;
  seed?: number;
  operands?: "texture" | "storage";
  bandwidth?: number;
}): Promise<{ got: SaeWeights[]; refs: ReferenceTrainer[]; losses: StepLoss[][] }> {
  const { batches, lr, seed = 0, operands, bandwidth } = options;
  const weights = options.weights ?? options.specs!.map((s, i) => initWeights(s, { seed: seed + i }));
  const specs = options.specs ?? weights.map((w) => w.spec);
  const trainer = new SweepTrainer(gpu, specs, {
    batchSize: batches[0].length / specs[0].dIn,
    ...(options.weights ? { weights } : { seed }),
    logEvery: 0,
    adam: { lr },
    operands,
    thresholds: { bandwidth },
  });
  try {
    if (operands !== undefined) assert.equal(trainer.operands, operands);
    const refs = weights.map((w) => new ReferenceTrainer(w, { lr, bandwidth }));
    return { ...(await stepInLockstep(trainer, { refs, batches })), refs };
  } finally {
    trainer.dispose();
  }
}

const LABELS: Record<string, string> = { encoderBias: "encoder bias", threshold: "θ", logThreshold: "log θ" };

/**
 * Asserts that every member's weights are within `tol` of its reference trainer's: each of `keys`, which
 * the reference must have, and each of `ifPresent` where the reference has it.
 *
 * @param got The sweep's weights, in member order.
 * @param options `refs`: the reference trainers; `keys`, `ifPresent`: the weights compared; `tol` (default
 * {@linkcode FOLLOW_TOL}); `member`: how a message names member `i` (default `member i`).
 * @returns Nothing; throws on the first weight out of tolerance.
 */
export function assertFollows(got: SaeWeights[], options: {
  refs: ReferenceTrainer[];
  keys: (keyof SaeWeights)[];
  ifPresent?: (keyof SaeWeights)[];
  tol?: { atol: number; rtol: number };
  member?: (i: number) => string;
}): void {
  const { refs, keys, ifPresent = [], tol = FOLLOW_TOL, member = (i) => `member ${i}` } = options;
  refs.forEach((ref, i) => {
    const want = ref.toWeights();
    for (const key of [...keys, ...ifPresent]) {
      const w = want[key] as number | Float32Array | null | undefined, g = got[i][key] as typeof w;
      const label = `${LABELS[key] ?? key} of ${member(i)}`;
      if (w === null || w === undefined) {
        assert.ok(!keys.includes(key), `${label}: the reference has none`);
        continue;
      }
      assertClose(
        typeof w === "number" ? [g as number] : g as Float32Array,
        typeof w === "number" ? [w] : w,
        tol,
        label,
      );
    }
  });
}

/**
 * Asserts that a loaded dictionary encodes rows `x` to the reference codes `want` within 1e-5, on the host
 * and, when `gpu` is given, on the GPU.
 *
 * @param dict The loaded dictionary.
 * @param options `x`: rows `[rows, dIn]`; `want`: the float64 reference codes; `gpu`: the device, if any.
 * @returns Nothing; throws where the codes differ.
 */
export async function assertCodes(
  dict: LinearDictionary,
  options: { x: Float32Array; want: ArrayLike<number>; gpu?: Gpu },
): Promise<void> {
  const { x, want, gpu } = options;
  const tol = { atol: 1e-5, rtol: 1e-5 };
  assertClose(dict.encodeHost(x), want, tol, "host codes");
  if (!gpu) return;
  using onGpu = dict.bind(gpu);
  using xs = gpu.upload(x, [x.length / dict.dIn, dict.dIn]);
  using codes = onGpu.encode(xs);
  assertClose(await codes.read(), want, tol, "GPU codes");
}

/**
 * `count` batches of `rows` standard normal rows of width `d`, drawn in order from `rng`.
 *
 * @param rng The stream the rows come from.
 * @param options `count`, `rows` and `d`.
 * @returns The batches, each `[rows, d]` row-major.
 */
export function normalBatches(rng: Rng, options: { count: number; rows: number; d: number }): Float32Array[] {
  const { count, rows, d } = options;
  return Array.from({ length: count }, () => Float32Array.from({ length: rows * d }, () => rng.normal()));
}

/**
 * Runs `fn` with a fresh temporary folder, removed after it whatever happens.
 *
 * @param fn What to do in the folder.
 * @returns What `fn` returns.
 */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
