/**
 * The options of the `harvest` and `train` stages: one valibot schema with a default on every field
 * (the one place to change them), from which come the config type, the checks, the CLI flags and
 * `--help`.
 *
 * The sizes of the job — grid, steps, tokens, batch, time budget — come from a preset
 * ({@linkcode PRESETS}: `default`, sized to finish within ten minutes on a 2-core machine with a
 * software WebGPU adapter, and `paper`, the full 18-member grid); a flag given explicitly overrides
 * the preset's value. Point `model`, `corpus`, `tokens`, `steps` and the grid at real work when
 * there is a real GPU.
 *
 * @module
 */
import { UsageError } from "./_schema.ts";
import * as v from "valibot";
import {
  DEAD_WINDOW_TOKENS,
  DECODER_BIAS_INITS,
  DECODER_BIAS_ROWS,
  JUMPRELU_BANDWIDTH,
  JUMPRELU_INIT_THRESHOLD,
  JUMPRELU_START_THRESHOLD,
  KIND_NAMES,
  KINDS,
  L1_PENALTIES,
  L1_PENALTY_TEXT,
  logGrid,
  LR_SCHEDULE_TEXT,
  LR_SCHEDULES,
  type LrSchedule,
  MATRYOSHKA_FRACTIONS,
  type SaeKind,
  SAELENS_L0_COEFFICIENT,
} from "@saelab/sae";
import {
  choice,
  flag,
  int,
  names,
  num,
  numbersByName,
  nums,
  type OptionsSchema,
  parseOptions,
  text,
} from "./_schema.ts";

/** Stage names `skip` accepts. */
export const SKIPPABLE = ["baselines", "score", "spliced"] as const;

/** The presets' names. */
export const PRESET_NAMES = ["default", "paper"] as const;

/** The options a preset sets. */
export interface PresetValues {
  /** SAE variants. */
  kinds: SaeKind[];
  /** Dictionary ratios R. */
  ratios: number[];
  /** L1 coefficients α. */
  l1: number[];
  /** Optimiser steps. */
  steps: number;
  /** Activation rows to harvest. */
  tokens: number;
  /** Fraction of documents held out. */
  heldOutFraction: number;
  /** Vectors per step. */
  batchSize: number;
  /** Training time budget (seconds). */
  trainSeconds: number;
  /** Peak Adam learning rate. */
  lr: number;
  /** Peak learning rate of the members of a kind, where it differs from `lr`. */
  kindLr: Partial<Record<SaeKind, number>>;
  /** Learning-rate schedule. */
  lrSchedule: LrSchedule;
  /** Warm-up steps of the schedules that warm up (applied only when `steps` comes from the preset too). */
  lrWarmupSteps?: number;
  /** Decay steps of `warmup-decay` (applied only when `steps` comes from the preset too). */
  lrDecaySteps?: number;
  /**
   * More members beyond the product `kinds × ratios × l1`, as further products (applied only when none of
   * `kinds`, `ratios`, `l1` is given explicitly).
   */
  extra: readonly MemberGrid[];
}

/** A product of kinds × ratios × α. */
export interface MemberGrid {
  /** SAE variants. */
  kinds: SaeKind[];
  /** Dictionary ratios R. */
  ratios: number[];
  /** L1 coefficients α. */
  l1: number[];
}

/**
 * The presets. `default` sizes the main job to train every member to a plateau within ten minutes on a
 * 2-core machine with a software adapter (change its values here, in one place): untied and tied × R 1,
 * 2, 4 at α 3e-3, plus untied R 1 at α 1e-3 and 3e-2 (L0 from about 4 to about 85 features), 8 members,
 * each seeing 1,638,400 vectors — about ten passes over some 160,000 distinct training rows — with a
 * linear warm-up over 5% of the steps and a cosine decay to 0 over the rest, peaking at 5e-3 for the
 * untied members and 2e-2 for the tied ones, which learn more slowly at one rate. Measured on the
 * default model: with a linear decay instead, untied R 4 and R 1 α 1e-3 still improved their held-out
 * FVU by about 2% over the last 20% of steps (1.5–2.1% from 1600 to 1700 steps and 5e-3 to 8e-3) and
 * tied R 4 by 2.3% at 1e-2 and 1.5% at 2e-2; with the cosine decay every untied member improved by at
 * most 1.0% and ended at the same or a lower FVU. About 90,000 held-out rows resolve dead features down
 * to a density of about 1e-5. `paper` is the paper's full grid — untied and tied × R 1, 2, 4 × α 1e-4,
 * 1e-3, 1e-2, 18 members — at its learning rate, constant.
 */
