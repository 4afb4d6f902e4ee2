/**
 * One GPT-NeoX block on the GPU: LayerNorm, fused QKV projection, rotary,
 * causal attention, output projection, the MLP with exact GELU, and the
 * parallel or sequential residual, with hooks at each TransformerLens point.
 * The same forward serves inference and pretraining: asked to, it saves what
 * a backward pass needs.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { add, attention, gelu, layerNorm, matmul, rotary } from "@saelab/kernels";
import type { NeoxConfig } from "./config.ts";
import type { Hooks } from "./hooks.ts";
import { runHook, type TensorOwner } from "./_scope.ts";

/** The weights of one block on the GPU; linear weights are `[out, in]` as stored by Hugging Face. */
export interface BlockWeights {
  ln1Weight: Tensor<"f32">;
  ln1Bias: Tensor<"f32">;
  ln2Weight: Tensor<"f32">;
  ln2Bias: Tensor<"f32">;
  /** `[3·D, D]`, rows per head `[q | k | v]`. */
  qkvWeight: Tensor<"f32">;
  qkvBias?: Tensor<"f32">;
  /** `[D, D]`. */
  denseWeight: Tensor<"f32">;
  denseBias?: Tensor<"f32">;
  /** `[F, D]`. */
  fcWeight: Tensor<"f32">;
  fcBias: Tensor<"f32">;
  /** `[D, F]`. */
  projWeight: Tensor<"f32">;
  projBias: Tensor<"f32">;
}

/**
 * What the backward pass of one block needs from its forward pass, as the block used it
 * (after any hook replaced it). Every tensor is owned by the run's `scope`.
 */
export interface SavedBlock {
  /** The block input, `blocks.{L}.hook_resid_pre` `[B, T, D]`. */
  x: Tensor<"f32">;
  /** `LN₁(x)` `[B, T, D]`. */
  ln1: Tensor<"f32">;
  /** The fused projections after rotary `[B, T, 3·D]`. */
  qkv: Tensor<"f32">;
  /** The attention's log-sum-exp per head and query `[B, H, T]`. */
  lse: Tensor<"f32">;
  /** The attention output before the dense projection `[B, T, D]`. */
  z: Tensor<"f32">;
  /** The input of `LN₂` `[B, T, D]`: `x` with the parallel residual, `hook_resid_mid` with the sequential one. */
  mid: Tensor<"f32">;
  /** `LN₂(mid)` `[B, T, D]`. */
  ln2: Tensor<"f32">;
  /** The MLP pre-activation `[B, T, F]`. */
  h: Tensor<"f32">;
  /** `gelu(h)`, `blocks.{L}.mlp.hook_post` `[B, T, F]`. */
  g: Tensor<"f32">;
}

/** What one block needs. */
export interface BlockRun {
  weights: BlockWeights;
  /** Block index (for hook names). */
  layer: number;
  /** The residual stream `[B, T, D]`, owned by `scope`. */
  x: Tensor<"f32">;
  hooks: Hooks | undefined;
  /** Owns every tensor the block creates. */
  scope: TensorOwner;
  /**
   * When given, the block pushes its {@linkcode SavedBlock} here for a backward pass: it then
   * also writes the attention's log-sum-exp and keeps the MLP pre-activation apart from the
   * GELU output (without it, GELU runs in place and nothing extra is allocated).
   */
  save?: SavedBlock[];
}

/**
 * Record one GPT-NeoX block: the one forward of inference and of pretraining.
 *
 * @param gpu The GPU context.
 * @param config The configuration (parallel or sequential residual).
 * @param run Weights, layer, input, hooks, scope and optionally where to save activations.
 * @returns `blocks.{layer}.hook_resid_post` `[B, T, D]`, owned by `run.scope`.
 * @example
 * ```ts ignore
 * import { blockWeights, recordBlock, type SavedBlock } from "@saelab/neox";
 * const saved: SavedBlock[] = [];
 * const live: Tensor[] = [];
 * const y = recordBlock(gpu, config, {
 *   weights: blockWeights(0, (name) => params.get(name)?.value),
 *   layer: 0, x, hooks: undefined, scope: { own: (t) => (live.push(t), t) }, save: saved,
 * });
 * ```
 */
