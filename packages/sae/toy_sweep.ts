/**
 * The paper's ground-truth experiment: train a sweep of SAEs (kinds × R × α,
 * one pass over the same batches) on {@linkcode ToyData}, whose feature
 * directions are known, and report per member the MMCS with the true features,
 * the MMCS with the member of the next-larger size, L0 and dead fraction — and
 * which member the signals available without ground truth would pick.
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import type { OperandChoice, OperandMode } from "@saelab/kernels";
import type { ToyChance, ToyJsonKind, ToyJsonMember } from "@saelab/runs";
import { mmcs, mmcsChance, mmcsLargerToSmaller } from "./metrics.ts";
import { referenceForward } from "./reference.ts";
import { toReferenceParams } from "./reference_train.ts";
import { isSaeKind, KIND_NAMES, KINDS } from "./kinds/mod.ts";
import type { ThresholdOptions } from "./kinds/kind.ts";
import { JUMPRELU_BANDWIDTH } from "./kinds/jumprelu.ts";
import { type L1Penalty, type SaeKind, type SaeSpec, specName } from "./spec.ts";
import { SweepTrainer, trainsDecoderBias } from "./sweep.ts";
import { resampleDead, type ResampleOptions } from "./resample.ts";
import { DECODER_BIAS_ROWS, type DecoderBiasInit, geometricMedian } from "./geometric_median.ts";
import { learningRate, type LrScheduleOptions } from "./schedule.ts";
import { ToyData, type ToyOptions } from "./toy.ts";
import { CHOOSE_DEFAULTS, type ChooseOptions, chooseToyMember, compareToyKinds } from "./toy_choice.ts";
import { featureDirections, type SaeWeights } from "./weights.ts";

/** Settings of {@linkcode runToySweep}; every field has a default. */
export interface ToySweepOptions {
  /** The toy data: `d` 32, `features` 2·d, `meanActive` 5, `decay` 0.99, uncorrelated, seed 0. */
  toy?: Partial<ToyOptions>;
  /** SAE variants (as `--kinds`). Default `["untied"]`. */
  kinds?: readonly SaeKind[];
  /**
   * Codes kept per row (`--k`) of the kinds that need one (TopK, BatchTopK, Matryoshka): one member per ratio,
   * α 0. Default the toy's `meanActive` rounded ({@linkcode toyDefaultK}): as many codes as true features are
   * active in a row on average.
   */
  k?: number;
  /**
   * Nested prefixes of the kinds with nested levels (matryoshka), as fractions of `dDict` (as `--prefixes`).
   * Default `TOY_SWEEP_DEFAULTS.prefixes` (one inner level at half the dictionary): the toy's features have no
   * hierarchy, and each inner level costs recovery (the kind's doc has the numbers).
   */
  prefixes?: readonly number[];
  /**
   * AuxK settings of the kinds that need `k` (as `--aux-k`, `--aux-alpha`, `--dead-window`; `auxK` 0: off). Default
   * {@linkcode toyDefaultAuxK}: on, as the toy's fixed-k members otherwise leave latents dead that never learn a feature.
   */
  auxk?: Pick<SaeSpec, "auxK" | "auxAlpha" | "deadWindow">;
  /** Dictionary ratios R = dDict / d (as `--ratios`). Default 1, 2, 4. */
  ratios?: readonly number[];
  /** L1 coefficients α (as `--l1`). Default 1e-3, 3e-3, 1e-2, 3e-2. */
  l1?: readonly number[];
  /** Optimiser steps; every member sees every batch. Default 1600 (409,600 vectors). */
  steps?: number;
  /** Rows per batch (a multiple of 4). Default 256. */
  batchSize?: number;
  /** Adam learning rate. Default 3e-3. */
  lr?: number;
  /**
   * Settings of the kinds with learned per-feature thresholds (JumpReLU). Default: SAELens' bandwidth 0.001 and
   * an initial threshold of 0.1 (not SAELens' 0.001: the toy's rows are not scaled to mean squared norm d and
   * its codes are products of two uniforms; from θ = 0.001 every JumpReLU member stayed dense, L0 ≈ 52 of 64
   * features at R 2, MMCS to the truth 0.48).
   */
  thresholds?: ThresholdOptions;
  /** Fresh toy rows on which L0 and dead fractions are measured. Default 8192. */
  heldOutRows?: number;
  /** Seed of the initial weights (member i: seed + i). Default 0. */
  seed?: number;
  /** Random draws averaged in each chance level. Default 4. */
  chanceTrials?: number;
  /** The rule behind `chosen`. */
  choose?: ChooseOptions;
  /** Called with (steps done, total steps) as training proceeds. */
  onProgress?: (done: number, total: number) => void;
  /** Stops training (the call then rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Where the trainer's matmul operands live (`SweepOptions.operands`). Default `"auto"`. */
  operands?: OperandChoice;
  /** The learning-rate schedule around `lr` ({@linkcode learningRate}). Default constant. */
  lrSchedule?: Omit<LrScheduleOptions, "lr" | "steps">;
  /** SAELens' L1 warm-up steps (`SweepOptions.l1WarmupSteps`). Default 0: none. */
  l1WarmupSteps?: number;
  /** The sparsity penalty of the untied members (`SaeSpec.l1Penalty`). Default `"paper"`. */
  l1Penalty?: L1Penalty;
  /**
   * Every member's decoder bias: none (the default), trainable from 0, or trainable from the geometric median of
   * `DECODER_BIAS_ROWS` toy rows drawn before training.
   */
  decoderBias?: DecoderBiasInit;
  /** Dead-feature resampling (Bricken et al. 2023, {@linkcode resampleDead}) every `every` steps. Default none. */
  resample?: ResampleOptions & { every: number };
  /** Receives each resampling's step, the features resampled per member, and the members' names and sizes. */
  onResample?: (step: number, resampled: { counts: number[]; names: string[]; dDict: number[] }) => void;
}

