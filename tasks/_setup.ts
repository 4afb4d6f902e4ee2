/**
 * What the harvest and train stages share: the checked configuration, the model on the GPU,
 * the hook, the windows, and the run folder.
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import { hookNames, loadModel, type NeoxModel } from "@saelab/neox";
import type { RunJson } from "@saelab/runs";
import type { PipelineConfig } from "./_config.ts";
import { prepareWindows, type RunWindows } from "./_corpus.ts";
import { type ModelSource, resolveModel } from "./_model.ts";
import { openRun, type RunHandle } from "./_run.ts";
import type { RunContext } from "./_runtime.ts";
import { UsageError } from "./_schema.ts";

/** Everything a stage of the main job works with. Dispose it when done. */
export interface Pipeline {
  /** The checked configuration. */
  config: PipelineConfig;
  /** The model folder, tokenizer and model record. */
  source: ModelSource;
  /** The GPU context. */
  gpu: Gpu;
  /** The model on the GPU. */
  model: NeoxModel;
  /** Full hook name, e.g. `blocks.2.hook_resid_post`. */
  hook: string;
  /** Block of the hook. */
  layer: number;
  /** Tokens per window. */
  contextLength: number;
  /** Windows to harvest and held-out windows. */
  windows: RunWindows;
  /** The run folder. */
  run: RunHandle;
  /** Free the model (the GPU context belongs to the runtime). */
  dispose(): void;
}

/**
 * The full hook name a configuration asks for.
 *
 * @param hook A full name (`blocks.2.hook_resid_post`, `ln_final.hook_normalized`) or a block suffix
 *   (`hook_resid_post`, `mlp.hook_post`).
 * @param options The layer when `hook` is a suffix, and the model's hook names and block count.
 * @returns The full name and its block (the number of blocks for points after the last one).
 * @throws {UsageError} When the layer is not one of the model's blocks (naming `--layer`), the hook is not one of
 *   the model's, or a full name disagrees with `layer`.
 * @example
 * ```ts
 * import { resolveHook } from "./_setup.ts";
 * const names = ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"];
 * const h = resolveHook("hook_resid_post", { names, numLayers: 2 });
 * if (h.hook !== "blocks.1.hook_resid_post") throw new Error(h.hook);
 * ```
 */
export function resolveHook(
  hook: string,
  options: { layer?: number; names: readonly string[]; numLayers: number },
): { hook: string; layer: number } {
  if (!hook.startsWith("blocks.") && options.names.includes(hook)) return { hook, layer: options.numLayers };
  const full = /^blocks\.(\d+)\.(.+)$/.exec(hook);
  if (!full && options.layer !== undefined && options.layer >= options.numLayers) {
    throw new UsageError(
      `Invalid --layer: ${options.layer} is not a block of the model, which has ${options.numLayers} layers ` +
        `(0 … ${options.numLayers - 1})`,
    );
  }
  const layer = full ? Number(full[1]) : options.layer ?? Math.floor(options.numLayers / 2);
  if (full && options.layer !== undefined && options.layer !== layer) {
    throw new UsageError(`Invalid --hook: ${hook} is in block ${layer}, but layer ${options.layer} was asked for`);
  }
  const name = full ? hook : `blocks.${layer}.${hook}`;
  if (!options.names.includes(name)) {
    const suffixes = [...new Set(options.names.map((n) => n.replace(/^blocks\.\d+\./, "")))].join(", ");
    throw new UsageError(
      `Invalid --hook: the model has no ${name} (blocks 0 … ${options.numLayers - 1}; hook points ${suffixes})`,
    );
  }
  return { hook: name, layer };
}

/** What a harvest needs besides the run folder: the model on the GPU, the hook and the windows. */
export type PipelineInputs = Omit<Pipeline, "config" | "run">;

/**
 * Choose and load the model, resolve the hook and prepare the windows of a configuration — what the
 * coordinator and a queue worker (from the run's stored configuration) both load.
 *
 * @param ctx The stage's context (its GPU context is used).
 * @param config The checked configuration (or a run's stored one: `model` a folder, `hook` a full name).
 * @returns The inputs; dispose them when done.
 * @example
 * ```ts ignore
 * const inputs = await loadInputs(ctx, run.json.config as unknown as PipelineConfig);
 * try { ... } finally { inputs.dispose(); }
 * ```
 */
export async function loadInputs(ctx: RunContext, config: PipelineConfig): Promise<PipelineInputs> {
  const deps = ctx;
  const source = await resolveModel({ model: config.model });
  deps.log.info(
    `Model: ${source.info.name} in ${source.dir}${
      source.info.isDefaultModel ? " (the embedded default, which is not Pythia: --model DIR for another)" : ""
    }`,
  );
  const gpu = await ctx.gpu();
  const model = await loadModel(gpu, source.dir);
  try {
    const { hook, layer } = resolveHook(config.hook, {
      layer: config.layer,
      names: hookNames(model.config),
      numLayers: model.config.numLayers,
    });
    const contextLength = Math.min(config.context ?? 128, model.config.maxPositions);
    deps.signal.throwIfAborted();
    const windows = await prepareWindows({
      corpus: config.corpus,
      model: source,
      contextLength,
      tokens: config.tokens,
      corpusTokens: config.corpusTokens,
      heldOutFraction: config.heldOutFraction,
      lossWindows: config.skip.includes("spliced") ? 0 : config.lossWindows,
      seed: config.seed,
      progress: deps.progress,
    });
    deps.log.debug(
      `Corpus: ${windows.documents} documents, ${windows.tokens} tokens, ${windows.harvest.count} windows`,
    );
    return { source, gpu, model, hook, layer, contextLength, windows, dispose: () => model.dispose() };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * Choose and load the model, resolve the hook, prepare the windows and open the run folder (also set
 * as `ctx.run`).
 *
 * @param ctx The stage's context (its GPU context is used).
 * @param config The checked configuration.
 * @param options Which runs have nothing left to do for the calling stage (see `openRun`).
 * @returns The pipeline; dispose it when done.
 * @example
 * ```ts ignore
 * const p = await setupPipeline(ctx, config);
 * try { ... } finally { p.dispose(); }
 * ```
 */
export async function setupPipeline(
  ctx: RunContext,
  config: PipelineConfig,
  options: { finished?: (run: RunJson) => boolean } = {},
): Promise<Pipeline> {
  const inputs = await loadInputs(ctx, config);
  try {
    const { source, hook, layer, contextLength } = inputs;
    const stored: Record<string, unknown> = {
      ...config,
      model: source.dir,
      modelSha256: source.sha256,
      hook,
      layer,
      context: contextLength,
    };
    const run = await openRun(ctx, {
      requested: config.run,
      config: stored,
      model: source.info,
      hook,
      finished: options.finished,
    });
    ctx.run = run;
    return { ...inputs, config, run };
  } catch (e) {
    inputs.dispose();
    throw e;
  }
}
