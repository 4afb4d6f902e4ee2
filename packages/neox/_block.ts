/**
 * One GPT-NeoX block on the GPU: LayerNorm, fused QKV projection, rotary,
 * causal attention, output projection, the MLP with exact GELU, and the
 * parallel or sequential residual, with hooks at each TransformerLens point.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { add, attention, gelu, layerNorm, matmul, rotary } from "@saelab/kernels";
import type { NeoxConfig } from "./config.ts";
import type { Hooks } from "./hooks.ts";
import { runHook, type Scope } from "./_scope.ts";

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

/** What one block needs. */
export interface BlockRun {
  weights: BlockWeights;
  /** Block index (for hook names). */
  layer: number;
  /** The residual stream `[B, T, D]`, owned by `scope`. */
  x: Tensor<"f32">;
  hooks: Hooks | undefined;
  /** Owns every tensor the block creates. */
  scope: Scope;
}

/**
 * Record one GPT-NeoX block.
 *
 * @param gpu The GPU context.
 * @param config The configuration.
 * @param run Weights, layer, input, hooks and scope.
 * @returns `blocks.{layer}.hook_resid_post`, owned by `run.scope`.
 */
export function recordBlock(gpu: Gpu, config: NeoxConfig, run: BlockRun): Tensor<"f32"> {
  const { weights: w, layer: l, hooks, scope } = run;
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
  const z = scope.own(attention(gpu, qkv, { heads: config.numHeads })); // [B, T, D]
  let attnOut = linear(z, w.denseWeight, w.denseBias, "neox.attn_out");
  attnOut = runHook(gpu, hooks, p + "hook_attn_out", attnOut, scope);

  let mid = x;
  if (!config.parallelResidual) {
    mid = scope.own(add(gpu, x, attnOut));
    mid = runHook(gpu, hooks, p + "hook_resid_mid", mid, scope);
  }
  const ln2 = scope.own(layerNorm(gpu, mid, { weight: w.ln2Weight, bias: w.ln2Bias, eps }));
  const hidden = linear(ln2, w.fcWeight, w.fcBias, "neox.mlp_pre"); // [B, T, F]
  let post = gelu(gpu, hidden, { out: hidden });
  post = runHook(gpu, hooks, p + "mlp.hook_post", post, scope);
  let mlpOut = linear(post, w.projWeight, w.projBias, "neox.mlp_out");
  mlpOut = runHook(gpu, hooks, p + "hook_mlp_out", mlpOut, scope);

  const resid = scope.own(add(gpu, mid, mlpOut));
  if (config.parallelResidual) add(gpu, resid, attnOut, { out: resid });
  return runHook(gpu, hooks, p + "hook_resid_post", resid, scope);
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