/**
 * One member's results, as `toy.json` stores them (`@saelab/runs`' `ToyJsonMember`, its `kind` one
 * of the kinds a toy sweep trains). `name` is the member's {@linkcode specName}; `mmcsBetween` is
 * {@linkcode mmcsLargerToSmaller} with the member of the same kind and α at the next-larger R.
 */
export interface ToyMember extends ToyJsonMember {
  /** Variant. */
  kind: SaeKind;
}

/** A chance level for one ratio (`@saelab/runs`' `ToyChance`). */
export type ChanceLevel = ToyChance;

/** What {@linkcode runToySweep} returns (the content of `toy.json`). */
export interface ToySweepResult {
  /** Per member, in order kind, R, α. */
  members: ToyMember[];
  /** The member {@linkcode chooseToyMember} picks over every member. */
  chosen: string;
  /** Per kind: the member the same rule picks among that kind's members, and its best ({@linkcode compareToyKinds}). */
  kinds: ToyJsonKind[];
  /** Chance level of `mmcsTruth` per R: `mmcsChance({ nSmall: R·d, nLarge: features })`. */
  truthChance: ChanceLevel[];
  /** Chance level of `mmcsBetween` per R: `mmcsChance({ nSmall: R·d, nLarge: R'·d })`, R' the next-larger ratio. */
  betweenChance: ChanceLevel[];
  /** The toy data's settings. */
  toy: Required<ToyOptions>;
  /** How the members were trained. */
  training: {
    /** Codes kept per row by the fixed-k kinds. */
    k: number;
    /** Nested prefixes of the nested kinds, as fractions of `dDict`. */
    prefixes: number[];
    /** AuxK settings of the fixed-k kinds (`auxK` 0: off). */
    auxk: Pick<SaeSpec, "auxK" | "auxAlpha" | "deadWindow">;
    steps: number;
    batchSize: number;
    lr: number;
    vectors: number;
    heldOutRows: number;
    /** Where the matmul operands lived. */
    operands: OperandMode;
    /** The learning-rate schedule (`constant` unless one was given). */
    lrSchedule: Omit<LrScheduleOptions, "lr" | "steps">;
    /** L1 warm-up steps (0: none). */
    l1WarmupSteps: number;
    /** How the decoder bias started (`none`: no decoder bias). */
    decoderBias: DecoderBiasInit;
    /** Resampling settings and, per resampling, its step and the features resampled per member; null: none. */
    resample: { every: number; deadAfter: number; events: { step: number; counts: number[] }[] } | null;
  };
  /** The rule behind `chosen`. */
  choose: Required<ChooseOptions>;
}