export const PRESETS: Readonly<Record<typeof PRESET_NAMES[number], Readonly<PresetValues>>> = Object.freeze({
  default: Object.freeze({
    kinds: ["untied", "tied"] as SaeKind[],
    ratios: [1, 2, 4],
    l1: [3e-3],
    extra: [{ kinds: ["untied"] as SaeKind[], ratios: [1], l1: [1e-3, 3e-2] }],
    steps: 1600,
    tokens: 250_000,
    heldOutFraction: 0.4,
    batchSize: 1024,
    trainSeconds: 480,
    lr: 5e-3,
    kindLr: { tied: 2e-2 },
    lrSchedule: "warmup-cosine" as LrSchedule,
  }),
  paper: Object.freeze({
    kinds: ["untied", "tied"] as SaeKind[],
    ratios: [1, 2, 4],
    l1: logGrid(1e-4, 1e-2, 3),
    extra: [],
    steps: 320,
    tokens: 49_152,
    heldOutFraction: 0.2,
    batchSize: 512,
    trainSeconds: 300,
    lr: 1e-3,
    kindLr: {},
    lrSchedule: "constant" as LrSchedule,
  }),
});

/** Help text of an option a preset sets: its value in each preset. */
function fromPreset(key: keyof PresetValues): string {
  const shown = (p: typeof PRESET_NAMES[number]) => {
    const value = PRESETS[p][key];
    if (key === "kindLr") {
      const pairs = Object.entries(value as Record<string, number>).map(([k, lr]) => `${k}=${lr}`);
      return pairs.length ? pairs.join(",") : "none";
    }
    if (key !== "extra") return String(value ?? "a share of the steps");
    const grids = value as readonly MemberGrid[];
    return grids.length
      ? grids.map((g) => `${g.kinds.join("+")} R ${g.ratios.join(",")} α ${g.l1.join(",")}`).join("; ")
      : "none";
  };
  return `default: ${shown("default")}; --preset paper: ${shown("paper")}`;
}

/** The options `harvest` reads (and `train`, which runs it first). */
export const harvestEntries = {
  run: text("run id (folder under --runs); default: the latest unfinished run of these settings, else a new one"),
  model: text("Hugging Face GPT-NeoX folder (default: the embedded model, fixtures/models/sotu-neox, not Pythia)"),
  corpus: text("text: sotu, moby-dick, or a folder of .txt/.jsonl files", { default: "sotu" }),
  hook: text("TransformerLens hook: a full name (blocks.2.hook_resid_post) or a block suffix used with --layer", {
    default: "hook_resid_post",
  }),
  layer: int("block of the hook when --hook is a suffix (default: the middle block)", { min: 0 }),
  context: int("tokens per window (default: 128, or the model's context when shorter)", { min: 2 }),
  tokens: int(`activation rows to harvest, held-out rows included (${fromPreset("tokens")})`, { min: 8 }),
  heldOutFraction: num(`fraction of documents held out for evaluation and scoring (${fromPreset("heldOutFraction")})`, {
    positive: true,
    below: 1,
  }),
  harvestBatch: int("windows per forward pass while harvesting", { default: 16, min: 1 }),
  dtype: choice("element type of stored activations", ["f32", "f16"], "f32"),
  corpusTokens: int("most corpus tokens tokenised to draw windows from", { default: 4_000_000, min: 1 }),
  seed: int("seed of window order, batch order and initial weights", { default: 0, min: 0 }),
  reharvest: flag("check every activation chunk of the run and harvest again only those that are corrupted or missing"),
  queue: text(
    "Redis URL of a BullMQ queue, redis://HOST:PORT[/DB]: the harvest's shards and each sweep member are jobs " +
      "run by the `deno task worker` processes on that queue, which must see this runs folder at the same path " +
      "(default: everything in this process)",
  ),
  chunkRows: int("rows per activation chunk file: what a Ctrl-C can lose, and a queue shard's unit (default 8192)", {
    min: 1,
  }),
  shardRows: int("rows per harvest shard on the --queue (default: a quarter of the rows, whole chunks)", { min: 1 }),
};

/** What α means for the jumprelu members, in the help of `--l1`. */
export const L0_ALPHA = "for jumprelu the coefficient of its L0 penalty against the MSE averaged over elements " +
  `(SAELens' l0_coefficient, default ${SAELENS_L0_COEFFICIENT}, weighs a sum over d_in dimensions: it is α·d_in)`;
/** The dead-feature resampling defaults of `--resample` (Bricken et al. 2023's interval; SAELens' dead window). */
export const RESAMPLE_DEFAULTS = Object.freeze({ every: 25_000, deadAfter: 1_000 });

