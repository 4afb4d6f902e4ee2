/**
 * Pipeline stage `toy`: the paper's ground-truth experiment. Activations are made from known feature
 * directions in superposition (more true features than dimensions, sparse non-negative coefficients,
 * decaying frequencies, optionally correlated); a sweep (`--kinds` × `--ratios` × `--l1`, the same flags
 * as `train`) is trained on them, and per member the MMCS with the true features, the MMCS with the
 * next-larger dictionary, L0 and the dead fraction go to `runs/<id>/toy.json`, with the member that the
 * signals available without ground truth pick (`chosen`). The terminal shows a table of the members with
 * their chance levels, and whether the choice recovered the features. With `--queue redis://HOST:PORT` each
 * member is a job for `deno task worker` processes (`_queue_toy.ts`) and this process computes what needs all
 * members, writing the `toy.json` one process writes.
 *
 * @module
 */
import * as v from "valibot";
import type { Gpu } from "@saelab/gpu";
import { toyChoiceRuleText, toyLargerAliveText } from "@saelab/report";
import {
  readToy,
  RUN_FILES,
  setRunStatus,
  TOY_RECOVERED,
  type ToyJson,
  type ToyJsonKind,
  type ToyJsonMember,
  writeJsonAtomic,
} from "@saelab/runs";
import {
  assembleToySweep,
  CHOOSE_DEFAULTS,
  KIND_NAMES,
  LR_SCHEDULE_TEXT,
  LR_SCHEDULES,
  runToySweep,
  type SaeKind,
  TOY_SWEEP_DEFAULTS,
  toyDefaultAuxK,
  toyDefaultK,
  type ToySweepOptions,
} from "@saelab/sae";
import { checkQueueResample, L0_ALPHA, resampleSettings, trainSchema } from "./_config.ts";
import { openRun, readRunJson, type RunHandle } from "./_run.ts";
import { defineStage, runPipeline, type StageReporter, type Step, UsageError } from "./_runtime.ts";
import { flag, int, num, type OptionsSchema, text, withDefault } from "./_schema.ts";
import { padTable, trainingLine } from "./_summary.ts";
import { resampledText } from "./_train.ts";
import { queueConnection } from "./_queue.ts";
import { toyOnQueue } from "./_queue_toy.ts";

const D = TOY_SWEEP_DEFAULTS;
const train = trainSchema.entries;
const TOY_KINDS: readonly string[] = KIND_NAMES;

