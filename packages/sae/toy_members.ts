/**
 * Training a toy sweep's members and measuring each one on its own: the part of {@linkcode runToySweep}
 * that needs the GPU. Any subset of the members can be trained apart (a queue job trains one member):
 * the toy data is the same stream from the seed, member i starts from the weights of seed + i as in the
 * whole sweep, and a member's arithmetic on the GPU does not depend on which other members train beside
 * it — so a member trained alone has the bytes it has in the whole sweep.
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import type { OperandMode } from "@saelab/kernels";
import { mmcs } from "./metrics.ts";
import { referenceForward } from "./reference.ts";
import { toReferenceParams } from "./reference_train.ts";
import { SweepTrainer } from "./sweep.ts";
import { resampleDead } from "./resample.ts";
import { DECODER_BIAS_ROWS, geometricMedian } from "./geometric_median.ts";
import { learningRate } from "./schedule.ts";
import { ToyData } from "./toy.ts";
import { type ToySweepOptions, toySweepPlan } from "./toy_plan.ts";
import { featureDirections, initWeights, type SaeWeights } from "./weights.ts";

/** One member of a toy sweep after training, measured on the held-out toy rows. */
export interface ToyTrainedMember {
  /** Its place in the whole sweep (`toySweepPlan(options).specs`). */
  index: number;
  /** Its name. */
  name: string;
  /** Its final weights. */
  weights: SaeWeights;
  /** Adam's moments and the step at which each feature last fired, when `optimizer` was asked for. */
  optimizer?: { m: SaeWeights; v: SaeWeights; fired: Uint32Array };
  /** Mean active features per held-out row (float64 reference forward pass). */
  l0: number;
  /** Fraction of features that never fired on the held-out rows. */
  deadFraction: number;
  /** Per feature, 1 when it fired on a held-out row. */
  fired: Uint8Array;
  /** `mmcs(truth, learned)`: mean over the true features of the best cosine with a learned direction. */
  mmcsTruth: number;
}

/** What {@linkcode trainToyMembers} returns. */
export interface ToyMembersTrained {
  /** The members trained, in sweep order. */
  members: ToyTrainedMember[];
  /** Where the trainer's matmul operands lived. */
  operands: OperandMode;
  /** Per resampling (whole sweeps only): its step and the features resampled per member. */
  events: { step: number; counts: number[] }[];
}

/**
 * Train members of a toy sweep and measure each: L0, dead fraction and which features fired by the float64
 * reference forward pass on `heldOutRows` toy rows drawn after the training stream, and the MMCS with the
 * true features.
 *
 * @param gpu The context.
 * @param options The sweep's settings ({@linkcode ToySweepOptions}); `members`: the indices to train
 *   (default all), and `optimizer: true` to return each member's Adam moments as well.
 * @returns The members trained, in sweep order, with where the operands lived and the resamplings.
 * @throws {RangeError} When an index is not a member, or `resample` is asked of a subset: resampling draws the
 *   rows of every member from one random stream, so a member's resampled features depend on the members before it.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { trainToyMembers } from "@saelab/sae";
 * const { members } = await trainToyMembers(await createGpu(), { toy: { d: 8 }, ratios: [1, 2], members: [1] });
 * console.log(members[0].name, members[0].mmcsTruth);
 * ```
 */