/**
 * The resampling settings a configuration asks for (`--resample`, with the defaults of `RESAMPLE_DEFAULTS`).
 *
 * @param config `resample`, `resampleEvery`, `resampleDeadAfter`.
 * @returns The interval and dead window, or null without `--resample`.
 * @example
 * ```ts
 * import { resampleSettings } from "./_config.ts";
 * if (resampleSettings({ resample: false }) !== null) throw new Error("off by default");
 * if (resampleSettings({ resample: true, resampleEvery: 50 })?.deadAfter !== 1000) throw new Error("SAELens' window");
 * ```
 */
export function resampleSettings(
  config: { resample?: boolean; resampleEvery?: number; resampleDeadAfter?: number },
): { every: number; deadAfter: number } | null {
  if (!config.resample) return null;
  return {
    every: config.resampleEvery ?? RESAMPLE_DEFAULTS.every,
    deadAfter: config.resampleDeadAfter ?? RESAMPLE_DEFAULTS.deadAfter,
  };
}

/**
 * The opt-in training recipes of current SAE toolkits, shared by `train` and `toy`: none changes a run unless
 * given. `--l1-warmup-steps` and the resampling flags.
 *
 * @returns The schema entries.
 */
function recipeEntries() {
  return {
    l1Penalty: choice(
      `sparsity penalty of the untied members: ${
        L1_PENALTIES.map((k) => `${k}: ${L1_PENALTY_TEXT[k]}`).join("; ")
      }; decoder-norm members are named …_dn and saved with ‖D_j‖ folded into the encoder (SAELens' ` +
        "fold_W_dec_norm). SAELens sums the squared error over the input dimension where this keeps the paper's " +
        "mean over elements, so its l1_coefficient is d_in times this α",
      L1_PENALTIES,
      "paper",
    ),
    decoderBias: choice(
      "decoder bias b_dec of every member but the gated ones (x − b_dec into the encoder, x̂ = … + b_dec; members " +
        "named …_bdec): " +
        "none (the paper); zero (trainable, from 0); geometric-median (trainable, from the geometric median of the " +
        `first ${DECODER_BIAS_ROWS} training rows by Weiszfeld's algorithm: the Anthropic recipe and the default ` +
        "b_dec_init_method of SAELens before v6, eps 1e-6, 100 iterations; SAELens v6 starts b_dec at zero)",
      DECODER_BIAS_INITS,
      "none",
    ),
    l1WarmupSteps: int(
      "L1 warm-up: α rises linearly from 0 at the first step to its value after this many steps (SAELens' " +
        "l1_warm_up_steps, default 0; dictionary_learning's sparsity_warmup_steps, default 2000; the paper: none, " +
        "the default)",
      { min: 0 },
    ),
    resample: flag(
      "resample dead features (Bricken et al. 2023): every --resample-every steps, each feature that has not fired " +
        "for --resample-dead-after steps is re-initialised toward an input drawn ∝ its squared error², encoder " +
        "row at 0.2 × the mean alive norm, bias 0, its Adam moments reset (the paper: no resampling, the default; not with --queue)",
    ),
    resampleEvery: int(
      `steps between resamplings with --resample (default ${RESAMPLE_DEFAULTS.every}: Bricken et al. 2023 resample ` +
        "at steps 25k, 50k, 75k and 100k; shorter runs need a smaller value)",
      { min: 1 },
    ),
    resampleDeadAfter: int(
      `steps without firing after which a feature counts as dead with --resample (default ${RESAMPLE_DEFAULTS.deadAfter}: ` +
        "SAELens' dead_feature_window)",
      { min: 1 },
    ),
  };
}