/** The options of `toy`; `--kinds`, `--ratios`, `--l1`, `--steps`, `--batch-size`, `--lr` mean what they mean in `train`. */
export const toySchema = v.strictObject({
  run: text("run id (folder under --runs); default: a new one"),
  kinds: v.pipe(
    withDefault(train.kinds, { default: [...D.kinds], choices: TOY_KINDS }),
    v.check(
      (ks) => ks.every((k: string) => TOY_KINDS.includes(k)),
      (i) =>
        `${(i.input as string[]).find((k) => !TOY_KINDS.includes(k))} has no toy sweep; use ${TOY_KINDS.join(", ")}`,
    ),
  ),
  k: int(
    "codes kept per row by topk (each row), batchtopk and matryoshka (k·B over a batch of B rows), one " +
      "member per ratio, no L1 term (default: --mean-active rounded, as many codes as true features are active in " +
      "a row on average)",
    { min: 1 },
  ),
  prefixes: withDefault(train.prefixes, {
    default: [...D.prefixes],
    describe: "matryoshka: nested dictionary prefixes as fractions of d_sae, the whole dictionary always the last " +
      `level (default: ${D.prefixes.join(",")}: one inner level, as the toy's features have no hierarchy and each ` +
      "level costs recovery here; train's default is 0.125,0.25,0.5)",
  }),
  auxK: int(
    "AuxK (Gao et al. 2024) for the kinds that need --k: each row's k_aux largest pre-activations among dead " +
      "latents reconstruct the residual (0: off; default: d/2, sparsify's d_in/2; on here because without it the " +
      "toy's fixed-k members leave latents dead that never learn a feature; train's default is 0)",
    { min: 0 },
  ),
  auxAlpha: train.auxAlpha,
  deadWindow: int(
    "training vectors without firing after which a latent is dead for AuxK (default: 100 steps' rows, 100·--batch-size; " +
      "the paper's 10M tokens is more than a toy member sees)",
    { min: 0 },
  ),
  ratios: withDefault(train.ratios, { default: [...D.ratios] }),
  partnerRatio: num(
    "ratio of one more dictionary per kind and α, trained only as the largest --ratios member's comparison " +
      "(its MMCS between sizes), never a candidate of the choice (0: none, the largest member cannot be chosen; " +
      "default: twice the largest --ratios; an extension of the paper's code, which compares each dictionary with " +
      "the next-larger one: the toy's fixed-k and jumprelu members recover the truth only at the largest default R)",
    { min: 0 },
  ),
  l1: withDefault(train.l1, { default: [...D.l1], describe: `L1 coefficients α; ${L0_ALPHA}` }),
  jumpreluBandwidth: withDefault(train.jumpreluBandwidth, { default: D.thresholds.bandwidth }),
  jumpreluInitThreshold: withDefault(train.jumpreluInitThreshold, {
    default: D.thresholds.initThreshold,
    describe: "initial threshold θ of every jumprelu feature (SAELens' jumprelu_init_threshold is 0.001; the " +
      "toy's rows are not scaled to mean squared norm d, and from 0.001 its jumprelu members stay dense)",
  }),
  steps: withDefault(train.steps, { default: D.steps }),
  batchSize: withDefault(train.batchSize, { default: D.batchSize }),
  lr: withDefault(train.lr, { default: D.lr, describe: "Adam learning rate, the peak of a schedule" }),
  lrSchedule: withDefault(train.lrSchedule, {
    default: "constant",
    describe: `learning-rate schedule: ${LR_SCHEDULES.map((k) => `${k} (${LR_SCHEDULE_TEXT[k]})`).join("; ")}`,
  }),
  lrWarmupSteps: train.lrWarmupSteps,
  lrDecaySteps: train.lrDecaySteps,
  l1Penalty: train.l1Penalty,
  decoderBias: train.decoderBias,
  l1WarmupSteps: train.l1WarmupSteps,
  resample: train.resample,
  resampleEvery: train.resampleEvery,
  resampleDeadAfter: train.resampleDeadAfter,
  d: int("dimension of the toy activations", { default: D.toy.d, min: 1 }),
  features: int("number of true features (default: 2·d)", { min: 1 }),
  meanActive: num("mean active true features per row", { default: D.toy.meanActive, positive: true }),
  decay: num("frequency decay: feature i is active with probability ∝ decay^i (1: equal)", {
    default: D.toy.decay,
    positive: true,
    max: 1,
  }),
  correlated: flag("correlate the feature frequencies within a batch"),
  seed: int("seed of the true features, the data stream and the initial weights", { default: D.seed, min: 0 }),
  queue: text(
    "Redis URL of a BullMQ queue, redis://HOST:PORT[/DB]: each member is a job run by the `deno task worker` " +
      "processes on that queue, which must see this runs folder at the same path; toy.json is the bytes one " +
      "process writes (not with --resample)",
  ),
}) satisfies OptionsSchema;

/** The configuration of `toy`. */
export type ToyConfig = v.InferOutput<typeof toySchema>;

/** What `run.json` records as the model of a toy run. */
export const TOY_MODEL = {
  name: "toy data (no model)",
  path: null,
  isDefaultModel: false,
  note: "activations made from known feature directions; no language model was run",
};