/** The defaults of {@linkcode runToySweep}, as documented on {@linkcode ToySweepOptions}. */
export const TOY_SWEEP_DEFAULTS = Object.freeze({
  toy: Object.freeze({ d: 32, features: 64, meanActive: 5, decay: 0.99, correlated: false, seed: 0 }),
  kinds: Object.freeze(["untied"] as const),
  ratios: Object.freeze([1, 2, 4]),
  l1: Object.freeze([1e-3, 3e-3, 1e-2, 3e-2]),
  prefixes: Object.freeze([0.5]),
  steps: 1600,
  batchSize: 256,
  lr: 3e-3,
  thresholds: Object.freeze({ bandwidth: JUMPRELU_BANDWIDTH, initThreshold: 0.1 }),
  heldOutRows: 8192,
  seed: 0,
  chanceTrials: 4,
});

/**
 * The `k` of the fixed-k kinds when none is given: the toy's mean number of active true features per row,
 * rounded, at least 1.
 *
 * @param meanActive `ToyOptions.meanActive`.
 * @returns Codes kept per row.
 * @example
 * ```ts
 * import { toyDefaultK } from "@saelab/sae";
 * if (toyDefaultK(5) !== 5 || toyDefaultK(0.2) !== 1) throw new Error();
 * ```
 */
export function toyDefaultK(meanActive: number): number {
  return Math.max(1, Math.round(meanActive));
}

/**
 * The AuxK settings of the fixed-k kinds on the toy when none are given: `k_aux = d/2` (sparsify's default,
 * d_in/2) and a dead window of 100 steps' rows (`100 · batchSize` vectors: the paper's 10M tokens is more than a
 * toy member sees, so no latent would ever count as dead); `auxAlpha` the kind's (1/32, the paper's).
 *
 * @param d Toy dimension.
 * @param batchSize Rows per step.
 * @returns `auxK` and `deadWindow`.
 * @example
 * ```ts
 * import { toyDefaultAuxK } from "@saelab/sae";
 * const a = toyDefaultAuxK(32, 256);
 * if (a.auxK !== 16 || a.deadWindow !== 25600) throw new Error(JSON.stringify(a));
 * ```
 */
export function toyDefaultAuxK(d: number, batchSize: number): { auxK: number; deadWindow: number } {
  return { auxK: Math.max(1, Math.floor(d / 2)), deadWindow: 100 * batchSize };
}

/**
 * Train a sweep on toy data with known features and measure how well each
 * member recovers them. Training stays on the GPU (no waits inside the step
 * loop); the metrics are computed on the CPU from the final weights: L0 and
 * dead fraction by the float64 reference forward pass on `heldOutRows` fresh
 * rows, `mmcsTruth = mmcs(truth, learned)` (mean over true features, as the
 * paper's toy code computes it), `mmcsBetween` in the direction of the paper's
 * code (mean over the larger dictionary), and both chance levels by
 * {@linkcode mmcsChance}. The defaults (12 untied members, d 32, 64 true
 * features, 409,600 vectors each) took 151 s on a 2-core machine with a
 * software adapter shared with other work, and picked `untied_r2_a3.0e-3`
 * (MMCS with the truth 0.970; chance 0.404).
 *
 * @param gpu The context.
 * @param options Toy data, grid, training and the choice rule; see {@linkcode TOY_SWEEP_DEFAULTS}.
 * @returns The members, the chosen one, chance levels and settings (`toy.json`).
 * @throws {RangeError} When a ratio gives a dictionary size that is not a multiple of 4 or a kind is unknown.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { runToySweep } from "@saelab/sae";
 * const result = await runToySweep(await createGpu(), { onProgress: (done, total) => console.log(done, total) });
 * console.log(result.chosen, result.members.find((m) => m.name === result.chosen)?.mmcsTruth);
 * ```
 */