/** The schema of `train` (harvest, train, evaluate, then baselines and score). */
export const trainSchema = v.strictObject({
  ...harvestEntries,
  preset: choice(
    "sizes of the job (paper: the 18-member grid); flags given explicitly override them. Members beyond " +
      `kinds × ratios × l1: ${fromPreset("extra")} (left out when --kinds, --ratios or --l1 is given)`,
    [
      ...PRESET_NAMES,
    ],
    "default",
  ),
  kinds: names(
    `SAE variants (${fromPreset("kinds")}; ${KIND_NAMES.filter((k) => KINDS[k].needs.length).join(", ")} need --k` +
      `${KIND_NAMES.filter((k) => KINDS[k].help).map((k) => `; ${k}: ${KINDS[k].help}`).join("")})`,
    { choices: KIND_NAMES },
  ),
  k: int(
    "codes kept per row by the kinds that need it (topk: each row; batchtopk, matryoshka: k·B over a batch of B rows); " +
      "those members have no L1 term, one per ratio",
    { min: 1 },
  ),
  prefixes: nums(
    "matryoshka: nested dictionary prefixes as fractions of d_sae, the whole dictionary always the last level " +
      `(default: ${MATRYOSHKA_FRACTIONS.join(",")})`,
    { positive: true, below: 1 },
  ),
  auxK: int(
    "AuxK (Gao et al. 2024) for the kinds that need --k: each row's k_aux largest pre-activations among dead " +
      "latents reconstruct the residual (0: off; the paper used 512, sparsify d_in/2)",
    { default: 0, min: 0 },
  ),
  auxAlpha: num(`AuxK's coefficient α_aux (default: 1/32, the paper's)`, { min: 0 }),
  deadWindow: int(
    `training tokens without firing after which a latent is dead for AuxK (default: ${DEAD_WINDOW_TOKENS}, the paper's)`,
    { min: 0 },
  ),
  ratios: nums(`dictionary ratios R = d_sae / d_in (${fromPreset("ratios")})`, { positive: true }),
  l1: nums(`L1 coefficients α (${fromPreset("l1")}); ${L0_ALPHA}`, { min: 0 }),
  jumpreluBandwidth: num(
    "bandwidth ε of the jumprelu members' straight-through estimators (SAELens' jumprelu_bandwidth)",
    {
      default: JUMPRELU_BANDWIDTH,
      positive: true,
    },
  ),
  jumpreluInitThreshold: num(
    `initial threshold θ of every jumprelu feature (SAELens' jumprelu_init_threshold is ${JUMPRELU_INIT_THRESHOLD}; ` +
      `from it the default run's jumprelu members stay dense, L0 127 of 128 at α 3e-3 to 3e-2)`,
    { default: JUMPRELU_START_THRESHOLD, positive: true },
  ),
  steps: int(`optimiser steps, every member sees every batch (${fromPreset("steps")})`, { min: 1 }),
  trainSeconds: num(
    `stop training after this many seconds; a rerun with --run trains on (${fromPreset("trainSeconds")})`,
    {
      positive: true,
    },
  ),
  batchSize: v.pipe(
    int(`activation vectors per step, a multiple of 4 (${fromPreset("batchSize")})`, { min: 4 }),
    v.check((b) => b === undefined || b % 4 === 0, (i) => `${i.input} is not a multiple of 4`),
  ),
  lr: num(`Adam learning rate, the peak of a schedule (${fromPreset("lr")})`, { positive: true }),
  kindLr: numbersByName(
    `peak learning rate of a kind's members where it differs from --lr, as kind=rate,… (${fromPreset("kindLr")})`,
    { keys: KIND_NAMES },
  ),
  lrSchedule: choice(
    `learning-rate schedule: ${
      LR_SCHEDULES.map((k) => `${k} (${LR_SCHEDULE_TEXT[k]})`).join("; ")
    }; the last steps of warmup-decay are --lr-decay-steps (${fromPreset("lrSchedule")})`,
    LR_SCHEDULES,
    undefined,
  ),
  lrWarmupSteps: int(
    "warm-up steps of the warmup-* schedules, the rate rising linearly to its peak (default: 5% of the steps; " +
      "SAELens' lr_warm_up_steps, default 0; dictionary_learning's warmup_steps, default 1000)",
    { min: 0 },
  ),
  lrDecaySteps: int(
    "decay steps of warmup-decay, the rate falling linearly to 0 over the last steps (default: 20% of the steps; " +
      "SAELens' lr_decay_steps, default 0; dictionary_learning decays from its decay_start, default none)",
    { min: 0 },
  ),
  ...recipeEntries(),
  probeRows: int("held-out rows on which each member's FVU is followed during training (0: not followed)", {
    default: 4096,
    min: 0,
  }),
  logEvery: int("read training statistics back every this many steps", { default: 10, min: 1 }),
  checkpointSeconds: num("write a resumable checkpoint at least this often (seconds; Ctrl-C writes one too)", {
    default: 60,
    positive: true,
  }),
  lossWindows: int("held-out windows for the spliced loss (0 skips it)", { default: 8, min: 0 }),
  skip: names("stages to leave out", { choices: SKIPPABLE, default: [], empty: true }),
}) satisfies OptionsSchema;

/** The schema of `harvest` alone. */
export const harvestSchema = v.strictObject(harvestEntries) satisfies OptionsSchema;

/** The checked options of `train`, before the preset fills in what was not given. */
export type TrainOptions = v.InferOutput<typeof trainSchema>;

