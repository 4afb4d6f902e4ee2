/**
 * What training leaves on disk: a resumable state (every member's weights and Adam moments, the
 * step and the activation scale, in one safetensors file replaced atomically, so it is always one
 * consistent step), and each member as a SAELens folder (`cfg.json` + `sae_weights.safetensors`)
 * that reads raw activations: the members train on activations multiplied by a constant scale
 * (SAELens' `expected_average_only_in` normalisation), and the folder folds it into the weights.
 *
 * @module
 */
import { openSafetensors, type TensorInput, writeSafetensors } from "@saelab/safetensors";
import { writeSaeLens } from "@saelab/dictionary";
import type { SaeCfg } from "@saelab/runs";
import { KINDS, resolveSpec, type SaeSpec, type SaeTensors, type SaeWeights, toSaeLensTensors } from "@saelab/sae";

/** A resumable training state. */
export interface TrainState {
  /** Optimiser steps taken. */
  step: number;
  /** The constant the activations are multiplied by before they reach the SAEs. */
  scale: number;
  /** Member names, in member order. */
  names: string[];
  /** Weights per member. */
  weights: SaeWeights[];
  /** Adam first moments per member (in the layout of the weights). */
  m: SaeWeights[];
  /** Adam second moments per member. */
  v: SaeWeights[];
}

const PARTS = ["encoder", "encoderBias", "decoder"] as const;

function put(out: Record<string, TensorInput>, prefix: string, w: SaeWeights): void {
  const { dIn, dDict } = w.spec;
  out[`${prefix}.encoder`] = { dtype: "F32", shape: [dDict, dIn], data: w.encoder };
  out[`${prefix}.encoderBias`] = { dtype: "F32", shape: [dDict], data: w.encoderBias };
  if (w.decoder) out[`${prefix}.decoder`] = { dtype: "F32", shape: [dDict, dIn], data: w.decoder };
}

/**
 * Write a training state atomically.
 *
 * @param path The file.
 * @param state Step, names, weights and moments.
 * @returns Nothing.
 * @example
 * ```ts ignore
 * await saveTrainState("runs/r1/train-state.safetensors", { step, names, weights, m, v });
 * ```
 */
export async function saveTrainState(path: string, state: TrainState): Promise<void> {
  const tensors: Record<string, TensorInput> = {};
  state.weights.forEach((w, i) => {
    put(tensors, `w.${i}`, w);
    put(tensors, `m.${i}`, state.m[i]);
    put(tensors, `v.${i}`, state.v[i]);
  });
  await writeSafetensors(path, tensors, {
    metadata: {
      format: "saelab-train-state",
      step: String(state.step),
      scale: String(state.scale),
      names: JSON.stringify(state.names),
    },
  });
}

/**
 * Read a training state written for the same members.
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
export async function loadTrainState(
  path: string,
  specs: readonly SaeSpec[],
  names: readonly string[],
): Promise<TrainState | null> {
  let file;
  try {
    file = await openSafetensors(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    if (file.metadata.format !== "saelab-train-state" || file.metadata.names !== JSON.stringify(names)) return null;
    const read = async (prefix: string, spec: Required<SaeSpec>): Promise<SaeWeights> => {
      const [encoder, encoderBias, decoder] = await Promise.all(
        PARTS.map((p) => file.has(`${prefix}.${p}`) ? file.getFloat32(`${prefix}.${p}`) : Promise.resolve(null)),
      );
      const tied = KINDS[spec.kind].tied;
      if (!encoder || !encoderBias || (!tied && !decoder)) {
        throw new RangeError(`Cannot resume training from ${path}: ${prefix} is incomplete`);
      }
      return { spec, encoder, encoderBias, decoder: tied ? null : decoder, decoderBias: null };
    };
    const resolved = specs.map(resolveSpec);
    const all = (which: string) => Promise.all(resolved.map((s, i) => read(`${which}.${i}`, s)));
    return {
      step: Number(file.metadata.step),
      scale: Number(file.metadata.scale ?? 1),
      names: [...names],
      weights: await all("w"),
      m: await all("m"),
      v: await all("v"),
    };
  } finally {
    file.close();
  }
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
  const { dIn, dDict, l1, kind } = w.spec;
  return {
    d_in: dIn,
    d_sae: dDict,
    hook_name: info.hook,
    hook_layer: info.layer,
    model_name: info.model,
    ...KINDS[kind].saelens.cfg(w.spec),
    dtype: "float32",
    device: "cpu",
    apply_b_dec_to_input: false,
    normalize_activations: "none",
    activation_scale: info.scale,
    context_size: info.contextLength,
    l1_coefficient: l1,
    metadata: { model_name: info.model, hook_name: info.hook, hook_layer: info.layer },
    kind,
    tied: KINDS[kind].tied,
    dict_ratio: dDict / dIn,
    training_steps: info.steps,
    training_tokens: info.tokens,
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
  await writeSaeLens(dir, foldedTensors(w, info.scale), { cfg: saeCfg(w, info) });
}