export function recordBlock(gpu: Gpu, config: NeoxConfig, run: BlockRun): Tensor<"f32"> {
  const { weights: w, layer: l, hooks, scope, save } = run;
  let x = run.x;
  const [batch, seq] = x.shape;
  const rows = batch * seq;
  const p = `blocks.${l}.`;
  const eps = config.layerNormEps;
  /** `a [B, T, in] · Wᵀ + bias` → `[B, T, out]`. */
  const linear = (a: Tensor<"f32">, weight: Tensor<"f32">, bias: Tensor<"f32"> | undefined, label: string) => {
    const out = scope.own(gpu.empty([batch, seq, weight.shape[0]], "f32", label));
    matmul(gpu, a.reshape([rows, a.shape[2]]), weight, {
      transposeB: true,
      bias,
      out: out.reshape([rows, weight.shape[0]]),
    });
    return out;
  };
  x = runHook(gpu, hooks, p + "hook_resid_pre", x, scope);

  const ln1 = scope.own(layerNorm(gpu, x, { weight: w.ln1Weight, bias: w.ln1Bias, eps }));
  const qkv = linear(ln1, w.qkvWeight, w.qkvBias, "neox.qkv"); // [B, T, H·3·hs]
  applyRotary(gpu, config, qkv);
  const heads = config.numHeads;
  const lse = save ? scope.own(gpu.empty([batch, heads, seq], "f32", "neox.lse")) : undefined; // [B, H, T]
  const z = scope.own(attention(gpu, qkv, { heads, lse })); // [B, T, D]
  let attnOut = linear(z, w.denseWeight, w.denseBias, "neox.attn_out");
  attnOut = runHook(gpu, hooks, p + "hook_attn_out", attnOut, scope);

  let mid = x;
  if (!config.parallelResidual) {
    mid = scope.own(add(gpu, x, attnOut));
    mid = runHook(gpu, hooks, p + "hook_resid_mid", mid, scope);
  }
  const ln2 = scope.own(layerNorm(gpu, mid, { weight: w.ln2Weight, bias: w.ln2Bias, eps }));
  const hidden = linear(ln2, w.fcWeight, w.fcBias, "neox.mlp_pre"); // [B, T, F]
  let post = save ? scope.own(gelu(gpu, hidden)) : gelu(gpu, hidden, { out: hidden });
  post = runHook(gpu, hooks, p + "mlp.hook_post", post, scope);
  let mlpOut = linear(post, w.projWeight, w.projBias, "neox.mlp_out");
  mlpOut = runHook(gpu, hooks, p + "hook_mlp_out", mlpOut, scope);

  const resid = scope.own(add(gpu, mid, mlpOut));
  if (config.parallelResidual) add(gpu, resid, attnOut, { out: resid });
  save?.push({ x, ln1, qkv, lse: lse!, z, mid, ln2, h: hidden, g: post });
  return runHook(gpu, hooks, p + "hook_resid_post", resid, scope);
}

/**
 * Gather one block's weights by their Hugging Face names (`gpt_neox.layers.{L}.…`).
 *
 * @param layer The block index.
 * @param lookup The tensor of a name, or `undefined` where the checkpoint has none.
 * @returns The block's weights; the optional attention biases stay `undefined` when absent.
 * @throws {RangeError} When a required weight is missing.
 * @example
 * ```ts ignore
 * import { blockWeights } from "@saelab/neox";
 * const w = blockWeights(0, (name) => tensors.get(name));
 * ```
 */
export function blockWeights(layer: number, lookup: (name: string) => Tensor<"f32"> | undefined): BlockWeights {
  const p = `gpt_neox.layers.${layer}.`;
  const get = (name: string) => {
    const t = lookup(p + name);
    if (t === undefined) throw new RangeError(`Cannot build block ${layer}: weight ${p + name} is missing`);
    return t;
  };
  return {
    ln1Weight: get("input_layernorm.weight"),
    ln1Bias: get("input_layernorm.bias"),
    ln2Weight: get("post_attention_layernorm.weight"),
    ln2Bias: get("post_attention_layernorm.bias"),
    qkvWeight: get("attention.query_key_value.weight"),
    qkvBias: lookup(p + "attention.query_key_value.bias"),
    denseWeight: get("attention.dense.weight"),
    denseBias: lookup(p + "attention.dense.bias"),
    fcWeight: get("mlp.dense_h_to_4h.weight"),
    fcBias: get("mlp.dense_h_to_4h.bias"),
    projWeight: get("mlp.dense_4h_to_h.weight"),
    projBias: get("mlp.dense_4h_to_h.bias"),
  };
}

/**
 * Rotate the query and key parts of fused `qkv [B, T, H·3·hs]` in place, as GPT-NeoX does
 * (rows per head `[q | k | v]`); with `inverse`, rotate back (the backward of the same map).
 *
 * @param gpu The GPU context.
 * @param config The configuration (head size, rotary dimensions and base).
 * @param qkv The fused projections, updated in place.
 * @param options `inverse` to apply the transposed rotation (for gradients).
 * @returns `qkv`.
 * @example
 * ```ts ignore
 * import { applyRotary } from "@saelab/neox";
 * applyRotary(gpu, config, qkv); // forward
 * applyRotary(gpu, config, dqkv, { inverse: true }); // backward
 * ```
 */
export function applyRotary(
  gpu: Gpu,
  config: NeoxConfig,
  qkv: Tensor<"f32">,
  options: { inverse?: boolean } = {},
): Tensor<"f32"> {
  return rotary(gpu, qkv, {
    headSize: config.headSize,
    rotaryDims: config.rotaryDims,
    base: config.rotaryBase,
    rotate: 2,
    every: 3,
    inverse: options.inverse,
    out: qkv,
  });
}
