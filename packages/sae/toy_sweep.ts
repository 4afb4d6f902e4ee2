/**
 * The paper's ground-truth experiment: train a sweep of SAEs (kinds × R × α,
 * one pass over the same batches) on {@linkcode ToyData}, whose feature
 * directions are known, and report per member the MMCS with the true features,
 * the MMCS with the member of the next-larger size, L0 and dead fraction — and
 * which member the signals available without ground truth would pick. The
 * training is `trainToyMembers` (`toy_members.ts`; members may be trained apart),
 * the report over every member {@linkcode assembleToySweep}.
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import type { ToyChance, ToyJsonKind, ToyJsonMember } from "@saelab/runs";
import { mmcs, mmcsChance, mmcsLargerToSmaller } from "./metrics.ts";
import type { SaeKind, SaeSpec } from "./spec.ts";
import type { LrScheduleOptions } from "./schedule.ts";
import type { DecoderBiasInit } from "./geometric_median.ts";
import type { OperandMode } from "@saelab/kernels";
import type { ToyOptions } from "./toy.ts";
import { type ChooseOptions, chooseToyMember, compareToyKinds } from "./toy_choice.ts";
import { type ToyMembersTrained, trainToyMembers } from "./toy_members.ts";
import { type ToySweepOptions, toySweepPlan } from "./toy_plan.ts";
import { featureDirections } from "./weights.ts";

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
  /**
   * Chance level of `mmcsBetween` per R: `mmcsChance({ nSmall: R·d, nLarge: R'·d })`, R' the next-larger ratio (for
   * the largest, the comparison-only partner's; none for it without a partner).
   */
  betweenChance: ChanceLevel[];
  /** The toy data's settings. */
  toy: Required<ToyOptions>;
  /** How the members were trained. */
  training: {
    /** Codes kept per row by the fixed-k kinds. */
    k: number;
    /**
     * The comparison-only dictionaries (`ToySweepOptions.partnerRatio`): their ratio, the chance level of their MMCS
     * with the truth (`mmcsChance({ nSmall: ratio·d, nLarge: features })`, as `truthChance`) and, per kind and α,
     * their name, L0, dead fraction and MMCS with the truth (for inspection; no choice reads them); null: none.
     */
    partner: {
      ratio: number;
      truthChance: number;
      members: Omit<ToyMember, "mmcsBetween" | "mmcsBetweenAlive" | "largerAlive">[];
    } | null;
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
    /**
     * Resampling settings and, per resampling, its step and the features resampled per member (the members in
     * order, then the partners); null: none.
     */
    resample: { every: number; deadAfter: number; events: { step: number; counts: number[] }[] } | null;
  };
  /** The rule behind `chosen`. */
  choose: Required<ChooseOptions>;
}

/**
 * Train a sweep on toy data with known features and measure how well each
 * member recovers them. Training stays on the GPU (no waits inside the step
 * loop); the metrics are computed on the CPU from the final weights: L0 and
 * dead fraction by the float64 reference forward pass on `heldOutRows` fresh
 * rows, `mmcsTruth = mmcs(truth, learned)` (mean over true features, as the
 * paper's toy code computes it), `mmcsBetween` in the direction of the paper's
 * code (mean over the larger dictionary), and both chance levels by
 * {@linkcode mmcsChance}. The largest member is compared with a dictionary of
 * `partnerRatio` (default twice the largest ratio) trained alongside but not
 * reported as a member; it costs about as much as all the members of its kind
 * together. Before the partner, the defaults (12 untied members, d 32, 64 true
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
  toySweepPlan(options); // a bad grid fails before the GPU is touched
  return assembleToySweep(await trainToyMembers(gpu, options), options);
}

/**
 * The report of a toy sweep from its members trained (in one call of `trainToyMembers`, or apart): per member
 * the MMCS with the member of the same kind and α at the next-larger R (over all its latents, and over those
 * that fired on the held-out rows), the chance levels by {@linkcode mmcsChance}, the chosen member overall and
 * per kind — exactly what {@linkcode runToySweep} returns for the same settings.
 *
 * @param trained Every member of the sweep (any order), where the operands lived, and the resamplings.
 * @param options The sweep's settings, as given to `trainToyMembers`.
 * @returns The content of `toy.json`.
 * @throws {RangeError} When a member of the sweep is missing from `trained`.
 * @example
 * ```ts ignore
 * const trained = await trainToyMembers(gpu, options);
 * const result = assembleToySweep(trained, options);
 * ```
 */