/** Cross-field checks the schema cannot make; a failure is a usage error naming the flags. */
function checkSizes(config: ToyConfig): void {
  if (config.queue !== undefined) {
    queueConnection(config.queue);
    checkQueueResample(config);
  }
  const features = config.features ?? 2 * config.d;
  if (config.meanActive > features) {
    throw new UsageError(`Invalid --mean-active: ${config.meanActive} is more than the ${features} true features`);
  }
  for (const r of config.ratios) {
    const n = r * config.d;
    if (!Number.isInteger(n) || n % 4 !== 0) {
      throw new UsageError(
        `Invalid --ratios: R ${r} × --d ${config.d} = ${n} features, not a whole multiple of 4`,
      );
    }
  }
  const partner = config.partnerRatio;
  if (partner !== undefined && partner !== 0) {
    const n = partner * config.d, largest = Math.max(...config.ratios);
    if (!(partner > largest) || !Number.isInteger(n) || n % 4 !== 0) {
      throw new UsageError(
        `Invalid --partner-ratio: ${partner} must be above the largest --ratios (${largest}) and R × --d ${config.d} ` +
          `= ${n} a whole multiple of 4`,
      );
    }
  }
}

/** What the step shares. */
interface ToyState {
  run: RunHandle;
  config: ToyConfig;
  gpu(): Promise<Gpu>;
  result?: ToyJson;
}

const toyStep: Step<ToyState> = {
  name: "toy",
  async reuse(state) {
    const { run, config } = state;
    if ((await readRunJson(run)).stages.toy?.status !== "done") return false;
    const found = await readToy(run.deps.runsDir, run.id);
    if (found.status !== "ok" || found.value.training?.steps !== config.steps) return false;
    run.deps.log.info(`toy: reusing ${run.path(RUN_FILES.toy)}`);
    state.result = found.value;
    return true;
  },
  async run(state, stage: StageReporter) {
    const { run, config } = state;
    const hooks: ToyHooks = {
      onResample: (step, resampled) => run.deps.log.info(`toy: ${resampledText(step, resampled)}`),
      signal: run.deps.signal,
      onProgress: (done, total) => {
        run.deps.progress({ label: "toy", done, total, unit: "step" });
        stage.update({ done, total, unit: "steps" });
      },
    };
    const result = config.queue
      ? assembleToySweep(
        await toyOnQueue(run, { sweep: toySweepOptions(config), url: config.queue, stage }),
        toySweepOptions(config),
      )
      : await runToySweep(await state.gpu(), toySweepOptions(config, hooks));
    await writeJsonAtomic(run.path(RUN_FILES.toy), result);
    state.result = result;
  },
};

/** The callbacks of a toy sweep in one process. */
export type ToyHooks = Pick<ToySweepOptions, "onResample" | "signal" | "onProgress">;

/**
 * The toy sweep's settings from `toy`'s configuration: what the in-process sweep and every queue worker
 * (from the run's stored configuration) train.
 *
 * @param config The configuration (`features` filled in or not).
 * @param hooks Callbacks and the signal (none on the queue's coordinator).
 * @returns The options of `runToySweep` / `trainToyMembers`.
 * @example
 * ```ts
 * import { toySweepOptions } from "./toy.ts";
 * const o = toySweepOptions({ d: 8, meanActive: 3, batchSize: 32, kinds: ["topk"], seed: 2 } as never);
 * if (o.toy?.features !== 16 || o.k !== 3 || o.auxk?.auxK !== 4) throw new Error(JSON.stringify(o));
 * ```
 */
