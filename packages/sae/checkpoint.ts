/**
 * SAE checkpoints in SAELens layout: a folder with `cfg.json` and
 * `sae_weights.safetensors` (`W_enc [d_in, d_sae]`, `b_enc`, `W_dec [d_sae, d_in]`, `b_dec`),
 * plus `training_state.safetensors` beside them (the raw parameters in this
 * package's layout, Adam's moments and the step) so training resumes exactly.
 * Every file is written atomically (temporary file, then rename); the training
 * state is one file, so a resume never mixes two steps.
 *
 * @module
 */
import { join } from "node:path";
import { openSafetensors, type TensorInput, writeSafetensors } from "@saelab/safetensors";
import type { Gpu } from "@saelab/gpu";
import {
  type GpuLinearDictionary,
  loadDictionary,
  readSaeLensCfg,
  SAELENS_FILES,
  type SaeLensCfg,
  writeSaeLens,
} from "@saelab/dictionary";
import { KINDS } from "./kinds/mod.ts";
import { toSaeLensTensors } from "./sae_dictionary.ts";
import { type AdamSettings, resolveSpec, type SaeSpec, specName } from "./spec.ts";
import type { SaeWeights } from "./weights.ts";

/** File names inside a checkpoint folder. */
export const SAE_FILES = Object.freeze({
  ...SAELENS_FILES,
  state: "training_state.safetensors",
});

/** `cfg.json` as SAELens writes it (`@saelab/dictionary`'s type). */
export type { SaeLensCfg };

/** Where an SAE was trained, for `cfg.json`. */
export interface SaeSource {
  /** TransformerLens hook name, e.g. `blocks.2.hook_resid_post`. */
  hookName: string;
  /** Model name or folder. */
  modelName: string;
  /** Layer of the hook (parsed from the name when omitted). */
  hookLayer?: number;
  /** Tokens per context window of the harvest. */
  contextSize?: number;
  /** More fields for `cfg.json`. */
  extra?: Record<string, unknown>;
}

/** Adam state saved beside the weights. */
export interface OptimizerState {
  /** First moments (same layout as the weights). */
  m: SaeWeights;
  /** Second moments. */
  v: SaeWeights;
  /** Steps taken. */
  step: number;
  /** Adam settings. */
  adam: AdamSettings;
}

/**
 * Write an SAE checkpoint folder (created if missing).
 *
 * @param dir The folder.
 * @param weights The SAE.
 * @param options Provenance for `cfg.json`, and the optimizer state to resume from.
 * @example
 * ```ts ignore
 * await saveSae("runs/r1/saes/untied_r4_a1.0e-3", weights, { source: { hookName, modelName } });
 * ```
 */
export async function saveSae(
  dir: string,
  weights: SaeWeights,
  options: { source: SaeSource; optimizer?: OptimizerState },
): Promise<void> {
  const spec = weights.spec;
  for (const [key, arr] of Object.entries(weights)) {
    if (arr instanceof Float32Array && !arr.every(Number.isFinite)) {
      throw new RangeError(`Cannot save ${specName(spec)}: ${key} holds NaN or Inf`);
    }
  }
  await Deno.mkdir(dir, { recursive: true });
  const step = options.optimizer?.step ?? 0;
  const meta = { format: "pt", saelab_step: String(step), saelab_spec: JSON.stringify(spec) };
  if (options.optimizer) {
    const { m, v, adam } = options.optimizer;
    const tensors: Record<string, TensorInput> = {};
    for (const [prefix, w] of [["param", weights], ["adam_m", m], ["adam_v", v]] as const) {
      for (const [key, arr] of Object.entries(w)) {
        if (arr instanceof Float32Array) tensors[`${prefix}.${key}`] = { dtype: "F32", shape: [arr.length], data: arr };
      }
    }
    await writeSafetensors(join(dir, SAE_FILES.state), tensors, {
      metadata: { ...meta, saelab_adam: JSON.stringify(adam) },
    });
  }
  const { dIn: d, dDict: n } = spec;
  const src = options.source;
  const layer = src.hookLayer ?? Number(/^blocks\.(\d+)\./.exec(src.hookName)?.[1] ?? NaN);
  const cfg: SaeLensCfg = {
    d_in: d,
    d_sae: n,
    hook_name: src.hookName,
    ...(Number.isFinite(layer) ? { hook_layer: layer } : {}),
    model_name: src.modelName,
    ...KINDS[spec.kind].saelens.cfg(spec),
    dtype: "float32",
    apply_b_dec_to_input: true,
    normalize_activations: "none",
    ...(src.contextSize ? { context_size: src.contextSize } : {}),
    l1_coefficient: spec.l1,
    metadata: {
      model_name: src.modelName,
      hook_name: src.hookName,
      ...(Number.isFinite(layer) ? { hook_layer: layer } : {}),
    },
    saelab: { kind: spec.kind, tied: KINDS[spec.kind].tied, decoder_bias: spec.decoderBias, step },
    ...src.extra,
  };
  await writeSaeLens(dir, toSaeLensTensors(weights), { cfg, metadata: meta });
}

