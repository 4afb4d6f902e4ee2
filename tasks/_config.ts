/**
 * The configuration of the `harvest` and `train` stages: one typed object with a default on
 * every field, checked from the merged CLI configuration (defaults, `--config` file, flags).
 *
 * The defaults size the main job to finish within ten minutes on a 2-core machine with a
 * software WebGPU adapter, baselines and scoring included; point `model`, `corpus`, `tokens`,
 * `steps` and the grid at real work when there is a real GPU.
 *
 * @module
 */
import { isSaeKind, KIND_NAMES, KINDS, logGrid, type SaeKind } from "@saelab/sae";

/** Everything the harvest and train stages read from their configuration. */
export interface PipelineConfig {
  /** Run id (folder under the runs folder). Default: resume the latest unfinished run of this config, else a new id. */
  run?: string;
  /** Hugging Face GPT-NeoX folder. Default: the embedded model, `fixtures/models/sotu-neox` (not Pythia). */
  model?: string;
  /** Text: `"sotu"`, `"moby-dick"`, or a folder of `.txt`/`.jsonl` files. Default `"sotu"`. */
  corpus: string;
  /** Hook: a full TransformerLens name, or a block suffix combined with `layer`. Default `"hook_resid_post"`. */
  hook: string;
  /** Block of the hook when `hook` is a suffix. Default: the middle block, `floor(layers / 2)`. */
  layer?: number;
  /** Tokens per window. Default: 128, or the model's context when shorter. */
  context?: number;
  /** Activation rows to harvest, both splits. Default 49152. */
  tokens: number;
  /** Fraction of documents whose rows are held out for evaluation and scoring. Default 0.2. */
  heldOutFraction: number;
  /** Windows per forward pass while harvesting. Default 16. */
  harvestBatch: number;
  /** Element type of stored activations. Default `"f32"`. */
  dtype: "f32" | "f16";
  /** Most tokens of the corpus tokenised to draw windows from. Default 4,000,000. */
  corpusTokens: number;
  /** SAE variants. Default untied and tied. */
  kinds: SaeKind[];
  /** Dictionary ratios R = d_sae / d_in. Default 1, 2, 4. */
  ratios: number[];
  /** L1 coefficients α. Default 1e-4, 1e-3, 1e-2 (the paper's log grid, three points). */
  l1: number[];
  /** Optimiser steps (every member sees every batch). Default 320. */
  steps: number;
  /**
   * Stop training when this many seconds have passed (the members keep the steps they have, and
   * `--run <id>` trains on later). Keeps the main job inside its time budget on a busy machine. Default 300.
   */
  trainSeconds: number;
  /** Activation vectors per step (a multiple of 4). Default 512. */
  batchSize: number;
  /** Adam learning rate. Default 1e-3 (the paper). */
  lr: number;
  /** Seed of window order, batch order and initial weights. Default 0. */
  seed: number;
  /** Read training statistics back every this many steps. Default 10. */
  logEvery: number;
  /** Write a resumable checkpoint at least this often (seconds); Ctrl-C writes one too. Default 60. */
  checkpointSeconds: number;
  /** Held-out windows for the spliced loss (clean, spliced, zero-ablated). Default 8; 0 skips it. */
  lossWindows: number;
  /** Stages to leave out: `baselines`, `score`, `spliced`. Default none. */
  skip: string[];
}

/** The defaults, as documented on {@linkcode PipelineConfig}. */
export const DEFAULTS: Readonly<PipelineConfig> = Object.freeze({
  corpus: "sotu",
  hook: "hook_resid_post",
  tokens: 49_152,
  heldOutFraction: 0.2,
  harvestBatch: 16,
  dtype: "f32",
  corpusTokens: 4_000_000,
  kinds: ["untied", "tied"] as SaeKind[],
  ratios: [1, 2, 4],
  l1: logGrid(1e-4, 1e-2, 3),
  steps: 320,
  trainSeconds: 300,
  batchSize: 512,
  lr: 1e-3,
  seed: 0,
  logEvery: 10,
  checkpointSeconds: 60,
  lossWindows: 8,
  skip: [] as string[],
});

/** Stage names `skip` accepts. */
export const SKIPPABLE = ["baselines", "score", "spliced"] as const;

function fail(key: string, why: string): never {
  throw new TypeError(`Invalid ${key}: ${why}`);
}

function int(raw: Record<string, unknown>, key: string, min: number): number | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) fail(key, `expected a whole number ≥ ${min}, got ${v}`);
  return v;
}