export function toySweepOptions(config: ToyConfig, hooks: ToyHooks = {}): ToySweepOptions {
  const resample = resampleSettings(config);
  return {
    toy: {
      d: config.d,
      features: config.features ?? 2 * config.d,
      meanActive: config.meanActive,
      decay: config.decay,
      correlated: config.correlated,
      seed: config.seed,
    },
    kinds: config.kinds as SaeKind[],
    k: config.k ?? toyDefaultK(config.meanActive),
    prefixes: config.prefixes,
    auxk: {
      ...toyDefaultAuxK(config.d, config.batchSize),
      ...(config.auxK === undefined ? {} : { auxK: config.auxK }),
      ...(config.deadWindow === undefined ? {} : { deadWindow: config.deadWindow }),
      ...(config.auxAlpha === undefined ? {} : { auxAlpha: config.auxAlpha }),
    },
    ratios: config.ratios,
    ...(config.partnerRatio === undefined ? {} : { partnerRatio: config.partnerRatio }),
    l1: config.l1,
    steps: config.steps,
    batchSize: config.batchSize,
    lr: config.lr,
    lrSchedule: {
      schedule: config.lrSchedule,
      warmupSteps: config.lrWarmupSteps,
      decaySteps: config.lrDecaySteps,
    },
    l1WarmupSteps: config.l1WarmupSteps,
    l1Penalty: config.l1Penalty,
    decoderBias: config.decoderBias,
    ...(resample ? { resample: { ...resample, seed: config.seed } } : {}),
    ...(hooks.onResample ? { onResample: hooks.onResample } : {}),
    thresholds: { bandwidth: config.jumpreluBandwidth, initThreshold: config.jumpreluInitThreshold },
    seed: config.seed,
    ...(hooks.signal ? { signal: hooks.signal } : {}),
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
  };
}

const fixed = (x: number, digits: number) => Number.isFinite(x) ? x.toFixed(digits) : "–";

/**
 * The terminal table of a toy sweep: member, L0, dead fraction, MMCS with the truth and between sizes with
 * their chance levels, then the chosen member and whether it recovered the features.
 *
 * @param toy `toy.json`.
 * @returns Lines of text.
 * @example
 * ```ts
 * import { formatToy } from "./toy.ts";
 * const m = { kind: "untied", l1: 3e-3, l0: 5, deadFraction: 0 };
 * const text = formatToy({
 *   members: [
 *     { ...m, name: "untied_r1_a3.0e-3", ratio: 1, mmcsTruth: 0.7, mmcsBetween: 0.8 },
 *     { ...m, name: "untied_r2_a3.0e-3", ratio: 2, mmcsTruth: 0.97, mmcsBetween: null },
 *   ],
 *   chosen: "untied_r1_a3.0e-3",
 *   truthChance: [{ ratio: 1, value: 0.4 }, { ratio: 2, value: 0.45 }],
 * });
 * if (!text.includes("did not recover")) throw new Error(text);
 * ```
 */
export function formatToy(toy: ToyJson): string {
  const chance = (list: ToyJson["truthChance"], r: number) => list?.find((c) => c.ratio === r)?.value;
  const withChance = (x: number | null, c: number | undefined) =>
    x === null ? "–" : `${fixed(x, 3)}${c === undefined ? "" : ` (${fixed(c, 3)})`}`;
  const head = [
    "member",
    "L0",
    "dead",
    "MMCS-truth (chance)",
    "MMCS-between (chance)",
    "between, live",
    "larger live / size",
  ];
  const rows = toy.members.map((m: ToyJsonMember) => [
    `${m.name}${m.name === toy.chosen ? " *" : ""}`,
    fixed(m.l0, 2),
    `${fixed(100 * m.deadFraction, 1)}%`,
    withChance(m.mmcsTruth, chance(toy.truthChance, m.ratio)),
    withChance(m.mmcsBetween, chance(toy.betweenChance, m.ratio)),
    m.mmcsBetweenAlive === undefined || m.mmcsBetweenAlive === null ? "–" : fixed(m.mmcsBetweenAlive, 3),
    toyLargerAliveText(toy, m),
  ]);
  const chosen = toy.members.find((m) => m.name === toy.chosen);
  const lines = [padTable([head, ...rows])];
  if (toy.members.some((m) => typeof m.largerAlive === "number")) {
    lines.push(toyChoiceRuleText({ ...CHOOSE_DEFAULTS, ...toy.choose }, { spareRecorded: true })!);
  }
  if (toy.kinds && toy.kinds.length > 0) lines.push("", ...formatToyKinds(toy.kinds), "");
  if (chosen) {
    lines.push(`chosen: ${chosen.name} (MMCS to truth ${fixed(chosen.mmcsTruth, 2)})`);
    if (!(chosen.mmcsTruth >= TOY_RECOVERED)) {
      lines.push(
        `The no-ground-truth choice did not recover the features: MMCS to truth ${
          fixed(chosen.mmcsTruth, 3)
        } < ${TOY_RECOVERED}.`,
      );
    }
    const best = toy.members.reduce((a, b) => (b.mmcsTruth > a.mmcsTruth ? b : a));
    if (best.name !== chosen.name) lines.push(`best with ground truth: ${best.name} (${fixed(best.mmcsTruth, 3)})`);
  }
  return lines.join("\n");
}