/**
 * Read `cfg.json` of an SAELens folder (`@saelab/dictionary`'s `readSaeLensCfg`).
 *
 * @param dir The folder.
 * @returns The parsed config.
 * @throws {RangeError} When `d_in` or `d_sae` is missing.
 * @example
 * ```ts ignore
 * const cfg = await readSaeCfg("runs/r1/saes/untied_r4_a1.0e-3");
 * ```
 */
export function readSaeCfg(dir: string): Promise<SaeLensCfg> {
  return readSaeLensCfg(dir);
}

/**
 * Load any SAELens-format SAE folder (trained here or elsewhere) onto a GPU, through
 * `@saelab/dictionary`'s one reader. Supports the `standard` (ReLU) and `topk` architectures
 * without input normalisation.
 *
 * @param gpu The context.
 * @param dir The folder.
 * @param options `name` (default: the folder name).
 * @returns The SAE as a `Dictionary` on the GPU.
 * @throws {TypeError} For architectures or normalisations it cannot reproduce.
 * @example
 * ```ts ignore
 * const sae = await loadSae(gpu, "downloads/pythia-70m-deduped-res-sm/blocks.3.hook_resid_post");
 * ```
 */
export async function loadSae(gpu: Gpu, dir: string, options: { name?: string } = {}): Promise<GpuLinearDictionary> {
  return (await loadDictionary(dir, { name: options.name, kind: "sae" })).bind(gpu);
}

/**
 * Read the exact training state of a checkpoint written by {@linkcode saveSae} with an optimizer.
 *
 * @param dir The folder.
 * @param options `file`: another state file name in the folder.
 * @returns Weights, Adam moments, step and settings, or null when the folder has no training state.
 */
export async function loadTrainingState(
  dir: string,
  options: { file?: string } = {},
): Promise<{ weights: SaeWeights; optimizer: OptimizerState } | null> {
  const path = join(dir, options.file ?? SAE_FILES.state);
  try {
    await Deno.stat(path);
  } catch {
    return null;
  }
  using file = await openSafetensors(path);
  const spec = resolveSpec(JSON.parse(file.metadata.saelab_spec) as SaeSpec);
  const read = async (prefix: string): Promise<SaeWeights> => {
    const opt = async (key: string) => file.has(`${prefix}.${key}`) ? await file.getFloat32(`${prefix}.${key}`) : null;
    return {
      spec: { ...spec },
      encoder: (await opt("encoder"))!,
      encoderBias: (await opt("encoderBias"))!,
      decoder: await opt("decoder"),
      decoderBias: await opt("decoderBias"),
    };
  };
  return {
    weights: await read("param"),
    optimizer: {
      m: await read("adam_m"),
      v: await read("adam_v"),
      step: Number(file.metadata.saelab_step),
      adam: JSON.parse(file.metadata.saelab_adam) as AdamSettings,
    },
  };
}
