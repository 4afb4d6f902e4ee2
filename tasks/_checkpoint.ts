/**
 * What training leaves in a run folder, in `@saelab/sae`'s formats: the one resumable state
 * (`train-state.safetensors`: every member's weights and Adam moments, the step and the activation
 * scale, replaced atomically, so it is always one consistent step), and each member as a SAELens
 * folder (`cfg.json` + `sae_weights.safetensors`) that reads raw activations: the members train on
 * activations multiplied by a constant scale (SAELens' `expected_average_only_in` normalisation),
 * and the folder folds it into the weights.
 *
 * @module
 */
import type { SaeCfg } from "@saelab/runs";
import {
  loadTrainState as loadState,
  memberCfg,
  type SaeSpec,
  type SaeTensors,
  type SaeWeights,
  saveSae,
  toSaeLensTensors,
  type TrainState,
} from "@saelab/sae";

export { saveTrainState } from "@saelab/sae";
export type { TrainState } from "@saelab/sae";

/**
 * Read a run's training state written for the same members (`@saelab/sae`'s one state format).
 *
 * @param path The file.
 * @param specs The members' specs, in order.
 * @param names Their names; a state for other members is ignored.
 * @returns The state, or null when there is none for these members.
 * @example
 * ```ts ignore
 * const state = await loadTrainState("runs/r1/train-state.safetensors", specs, names);
 * ```
 */
export function loadTrainState(
  path: string,
  specs: readonly SaeSpec[],
  names: readonly string[],
): Promise<TrainState | null> {
  return loadState(path, { specs, names });
}

/** Facts of a member's `cfg.json` beyond its sizes. */
export interface SaeFolderInfo {
  /** Hook name. */
  hook: string;
  /** Block of the hook. */
  layer: number;
  /** Model name. */
  model: string;
  /** Tokens per window. */
  contextLength: number;
  /** Steps trained. */
  steps: number;
  /** Activation vectors seen. */
  tokens: number;
  /** The activation scale the member was trained at (folded into the weights written). */
  scale: number;
}

/**
 * The `cfg.json` of a member.
 *
 * @param w The member's weights (for its spec).
 * @param info Hook, model, context and training facts.
 * @returns The SAELens config with the sweep's own fields (`kind`, `dict_ratio`, `training_steps`, `training_tokens`).
 * @example
 * ```ts
 * import { initWeights } from "@saelab/sae";
 * import { saeCfg } from "./_checkpoint.ts";
 * const w = initWeights({ kind: "tied", dIn: 4, dDict: 8, l1: 1e-3 });
 * const cfg = saeCfg(w, { hook: "blocks.0.hook_resid_post", layer: 0, model: "m", contextLength: 8, steps: 0, tokens: 0, scale: 1 });
 * if (cfg.d_sae !== 8 || cfg.dict_ratio !== 2) throw new Error();
 * ```
 */
export function saeCfg(w: SaeWeights, info: SaeFolderInfo): SaeCfg {
  return memberCfg(w, memberOptions(info));
}

function memberOptions(info: SaeFolderInfo) {
  return {
    source: { hookName: info.hook, hookLayer: info.layer, modelName: info.model, contextSize: info.contextLength },
    steps: info.steps,
    tokens: info.tokens,
    scale: info.scale,
  };
}

/**
 * SAELens tensors of a member trained on activations multiplied by `scale`, for raw activations:
 * `W_enc · scale` reads them, `W_dec / scale` writes them back at their own scale; the codes are
 * the same as the trained member's on scaled activations.
 *
 * @param w The member's weights.
 * @param scale The activation scale it was trained at.
 * @returns `W_enc [dIn, dDict]`, `b_enc`, `W_dec [dDict, dIn]`, `b_dec`.
 * @example
 * ```ts
 * import { initWeights } from "@saelab/sae";
 * import { foldedTensors } from "./_checkpoint.ts";
 * const w = initWeights({ kind: "untied", dIn: 4, dDict: 8, l1: 1e-3 });
 * const t = foldedTensors(w, 2);
 * if (Math.abs(Math.hypot(...t.W_dec.subarray(0, 4)) - 0.5) > 1e-6) throw new Error("decoder rows have norm 1/scale");
 * ```
 */
export function foldedTensors(w: SaeWeights, scale: number): SaeTensors {
  return toSaeLensTensors(w, { scale });
}

/**
 * Write a member as a SAELens folder: weights first, then `cfg.json`, each atomically.
 *
 * @param dir The folder (created when missing).
 * @param w The member's weights.
 * @param info Hook, model, context and training facts.
 * @returns Nothing.
 * @example
 * ```ts ignore
 * await writeSaeFolder("runs/r1/saes/untied_r4_a1.0e-3", weights, info);
 * ```
 */
export async function writeSaeFolder(dir: string, w: SaeWeights, info: SaeFolderInfo): Promise<void> {
  await saveSae(dir, w, memberOptions(info));
}