export async function runToySweep(gpu: Gpu, options: ToySweepOptions = {}): Promise<ToySweepResult> {
  const D = TOY_SWEEP_DEFAULTS;
  const d = options.toy?.d ?? D.toy.d;
  const toyOptions: Required<ToyOptions> = { ...D.toy, d, features: 2 * d, ...options.toy };
  const kinds = options.kinds ?? D.kinds, ratios = [...(options.ratios ?? D.ratios)].sort((a, b) => a - b);
  const alphas = options.l1 ?? D.l1;
  const steps = options.steps ?? D.steps, batchSize = options.batchSize ?? D.batchSize, lr = options.lr ?? D.lr;
  const heldOutRows = options.heldOutRows ?? D.heldOutRows, seed = options.seed ?? D.seed;
  const chanceTrials = options.chanceTrials ?? D.chanceTrials;
  const decoderBias = options.decoderBias ?? "none";
  const k = options.k ?? toyDefaultK(toyOptions.meanActive), prefixes = options.prefixes ?? D.prefixes;
  const auxk = options.auxk ?? toyDefaultAuxK(d, batchSize);
  const specs = toySpecs(d, {
    kinds,
    ratios,
    alphas,
    k,
    l1Penalty: options.l1Penalty,
    decoderBias,
    prefixes,
    auxk,
  });
  options.signal?.throwIfAborted();

  const toy = new ToyData(toyOptions);
  const lrSchedule = options.lrSchedule ?? { schedule: "constant" as const };
  const l1WarmupSteps = options.l1WarmupSteps ?? 0;
  const decoderBiasInit = decoderBias === "geometric-median"
    ? Float32Array.from(geometricMedian(toy.batch(DECODER_BIAS_ROWS).x, d).median)
    : undefined;
  const trainer = new SweepTrainer(gpu, specs, {
    batchSize,
    adam: { lr },
    seed,
    logEvery: 250,
    operands: options.operands,
    lrAt: (step) => learningRate(step, { ...lrSchedule, lr, steps }),
    l1WarmupSteps,
    decoderBiasInit,
    thresholds: { ...D.thresholds, ...options.thresholds },
  });
  const events: { step: number; counts: number[] }[] = [];
  let weights: SaeWeights[];
  try {
    const chunk = 50; // let the event loop run (abort, progress) without waiting on the GPU
    for (let s = 0; s < steps; s++) {
      const x = toy.batch(batchSize).x;
      trainer.step(x);
      if (options.resample && (s + 1) % options.resample.every === 0) {
        const counts = await resampleDead(trainer, x, options.resample);
        events.push({ step: s + 1, counts });
        options.onResample?.(s + 1, { counts, names: trainer.names.slice(), dDict: specs.map((sp) => sp.dDict) });
      }
      if ((s + 1) % chunk === 0 || s + 1 === steps) {
        options.onProgress?.(s + 1, steps);
        await new Promise((resolve) => setTimeout(resolve, 0));
        options.signal?.throwIfAborted();
      }
    }
    await trainer.settle();
    weights = await trainer.weights();
  } finally {
    trainer.dispose();
  }

  const heldOut = toy.batch(heldOutRows).x;
  const activities = weights.map((w) => activity(w, heldOut));
  const members: ToyMember[] = specs.map((spec, i) => {
    const { l0, deadFraction } = activities[i];
    const larger = nextLarger(specs, i);
    const dirs = featureDirections(weights[i]);
    const largerDirs = larger < 0 ? null : featureDirections(weights[larger]);
    return {
      name: specName(spec),
      kind: spec.kind,
      ratio: spec.dDict / d,
      l1: spec.l1,
      l0,
      deadFraction,
      mmcsTruth: mmcs(toy.features, dirs, d),
      mmcsBetween: largerDirs === null ? null : mmcsLargerToSmaller(dirs, largerDirs, d),
      mmcsBetweenAlive: largerDirs === null ? null : mmcsOverAlive(dirs, largerDirs, {
        d,
        fired: activities[larger].fired,
      }),
    };
  });
  const chance = (nSmall: number, nLarge: number, at: number) =>
    mmcsChance({ dIn: d, nSmall, nLarge, seed: seed + at, trials: chanceTrials });
  const choose = { ...CHOOSE_DEFAULTS, ...options.choose };
  const truthChance = ratios.map((ratio, i) => ({ ratio, value: chance(ratio * d, toyOptions.features, i) }));
  return {
    members,
    chosen: chooseToyMember(members, d, choose),
    kinds: compareToyKinds(members, { d, truthChance, choose }),
    truthChance,
    betweenChance: ratios.slice(0, -1).map((ratio, i) => ({
      ratio,
      value: chance(ratio * d, ratios[i + 1] * d, ratios.length + i),
    })),
    toy: toyOptions,
    training: {
      k,
      prefixes: [...prefixes],
      auxk,
      steps,
      batchSize,
      lr,
      vectors: steps * batchSize,
      heldOutRows,
      operands: trainer.operands,
      lrSchedule,
      l1WarmupSteps,
      decoderBias,
      resample: options.resample
        ? { every: options.resample.every, deadAfter: options.resample.deadAfter, events }
        : null,
    },
    choose,
  };
}