export function assembleToySweep(trained: ToyMembersTrained, options: ToySweepOptions = {}): ToySweepResult {
  const plan = toySweepPlan(options);
  const { specs, ratios, steps, batchSize, seed } = plan;
  const d = plan.toy.d;
  const byIndex = new Map(trained.members.map((m) => [m.index, m]));
  const missing = plan.names.filter((_, i) => byIndex.get(i)?.name !== plan.names[i]);
  if (missing.length > 0) throw new RangeError(`Cannot assemble the toy sweep: no trained ${missing.join(", ")}`);
  const got = specs.map((_, i) => byIndex.get(i)!);
  const measured: ToyMember[] = specs.map((spec, i) => {
    const { l0, deadFraction, mmcsTruth } = got[i];
    const larger = nextLarger(specs, i);
    const dirs = featureDirections(got[i].weights);
    const largerDirs = larger < 0 ? null : featureDirections(got[larger].weights);
    return {
      name: plan.names[i],
      kind: spec.kind,
      ratio: spec.dDict / d,
      l1: spec.l1,
      l0,
      deadFraction,
      mmcsTruth,
      mmcsBetween: largerDirs === null ? null : mmcsLargerToSmaller(dirs, largerDirs, d),
      mmcsBetweenAlive: largerDirs === null ? null : mmcsOverAlive(dirs, largerDirs, {
        d,
        fired: got[larger].fired,
      }),
      largerAlive: larger < 0 ? null : got[larger].fired.reduce((n, f) => n + f, 0),
    };
  });
  const members = measured.slice(0, plan.members);
  const partners = measured.slice(plan.members).map((
    { mmcsBetween: _, mmcsBetweenAlive: __, largerAlive: ___, ...m },
  ) => m);
  const partnerRatio = plan.partnerRatio;
  const chance = (nSmall: number, nLarge: number, at: number) =>
    mmcsChance({ dIn: d, nSmall, nLarge, seed: seed + at, trials: plan.chanceTrials });
  const choose = plan.choose;
  const truthChance = ratios.map((ratio, i) => ({ ratio, value: chance(ratio * d, plan.toy.features, i) }));
  return {
    members,
    chosen: chooseToyMember(members, d, choose),
    kinds: compareToyKinds(members, { d, truthChance, choose }),
    truthChance,
    betweenChance: (partnerRatio === 0 ? ratios.slice(0, -1) : ratios).map((ratio, i) => ({
      ratio,
      value: chance(ratio * d, (ratios[i + 1] ?? partnerRatio) * d, ratios.length + i),
    })),
    toy: plan.toy,
    training: {
      k: plan.k,
      partner: partnerRatio === 0 ? null : {
        ratio: partnerRatio,
        truthChance: chance(partnerRatio * d, plan.toy.features, 2 * ratios.length),
        members: partners,
      },
      prefixes: [...plan.prefixes],
      auxk: plan.auxk,
      steps,
      batchSize,
      lr: plan.lr,
      vectors: steps * batchSize,
      heldOutRows: plan.heldOutRows,
      operands: trained.operands,
      lrSchedule: plan.lrSchedule,
      l1WarmupSteps: plan.l1WarmupSteps,
      decoderBias: plan.decoderBias,
      resample: options.resample
        ? { every: options.resample.every, deadAfter: options.resample.deadAfter, events: trained.events }
        : null,
    },
    choose,
  };
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