export async function trainToyMembers(
  gpu: Gpu,
  options: ToySweepOptions & { members?: readonly number[]; optimizer?: boolean } = {},
): Promise<ToyMembersTrained> {
  const plan = toySweepPlan(options);
  const { specs, steps, batchSize, lr, seed } = plan;
  const d = plan.toy.d;
  const chosen = options.members ? [...new Set(options.members)].sort((a, b) => a - b) : specs.map((_, i) => i);
  const bad = chosen.find((i) => !Number.isInteger(i) || i < 0 || i >= specs.length);
  if (bad !== undefined) {
    throw new RangeError(
      `Cannot train toy member ${bad}: the sweep has ${specs.length} members (0…${specs.length - 1})`,
    );
  }
  const subset = chosen.length < specs.length;
  if (subset && options.resample) {
    throw new RangeError(
      "Cannot train some of a toy sweep's members with resampling: it draws the rows of every member from one " +
        "random stream, so a member's resampled features depend on the members trained before it",
    );
  }
  options.signal?.throwIfAborted();

  const toy = new ToyData(plan.toy);
  const decoderBiasInit = plan.decoderBias === "geometric-median"
    ? Float32Array.from(geometricMedian(toy.batch(DECODER_BIAS_ROWS).x, d).median)
    : undefined;
  const own = chosen.map((i) => specs[i]);
  // a subset starts from the weights its members have in the whole sweep (the trainer seeds member i: seed + i)
  const weights = subset
    ? chosen.map((i) => {
      const w = initWeights(specs[i], { seed: seed + i, initThreshold: plan.thresholds.initThreshold });
      return decoderBiasInit && w.decoderBias ? { ...w, decoderBias: Float32Array.from(decoderBiasInit) } : w;
    })
    : undefined;
  const trainer = new SweepTrainer(gpu, own, {
    batchSize,
    adam: { lr },
    seed,
    ...(weights ? { weights } : {}),
    logEvery: 250,
    operands: options.operands,
    lrAt: (step) => learningRate(step, { ...plan.lrSchedule, lr, steps }),
    l1WarmupSteps: plan.l1WarmupSteps,
    decoderBiasInit,
    thresholds: plan.thresholds,
  });
  const events: { step: number; counts: number[] }[] = [];
  let trained: SaeWeights[];
  let optimizer: Awaited<ReturnType<SweepTrainer["optimizerState"]>> | undefined;
  try {
    const chunk = 50; // let the event loop run (abort, progress) without waiting on the GPU
    for (let s = 0; s < steps; s++) {
      const x = toy.batch(batchSize).x;
      trainer.step(x);
      if (options.resample && (s + 1) % options.resample.every === 0) {
        const counts = await resampleDead(trainer, x, options.resample);
        events.push({ step: s + 1, counts });
        options.onResample?.(s + 1, { counts, names: trainer.names.slice(), dDict: own.map((sp) => sp.dDict) });
      }
      if ((s + 1) % chunk === 0 || s + 1 === steps) {
        options.onProgress?.(s + 1, steps);
        await new Promise((resolve) => setTimeout(resolve, 0));
        options.signal?.throwIfAborted();
      }
    }
    await trainer.settle();
    trained = await trainer.weights();
    if (options.optimizer) optimizer = await trainer.optimizerState();
  } finally {
    trainer.dispose();
  }

  const heldOut = toy.batch(plan.heldOutRows).x;
  const members = chosen.map((index, z): ToyTrainedMember => {
    const { l0, deadFraction, fired } = activity(trained[z], heldOut);
    return {
      index,
      name: plan.names[index],
      weights: trained[z],
      ...(optimizer ? { optimizer: { m: optimizer.m[z], v: optimizer.v[z], fired: optimizer.fired[z] } } : {}),
      l0,
      deadFraction,
      fired,
      mmcsTruth: mmcs(toy.features, featureDirections(trained[z]), d),
    };
  });
  return { members, operands: trainer.operands, events };
}

/** L0, dead fraction and which latents fired on held-out rows, by the float64 reference forward pass. */
function activity(w: SaeWeights, x: Float32Array): { l0: number; deadFraction: number; fired: Uint8Array } {
  const { dIn, dDict } = w.spec;
  const params = toReferenceParams(w);
  const fired = new Uint8Array(dDict);
  let active = 0;
  const rows = x.length / dIn, block = 1024;
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(rows, r0 + block);
    const { codes } = referenceForward(w.spec, params, x.subarray(r0 * dIn, r1 * dIn));
    for (let e = 0; e < codes.length; e++) {
      if (codes[e] > 0) {
        active++;
        fired[e % dDict] = 1;
      }
    }
  }
  return { l0: active / rows, deadFraction: fired.reduce((n, f) => n + (f ? 0 : 1), 0) / dDict, fired };
}