function positive(raw: Record<string, unknown>, key: string): number | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) fail(key, `expected a positive number, got ${v}`);
  return v;
}

function text(raw: Record<string, unknown>, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") fail(key, `expected a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function list<T>(
  raw: Record<string, unknown>,
  key: string,
  check: (v: unknown) => v is T,
  what: string,
): T[] | undefined {
  let v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v === "string" || typeof v === "number") v = [v];
  if (!Array.isArray(v) || v.length === 0) fail(key, `expected a non-empty list of ${what}`);
  const bad = (v as unknown[]).find((x) => !check(x));
  if (bad !== undefined) fail(key, `${JSON.stringify(bad)} is not ${what}`);
  return v as T[];
}

/**
 * Check the merged configuration of a stage and fill in the defaults.
 *
 * @param raw The configuration the CLI hands the stage (camelCase keys).
 * @returns The configuration with every default filled in.
 * @throws {TypeError} When a value has the wrong type or range; the message names the key.
 * @example
 * ```ts
 * import { resolveConfig } from "./_config.ts";
 * const c = resolveConfig({ ratios: [1, 2], steps: 50 });
 * if (c.steps !== 50 || c.kinds.length !== 2) throw new Error("defaults");
 * ```
 */
export function resolveConfig(raw: Record<string, unknown>): PipelineConfig {
  const isNum = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x > 0;
  const kinds = list(raw, "kinds", isSaeKind, KIND_NAMES.join(", ").replace(/, ([^,]*)$/, " or $1"));
  const ratios = list(raw, "ratios", isNum, "a positive number");
  const skip = list(
    raw,
    "skip",
    (x): x is string => SKIPPABLE.includes(x as typeof SKIPPABLE[number]),
    SKIPPABLE.join(", "),
  );
  const dtype = text(raw, "dtype");
  if (dtype !== undefined && dtype !== "f32" && dtype !== "f16") fail("dtype", `expected f32 or f16, got ${dtype}`);
  const heldOut = raw.heldOutFraction;
  if (heldOut !== undefined && (typeof heldOut !== "number" || !(heldOut > 0 && heldOut < 1))) {
    fail("heldOutFraction", `expected a number between 0 and 1, got ${heldOut}`);
  }
  const c: PipelineConfig = {
    run: text(raw, "run"),
    model: text(raw, "model"),
    corpus: text(raw, "corpus") ?? DEFAULTS.corpus,
    hook: text(raw, "hook") ?? DEFAULTS.hook,
    layer: int(raw, "layer", 0),
    context: int(raw, "context", 2),
    tokens: int(raw, "tokens", 8) ?? DEFAULTS.tokens,
    heldOutFraction: (heldOut as number | undefined) ?? DEFAULTS.heldOutFraction,
    harvestBatch: int(raw, "harvestBatch", 1) ?? DEFAULTS.harvestBatch,
    dtype: (dtype as "f32" | "f16" | undefined) ?? DEFAULTS.dtype,
    corpusTokens: int(raw, "corpusTokens", 1) ?? DEFAULTS.corpusTokens,
    kinds: kinds ? [...new Set(kinds)] : [...DEFAULTS.kinds],
    ratios: ratios ? [...new Set(ratios)] : [...DEFAULTS.ratios],
    l1: list(raw, "l1", (x): x is number => typeof x === "number" && x >= 0 && Number.isFinite(x), "a number ≥ 0") ??
      [...DEFAULTS.l1],
    steps: int(raw, "steps", 0) ?? DEFAULTS.steps,
    trainSeconds: positive(raw, "trainSeconds") ?? DEFAULTS.trainSeconds,
    batchSize: int(raw, "batchSize", 4) ?? DEFAULTS.batchSize,
    lr: positive(raw, "lr") ?? DEFAULTS.lr,
    seed: int(raw, "seed", 0) ?? DEFAULTS.seed,
    logEvery: int(raw, "logEvery", 1) ?? DEFAULTS.logEvery,
    checkpointSeconds: positive(raw, "checkpointSeconds") ?? DEFAULTS.checkpointSeconds,
    lossWindows: int(raw, "lossWindows", 0) ?? DEFAULTS.lossWindows,
    skip: skip ?? [...DEFAULTS.skip],
  };
  if (c.batchSize % 4 !== 0) fail("batchSize", `${c.batchSize} is not a multiple of 4`);
  for (const kind of c.kinds) {
    const needs = KINDS[kind].needs;
    if (needs.length) fail("kinds", `${kind} members need ${needs.join(", ")}; train them with @saelab/sae directly`);
  }
  return c;
}
