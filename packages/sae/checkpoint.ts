/**
 * SAE members as SAELens folders (`cfg.json` + `sae_weights.safetensors`, through
 * `@saelab/dictionary`'s one writer): `W_enc [d_in, d_sae]`, `b_enc`, `W_dec [d_sae, d_in]`, `b_dec`,
 * with the kind's SAELens fields from the kinds registry and the sweep's own (`kind`, `tied`,
 * `dict_ratio`, `training_steps`, `training_tokens`, `activation_scale`). A member trained on
 * activations multiplied by a constant scale (SAELens' `expected_average_only_in`) is written
 * with the scale folded into its weights, so the folder reads raw activations. The weights file's
 * header carries the SHA-256 of its tensors (`saelab_sha256`), checked with finiteness by
 * {@linkcode verifySaeWeights} and by every reader (`loadDictionary`, {@linkcode loadSae}). Training state lives in one file per sweep
 * (`train_state.ts`).
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import {
  type GpuLinearDictionary,
  loadDictionary,
  readSaeLensCfg,
  SAELENS_FILES,
  type SaeLensCfg,
  verifySaeWeights,
  writeSaeLens,
} from "@saelab/dictionary";
import { payloadSha256 } from "./_payload.ts";
import { KINDS } from "./kinds/mod.ts";
import { toSaeLensTensors } from "./sae_dictionary.ts";
import { specName } from "./spec.ts";
import type { SaeWeights } from "./weights.ts";

/** File names inside a checkpoint folder. */
export const SAE_FILES = SAELENS_FILES;

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

/** Training facts of a member's `cfg.json`. */
export interface MemberFacts {
  /** Steps trained. */
  steps?: number;
  /** Activation vectors seen. */
  tokens?: number;
  /** The activation scale the member was trained at (folded into the weights written). Default 1. */
  scale?: number;
}

/**
 * The SAELens version whose `cfg.json` layout member folders follow, written as `metadata.sae_lens_version`:
 * SAELens reads a cfg without one (or older than 6) through its pre-6 conversion, which rebuilds `metadata` from
 * top-level fields and drops the kinds' own entries (`training_architecture`, …).
 */
export const SAELENS_FORMAT_VERSION = "6.0.0";

/**
 * The `cfg.json` of a sweep member: SAELens v6 fields (the kind's from the registry) and the sweep's own.
 *
 * @param weights The member (for its spec).
 * @param options Provenance and training facts.
 * @returns The config.
 * @example
 * ```ts
 * import { initWeights, memberCfg } from "@saelab/sae";
 * const cfg = memberCfg(initWeights({ kind: "topk", dIn: 4, dDict: 8, l1: 0, k: 2 }), {
 *   source: { hookName: "blocks.1.hook_resid_post", modelName: "m" },
 * });
 * if (cfg.architecture !== "topk" || cfg.hook_layer !== 1 || cfg.dict_ratio !== 2) throw new Error("cfg");
 * ```
 */
export function memberCfg(weights: SaeWeights, options: { source: SaeSource } & MemberFacts): SaeLensCfg {
  const spec = weights.spec;
  const { dIn: d, dDict: n } = spec;
  const src = options.source;
  const layer = src.hookLayer ?? Number(/^blocks\.(\d+)\./.exec(src.hookName)?.[1] ?? NaN);
  const hookLayer = Number.isFinite(layer) ? { hook_layer: layer } : {};
  const own = KINDS[spec.kind].saelens.cfg(spec);
  return {
    d_in: d,
    d_sae: n,
    hook_name: src.hookName,
    ...hookLayer,
    model_name: src.modelName,
    ...own,
    dtype: "float32",
    device: "cpu",
    apply_b_dec_to_input: true,
    normalize_activations: "none",
    ...(options.scale !== undefined ? { activation_scale: options.scale } : {}),
    ...(src.contextSize ? { context_size: src.contextSize } : {}),
    l1_coefficient: spec.l1,
    metadata: {
      ...(own.metadata as object | undefined),
      sae_lens_version: SAELENS_FORMAT_VERSION,
      model_name: src.modelName,
      hook_name: src.hookName,
      ...hookLayer,
    },
    kind: spec.kind,
    tied: KINDS[spec.kind].tied,
    dict_ratio: n / d,
    ...(options.steps !== undefined ? { training_steps: options.steps } : {}),
    ...(options.tokens !== undefined ? { training_tokens: options.tokens } : {}),
    saelab: {
      kind: spec.kind,
      tied: KINDS[spec.kind].tied,
      decoder_bias: spec.decoderBias,
      step: options.steps ?? 0,
      // trained with SAELens' standard penalty; the weights hold ‖D_j‖ folded into the encoder (toSaeLensTensors)
      ...(spec.l1Penalty === "decoder-norm" ? { l1_penalty: "decoder-norm", decoder_norm_folded: true } : {}),
    },
    ...src.extra,
  };
}

/**
 * Write a sweep member as a SAELens folder (created if missing): weights, then `cfg.json`, each atomically.
 *
 * @param dir The folder.
 * @param weights The SAE.
 * @param options Provenance for `cfg.json`; steps, tokens and the activation scale it was trained at.
 * @returns Nothing.
 * @throws {RangeError} When a weight holds NaN or Inf (nothing is written).
 * @example
 * ```ts ignore
 * await saveSae("runs/r1/saes/untied_r4_a1.0e-3", weights, { source: { hookName, modelName }, steps: 200 });
 * ```
 */
export async function saveSae(
  dir: string,
  weights: SaeWeights,
  options: { source: SaeSource } & MemberFacts,
): Promise<void> {
  const spec = weights.spec;
  for (const [key, arr] of Object.entries(weights)) {
    if (arr instanceof Float32Array && !arr.every(Number.isFinite)) {
      throw new RangeError(`Cannot save ${specName(spec)}: ${key} holds NaN or Inf`);
    }
  }
  const tensors = toSaeLensTensors(weights, { scale: options.scale });
  const meta = {
    saelab_step: String(options.steps ?? 0),
    saelab_spec: JSON.stringify(spec),
    saelab_sha256: payloadSha256({ ...tensors }),
  };
  await writeSaeLens(dir, tensors, { cfg: memberCfg(weights, options), metadata: meta });
}

/** Check the weights of a SAELens folder: SHA-256 and finiteness (`@saelab/dictionary`'s). */
export { verifySaeWeights };

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
 * `@saelab/dictionary`'s one reader. Supports the `standard` (ReLU), `topk` and `jumprelu`
 * (BatchTopK members) architectures without input normalisation.
 *
 * @param gpu The context.
 * @param dir The folder.
 * @param options `name` (default: the folder name).
 * @returns The SAE as a `Dictionary` on the GPU.
 * @throws {TypeError} For architectures or normalisations it cannot reproduce.
 * @throws {CheckpointError} When the weights fail {@linkcode verifySaeWeights}.
 * @example
 * ```ts ignore
 * const sae = await loadSae(gpu, "downloads/pythia-70m-deduped-res-sm/blocks.3.hook_resid_post");
 * ```
 */
export async function loadSae(gpu: Gpu, dir: string, options: { name?: string } = {}): Promise<GpuLinearDictionary> {
  await verifySaeWeights(dir);
  return (await loadDictionary(dir, { name: options.name, kind: "sae" })).bind(gpu);
}