function toySpecs(
  d: number,
  grid: {
    kinds: readonly string[];
    ratios: readonly number[];
    alphas: readonly number[];
    k: number;
    l1Penalty?: L1Penalty;
    decoderBias?: DecoderBiasInit;
    prefixes: readonly number[];
    auxk?: Pick<SaeSpec, "auxK" | "auxAlpha" | "deadWindow">;
  },
): SaeSpec[] {
  const specs: SaeSpec[] = [];
  for (const kind of grid.kinds) {
    if (!isSaeKind(kind)) {
      throw new RangeError(
        `Cannot run the toy sweep: kind ${JSON.stringify(kind)} is not one of ${KIND_NAMES.join(", ")}`,
      );
    }
    const needsK = KINDS[kind].needs.includes("k");
    for (const ratio of grid.ratios) {
      const dDict = ratio * d;
      if (!Number.isInteger(dDict) || dDict % 4 !== 0) {
        throw new RangeError(`Cannot run the toy sweep: R ${ratio} × d ${d} = ${dDict} features, not a multiple of 4`);
      }
      const bias = grid.decoderBias && grid.decoderBias !== "none" && trainsDecoderBias(kind)
        ? { decoderBias: true }
        : {};
      const nested = KINDS[kind].nested;
      const prefixes = nested && grid.prefixes.length > 0 ? { prefixes: nested.prefixes(dDict, grid.prefixes) } : {};
      if (needsK) specs.push({ kind, dIn: d, dDict, l1: 0, k: grid.k, ...prefixes, ...grid.auxk, ...bias });
      else {
        const penalty = kind === "untied" && grid.l1Penalty && grid.l1Penalty !== "paper"
          ? { l1Penalty: grid.l1Penalty }
          : {};
        for (const l1 of grid.alphas) specs.push({ kind, dIn: d, dDict, l1, ...penalty, ...bias });
      }
    }
  }
  return specs;
}

/** Index of the member of the same kind and α with the next-larger dictionary, or -1. */
function nextLarger(specs: readonly SaeSpec[], i: number): number {
  const s = specs[i];
  let best = -1;
  specs.forEach((t, j) => {
    if (t.kind === s.kind && t.l1 === s.l1 && t.dDict > s.dDict && (best < 0 || t.dDict < specs[best].dDict)) best = j;
  });
  return best;
}

/**
 * MMCS between sizes over the larger dictionary's live latents only: the mean over the rows of `large` whose
 * latent fired on the held-out rows of the best cosine with a row of `small` (0 when none fired). A dead
 * latent's direction is its random initialisation, not a learned feature, so it says nothing of agreement.
 */
function mmcsOverAlive(small: Float32Array, large: Float32Array, o: { d: number; fired: Uint8Array }): number {
  const { d, fired } = o;
  const alive = fired.reduce((n, f) => n + f, 0);
  if (alive === 0) return 0;
  const rows = new Float32Array(alive * d);
  let r = 0;
  fired.forEach((f, j) => {
    if (f) rows.set(large.subarray(j * d, (j + 1) * d), d * r++);
  });
  return mmcs(rows, small, d);
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