/**
 * Per kind of a toy sweep: the member chosen without ground truth (the choice rule over that kind's members)
 * with its MMCS to the truth and chance level, the kind's best member by the truth, and whether the choice
 * picked well; then how many kinds recovered the features.
 *
 * @param kinds `toy.json`'s `kinds`.
 * @returns Lines of text.
 * @example
 * ```ts
 * import { formatToyKinds } from "./toy.ts";
 * const k = { kind: "topk", chosen: "topk_r2_k5", chosenMmcsTruth: 0.95, chance: 0.4, best: "topk_r4_k5" };
 * const text = formatToyKinds([{ ...k, bestMmcsTruth: 0.97, recovered: true, pickedWell: true }]).join("\n");
 * if (!text.includes("1 of 1 kinds")) throw new Error(text);
 * ```
 */
export function formatToyKinds(kinds: readonly ToyJsonKind[]): string[] {
  const head = ["kind", "chosen (no ground truth)", "MMCS-truth (chance)", "best by the truth", "MMCS-truth", "picked"];
  const rows = kinds.map((k) => [
    k.kind,
    k.chosen,
    `${fixed(k.chosenMmcsTruth, 3)}${k.chance === null ? "" : ` (${fixed(k.chance, 3)})`}`,
    k.best,
    fixed(k.bestMmcsTruth, 3),
    k.pickedWell ? (k.chosen === k.best ? "the best" : "well") : "poorly",
  ]);
  const recovered = kinds.filter((k) => k.recovered).map((k) => k.kind);
  const missed = kinds.filter((k) => !k.recovered).map((k) => k.kind);
  return [
    padTable([head, ...rows]),
    `${recovered.length} of ${kinds.length} kinds recovered the features by the per-kind choice (MMCS to truth ≥ ${TOY_RECOVERED})${
      missed.length ? `; not: ${missed.join(", ")}` : ""
    }.`,
  ];
}

/** The `toy` stage: train a sweep on toy data with known features and write `toy.json`. */
export const toyStage = defineStage({
  name: "toy",
  schema: toySchema,
  async run(ctx, config) {
    checkSizes(config);
    const features = config.features ?? 2 * config.d;
    const run = await openRun(ctx, {
      requested: config.run,
      config: { ...config, features },
      model: TOY_MODEL,
      hook: `toy: d ${config.d}, ${features} true features`,
    });
    const state: ToyState = { run, config: { ...config, features }, gpu: ctx.gpu };
    await runPipeline({ ...ctx, run }, { state, steps: [toyStep] });
    await setRunStatus(ctx.runsDir, run.id, { status: "done" });
    const training = trainingLine({ ...config, features }, []);
    ctx.log.info(`\n${formatToy(state.result!)}${training ? `\n${training}` : ""}`);
    return { runId: run.id, message: `Run ${run.id}: ${run.path(RUN_FILES.toy)}` };
  },
});
