/**
 * Hook points of the forward pass, named as in TransformerLens, and the
 * contract of a hook.
 *
 * ## Contract
 *
 * `forward`, `loss` and `generate` take `hooks: { [hookName]: Hook }`. At each
 * named point the model calls, in order:
 *
 * 1. `read(name, act)`: `act` is the activation `[B, T, width]`, computed on
 *    the GPU and not yet read back. It belongs to the model and is valid only
 *    during the call (its buffer is reused afterwards); record kernels on it or
 *    start `act.read()` inside the call. With `keep: true` the hook gets a GPU
 *    copy it owns instead (dispose it when done) — how a harvester keeps
 *    activations without a round trip.
 * 2. `replace(name, act)`: return an f32 tensor of the same shape `[B, T, width]`
 *    to use from here on — an SAE reconstruction, a patched activation. The
 *    model takes ownership of a returned tensor and disposes it when done (return
 *    a copy of anything you keep). Returning nothing, or `act` itself after
 *    writing into it, keeps the (possibly modified) activation.
 *
 * Names are checked before any work: an unknown name, `hook_resid_mid` on a
 * parallel-residual model or a layer at or past `stopAtLayer` is a RangeError.
 * In `generate`, `ln_final.hook_normalized` and `logits` see only the last
 * position, `[B, 1, width]`.
 *
 * @module
 */
import type { Tensor } from "@saelab/gpu";
import type { NeoxConfig } from "./config.ts";

/** What to do at one hook point. */
export interface Hook {
  /** Observe the activation (see the module doc for its lifetime). */
  read?: (name: string, act: Tensor<"f32">) => void;
  /** Hand `read` a GPU copy that the hook owns and must dispose. Default false. */
  keep?: boolean;
  /** Substitute the activation; the model owns the returned tensor. */
  replace?: (name: string, act: Tensor<"f32">) => Tensor<"f32"> | void;
}

/** Hooks by hook point name. */
export type Hooks = Readonly<Record<string, Hook>>;

/** Per-block hook point suffixes, in the order the forward pass reaches them. */
export const BLOCK_HOOKS: readonly string[] = [
  "hook_resid_pre",
  "hook_attn_out",
  "hook_resid_mid",
  "mlp.hook_post",
  "hook_mlp_out",
  "hook_resid_post",
];

/**
 * Every hook point of a model, in the order the forward pass reaches them.
 *
 * @param config The model configuration.
 * @returns Names such as `blocks.0.hook_resid_pre`, then `ln_final.hook_normalized` and `logits`.
 * @example
 * ```ts
 * import { parseConfig } from "@saelab/neox";
 * import { BLOCK_HOOKS, type Hook, type Hooks, hookNames, hookWidth } from "./hooks.ts";
 * const c = parseConfig({ model_type: "gpt_neox", vocab_size: 8, hidden_size: 16, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 32 });
 * const log: Hook = { read: (name, act) => console.log(name, act.shape, hookWidth(c, name)) };
 * const hooks: Hooks = { "blocks.0.hook_resid_post": log };
 * // 7 points: no hook_resid_mid on a parallel-residual model
 * console.log(hookNames(c).length, BLOCK_HOOKS.length, Object.keys(hooks)); // 7 6 ["blocks.0.hook_resid_post"]
 * ```
 */
export function hookNames(config: NeoxConfig): string[] {
  const names: string[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    for (const h of BLOCK_HOOKS) {
      if (h === "hook_resid_mid" && config.parallelResidual) continue;
      names.push(`blocks.${l}.${h}`);
    }
  }
  names.push("ln_final.hook_normalized", "logits");
  return names;
}

/**
 * The width of a hook point's activation (its last dimension).
 *
 * @param config The model configuration.
 * @param name A hook point name.
 * @returns `intermediateSize` for `mlp.hook_post`, `vocabSize` for `logits`, else `hiddenSize`.
 * @example
 * ```ts
 * import { parseConfig } from "@saelab/neox";
 * import { BLOCK_HOOKS, type Hook, type Hooks, hookNames, hookWidth } from "./hooks.ts";
 * const c = parseConfig({ model_type: "gpt_neox", vocab_size: 8, hidden_size: 16, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 32 });
 * const widths = hookNames(c).map((name) => hookWidth(c, name)); // [16, 16, 32, 16, 16, 16, 8]
 * const none: Hooks = {}, hook: Hook = {};
 * console.log(widths, BLOCK_HOOKS[3], none, hook); // mlp.hook_post is 32 wide, logits 8
 * ```
 */
export function hookWidth(config: NeoxConfig, name: string): number {
  if (name.endsWith("mlp.hook_post")) return config.intermediateSize;
  if (name === "logits") return config.vocabSize;
  return config.hiddenSize;
}
