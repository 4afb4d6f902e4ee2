/**
 * The options of the `harvest` and `train` stages: one valibot schema with a default on every field
 * (the one place to change them), from which come the config type, the checks, the CLI flags and
 * `--help`.
 *
 * The defaults size the main job to finish within ten minutes on a 2-core machine with a
 * software WebGPU adapter, baselines and scoring included; point `model`, `corpus`, `tokens`,
 * `steps` and the grid at real work when there is a real GPU.
 *
 * @module
 */
import * as v from "valibot";
import { KIND_NAMES, KINDS, logGrid, type SaeKind } from "@saelab/sae";
import { choice, int, names, num, nums, type OptionsSchema, parseOptions, text } from "./_schema.ts";

/** Stage names `skip` accepts. */
export const SKIPPABLE = ["baselines", "score", "spliced"] as const;

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
  tokens: int("activation rows to harvest, held-out rows included", { default: 49_152, min: 8 }),
  heldOutFraction: num("fraction of documents held out for evaluation and scoring", {
    default: 0.2,
    positive: true,
    below: 1,
  }),
  harvestBatch: int("windows per forward pass while harvesting", { default: 16, min: 1 }),
  dtype: choice("element type of stored activations", ["f32", "f16"], "f32"),
  corpusTokens: int("most corpus tokens tokenised to draw windows from", { default: 4_000_000, min: 1 }),
  seed: int("seed of window order, batch order and initial weights", { default: 0, min: 0 }),
};

/** The schema of `train` (harvest, train, evaluate, then baselines and score). */
export const trainSchema = v.strictObject({
  ...harvestEntries,
  kinds: v.pipe(
    names("SAE variants", { choices: KIND_NAMES, default: ["untied", "tied"] }),
    v.check(
      (ks) => ks.every((k) => KINDS[k as SaeKind].needs.length === 0),
      (i) => {
        const k = (i.input as SaeKind[]).find((k) => KINDS[k].needs.length)!;
        return `${k} members need ${KINDS[k].needs.join(", ")}; train them with @saelab/sae directly`;
      },
    ),
  ),
  ratios: nums("dictionary ratios R = d_sae / d_in", { default: [1, 2, 4], positive: true }),
  l1: nums("L1 coefficients α (the paper's log grid, three points)", { default: logGrid(1e-4, 1e-2, 3), min: 0 }),
  steps: int("optimiser steps (every member sees every batch)", { default: 320, min: 1 }),
  trainSeconds: num("stop training after this many seconds (a rerun with --run trains on)", {
    default: 300,
    positive: true,
  }),
  batchSize: v.pipe(
    int("activation vectors per step (a multiple of 4)", { default: 512, min: 4 }),
    v.check((b) => b % 4 === 0, (i) => `${i.input} is not a multiple of 4`),
  ),
  lr: num("Adam learning rate (the paper's)", { default: 1e-3, positive: true }),
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

/** Everything the harvest and train stages read from their configuration. */
export type PipelineConfig = v.InferOutput<typeof trainSchema>;

/** The defaults of {@linkcode trainSchema}. */
export const DEFAULTS: Readonly<PipelineConfig> = Object.freeze(parseOptions(trainSchema, {}));

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
  return parseOptions(trainSchema, raw);
}