/** Everything the harvest and train stages read from their configuration (the preset applied). */
export type PipelineConfig = Omit<TrainOptions, keyof PresetValues> & PresetValues;

/**
 * Fill in the options a configuration left out from its preset.
 *
 * @param options Checked options (`preset` absent: `default`).
 * @returns The configuration with the preset's values where none was given.
 * @example
 * ```ts
 * import { applyPreset, PRESETS, resolveConfig } from "./_config.ts";
 * const c = applyPreset({ preset: "paper", steps: 7 });
 * if (c.steps !== 7 || c.l1.length !== PRESETS.paper.l1.length) throw new Error("explicit flags win");
 * const paper = resolveConfig({ preset: "paper", lrSchedule: "warmup-decay" });
 * if (paper.kinds.length * paper.ratios.length * paper.l1.length !== 18) throw new Error("the paper's grid");
 * if (resolveConfig({ preset: "paper", ratios: [2] }).ratios.join() !== "2") throw new Error("--ratios wins");
 * ```
 */
export function applyPreset<T extends Partial<PresetValues> & { preset?: typeof PRESET_NAMES[number] }>(
  options: T,
): Omit<T, keyof PresetValues> & PresetValues {
  const preset = PRESETS[options.preset ?? "default"];
  const out: Record<string, unknown> = { ...options };
  const own = (k: string) => (options as Record<string, unknown>)[k] !== undefined;
  const gridGiven = own("kinds") || own("ratios") || own("l1");
  checkKindNeeds(options as { kinds?: readonly SaeKind[]; k?: number });
  checkQueueResample(options as { queue?: string; resample?: boolean });
  for (const [k, value] of Object.entries(preset)) {
    if (k === "extra" && gridGiven) out[k] = [];
    else if (k === "kindLr" && own("lr") && !own("kindLr")) out[k] = {}; // --lr alone sets every member's rate
    else if ((k === "lrWarmupSteps" || k === "lrDecaySteps") && own("steps")) continue;
    else if (out[k] === undefined) out[k] = Array.isArray(value) ? [...value] : isRecord(value) ? { ...value } : value;
  }
  return out as Omit<T, keyof PresetValues> & PresetValues;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The defaults of {@linkcode trainSchema} with the default preset. */
export const DEFAULTS: Readonly<PipelineConfig> = Object.freeze(resolveConfig({}));

/**
 * Check the configuration of the harvest and train stages and fill in the defaults.
 *
 * @param raw The configuration (camelCase keys).
 * @returns The configuration with every default filled in.
 * @throws {UsageError} When a key is unknown or a value has the wrong type or range; the message names the flag.
 * @example
 * ```ts
 * import { resolveConfig } from "./_config.ts";
 * const c = resolveConfig({ ratios: [1, 2], steps: 50 });
 * if (c.steps !== 50 || c.kinds.length !== 2) throw new Error("defaults");
 * ```
 */
export function resolveConfig(raw: Record<string, unknown>): PipelineConfig {
  return applyPreset(parseOptions(trainSchema, raw)) as PipelineConfig;
}

/**
 * Refuse `--resample` with `--queue` (in `train` and `toy`): resampling draws the rows of every member from one
 * random stream, so members trained apart on the queue would not be the ones one process trains.
 *
 * @param config `queue` and `resample`.
 * @returns Nothing.
 * @throws {UsageError} Naming both flags.
 * @example
 * ```ts
 * import { checkQueueResample } from "./_config.ts";
 * checkQueueResample({ queue: "redis://127.0.0.1:6379", resample: false });
 * ```
 */
export function checkQueueResample(config: { queue?: string; resample?: boolean }): void {
  if (config.queue !== undefined && config.resample) {
    throw new UsageError(
      "Invalid --resample with --queue: resampling draws the rows of every member from one random stream, so " +
        "members trained apart on the queue would not be the sweep's; drop one of them",
    );
  }
}

/**
 * Refuse kinds whose members need `--k` when it is not given.
 *
 * @param config The kinds asked for and `k`.
 * @returns Nothing.
 * @throws {UsageError} Naming `--kinds` and `--k`.
 * @example
 * ```ts
 * import { checkKindNeeds } from "./_config.ts";
 * checkKindNeeds({ kinds: ["untied", "batchtopk"], k: 8 });
 * ```
 */
export function checkKindNeeds(config: { kinds?: readonly SaeKind[]; k?: number }): void {
  const needy = (config.kinds ?? []).find((kind) => KINDS[kind].needs.includes("k"));
  if (needy && config.k === undefined) {
    throw new UsageError(`Invalid --kinds: ${needy} members need --k (the codes kept per row)`);
  }
}
