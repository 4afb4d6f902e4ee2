/**
 * The settings of a toy sweep ({@linkcode ToySweepOptions}, every field with a default) and their
 * resolution into the members to train ({@linkcode toySweepPlan}): what `runToySweep` and
 * `trainToyMembers` both start from, so that members trained apart are the members of the whole sweep.
 *
 * @module
 */
import type { OperandChoice } from "@saelab/kernels";
import { isSaeKind, KIND_NAMES, KINDS } from "./kinds/mod.ts";
import type { ThresholdOptions } from "./kinds/kind.ts";
import { JUMPRELU_BANDWIDTH, JUMPRELU_START_THRESHOLD } from "./kinds/jumprelu.ts";
import { type L1Penalty, type SaeKind, type SaeSpec, specName } from "./spec.ts";
import { trainsDecoderBias } from "./sweep.ts";
import type { ResampleOptions } from "./resample.ts";
import type { DecoderBiasInit } from "./geometric_median.ts";
import type { LrScheduleOptions } from "./schedule.ts";
import type { ToyOptions } from "./toy.ts";
import { CHOOSE_DEFAULTS, type ChooseOptions } from "./toy_choice.ts";

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
  /**
   * Ratio of one more dictionary per kind and α, trained with the others but used only as the comparison of the
   * largest member (its `mmcsBetween`), never a member or a candidate of the choice (as `--partner-ratio`; 0: none,
   * the largest member then has no MMCS between sizes and cannot be chosen). Default twice the largest ratio
   * ({@linkcode toyDefaultPartnerRatio}). The paper's code compares each dictionary with the next-larger one, so its
   * largest is never a candidate; on the toy the fixed-k and JumpReLU kinds recover the truth only at R 4 (seed 0:
   * MMCS 0.94–0.99, 0.83–0.92 at R 2), so without a partner their choice could not reach it.
   */
  partnerRatio?: number;
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
  thresholds: Object.freeze({ bandwidth: JUMPRELU_BANDWIDTH, initThreshold: JUMPRELU_START_THRESHOLD }),
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
 * The ratio of the comparison-only dictionary when none is given: twice the largest ratio (the next size of the
 * doubling grid 1, 2, 4).
 *
 * @param ratios The sweep's ratios.
 * @returns The partner's ratio.
 * @example
 * ```ts
 * import { toyDefaultPartnerRatio } from "@saelab/sae";
 * if (toyDefaultPartnerRatio([1, 2, 4]) !== 8) throw new Error();
 * ```
 */
export function toyDefaultPartnerRatio(ratios: readonly number[]): number {
  return 2 * Math.max(...ratios);
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

/** A toy sweep's settings with every default filled in, and its members. */
export interface ToySweepPlan {
  /** The toy data's settings. */
  toy: Required<ToyOptions>;
  /**
   * What is trained, in order kind, R, α (dictionary i starts from the weights of seed + i): the `members`
   * first, then the comparison-only partners at `partnerRatio`.
   */
  specs: SaeSpec[];
  /** How many of `specs` are members (the rest are partners). */
  members: number;
  /** The partners' ratio (0: none). */
  partnerRatio: number;
  /** Their names ({@linkcode specName}). */
  names: string[];
  /** Dictionary ratios, ascending. */
  ratios: number[];
  /** Codes kept per row by the fixed-k kinds. */
  k: number;
  /** Nested prefixes of the nested kinds. */
  prefixes: number[];
  /** AuxK settings of the fixed-k kinds. */
  auxk: Pick<SaeSpec, "auxK" | "auxAlpha" | "deadWindow">;
  steps: number;
  batchSize: number;
  lr: number;
  heldOutRows: number;
  seed: number;
  chanceTrials: number;
  decoderBias: DecoderBiasInit;
  lrSchedule: Omit<LrScheduleOptions, "lr" | "steps">;
  l1WarmupSteps: number;
  thresholds: ThresholdOptions;
  /** The rule behind `chosen`. */
  choose: Required<ChooseOptions>;
}

/**
 * Fill in a toy sweep's defaults ({@linkcode TOY_SWEEP_DEFAULTS}) and list its members.
 *
 * @param options The sweep's settings (callbacks and the signal are not read).
 * @returns The settings and the members, in order kind, R, α.
 * @throws {RangeError} When a ratio gives a dictionary size that is not a multiple of 4, a kind is unknown, or the
 * partner ratio is not above the largest ratio.
 * @example
 * ```ts
 * import { toySweepPlan } from "@saelab/sae";
 * const plan = toySweepPlan({ toy: { d: 8 }, ratios: [2, 1], l1: [1e-3] });
 * const names = "untied_r1_a1.0e-3,untied_r2_a1.0e-3,untied_r4_a1.0e-3";
 * if (plan.names.join() !== names || plan.members !== 2 || plan.partnerRatio !== 4) throw new Error(plan.names.join());
 * ```
 */
export function toySweepPlan(options: ToySweepOptions = {}): ToySweepPlan {
  const D = TOY_SWEEP_DEFAULTS;
  const d = options.toy?.d ?? D.toy.d;
  const toy: Required<ToyOptions> = { ...D.toy, d, features: 2 * d, ...options.toy };
  const kinds = options.kinds ?? D.kinds, ratios = [...(options.ratios ?? D.ratios)].sort((a, b) => a - b);
  const batchSize = options.batchSize ?? D.batchSize;
  const decoderBias = options.decoderBias ?? "none";
  const k = options.k ?? toyDefaultK(toy.meanActive), prefixes = [...(options.prefixes ?? D.prefixes)];
  const auxk = options.auxk ?? toyDefaultAuxK(d, batchSize);
  const partnerRatio = options.partnerRatio ?? toyDefaultPartnerRatio(ratios);
  if (partnerRatio !== 0 && !(partnerRatio > ratios.at(-1)!)) {
    throw new RangeError(
      `Cannot run the toy sweep: partner ratio ${partnerRatio} is not above the largest ratio ${ratios.at(-1)}`,
    );
  }
  const grid = {
    kinds,
    alphas: options.l1 ?? D.l1,
    k,
    l1Penalty: options.l1Penalty,
    decoderBias,
    prefixes,
    auxk,
  };
  const own = toySpecs(d, { ...grid, ratios });
  // partners last: the members keep their seeds (seed + i)
  const specs = [...own, ...(partnerRatio === 0 ? [] : toySpecs(d, { ...grid, ratios: [partnerRatio] }))];
  return {
    toy,
    specs,
    members: own.length,
    partnerRatio,
    names: specs.map(specName),
    ratios,
    k,
    prefixes,
    auxk,
    steps: options.steps ?? D.steps,
    batchSize,
    lr: options.lr ?? D.lr,
    heldOutRows: options.heldOutRows ?? D.heldOutRows,
    seed: options.seed ?? D.seed,
    chanceTrials: options.chanceTrials ?? D.chanceTrials,
    decoderBias,
    lrSchedule: options.lrSchedule ?? { schedule: "constant" as const },
    l1WarmupSteps: options.l1WarmupSteps ?? 0,
    thresholds: { ...D.thresholds, ...options.thresholds },
    choose: { ...CHOOSE_DEFAULTS, ...options.choose },
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
