/**
 * Trainable parameters of a GPT-NeoX model on the GPU: each weight with its
 * gradient and the two Adam moments, GPT-NeoX-style initial values, and
 * transfer to and from the host.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { gaussian, seededRandom } from "@saelab/core";
import { type NeoxConfig, weightSpecs } from "@saelab/neox";

/** One trainable tensor. */
export interface Param {
  /** Hugging Face name. */
  name: string;
  /** Shape, `[out, in]` for linear weights. */
  shape: number[];
  /** Value. */
  value: Tensor<"f32">;
  /** Gradient of the current step. */
  grad: Tensor<"f32">;
  /** Adam first moment. */
  m: Tensor<"f32">;
  /** Adam second moment. */
  v: Tensor<"f32">;
  /** Whether AdamW's weight decay applies (matrices, not biases or LayerNorm gains). */
  decay: boolean;
}

/** Check that the trainer computes this configuration. */
export function checkTrainable(config: NeoxConfig): void {
  const why = !config.parallelResidual
    ? "use_parallel_residual must be true"
    : !config.attentionBias
    ? "attention_bias must be true"
    : config.tiedEmbeddings
    ? "tie_word_embeddings must be false"
    : "";
  if (why) throw new RangeError(`Cannot pretrain this GPT-NeoX config: ${why} (as in Pythia)`);
}

/**
 * Initial weights as GPT-NeoX initialises Pythia: normal with std `√(2 / 5D)` ("small init"),
 * output projections of attention and MLP with std `2 / (L·√D)` ("wang init"), LayerNorm gains 1,
 * biases 0.
 *
 * @param config The configuration.
 * @param seed Seed of the generator.
 * @returns Weights by Hugging Face name.
 * @example
 * ```ts
 * import { parseConfig } from "@saelab/neox";
 * import { initialWeights } from "@saelab/pretrain";
 * const c = parseConfig({ model_type: "gpt_neox", vocab_size: 8, hidden_size: 16, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 32 });
 * console.log(initialWeights(c, 1)["gpt_neox.layers.0.input_layernorm.weight"][0]); // 1
 * ```
 */
export function initialWeights(config: NeoxConfig, seed: number): Record<string, Float32Array> {
  const rand = seededRandom(seed);
  const small = Math.sqrt(2 / (5 * config.hiddenSize));
  const wang = 2 / (config.numLayers * Math.sqrt(config.hiddenSize));
  const out: Record<string, Float32Array> = {};
  for (const { name, shape } of weightSpecs(config)) {
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    if (name.endsWith("layernorm.weight") || name.endsWith("final_layer_norm.weight")) a.fill(1);
    else if (shape.length === 2) {
      const std = name.endsWith("attention.dense.weight") || name.endsWith("dense_4h_to_h.weight") ? wang : small;
      for (let i = 0; i < a.length; i++) a[i] = std * gaussian(rand);
    }
    out[name] = a;
  }
  return out;
}

/**
 * Upload weights (and, when resuming, Adam moments) as trainable parameters.
 *
 * @param gpu The GPU context.
 * @param config The configuration.
 * @param weights Values by name; `moments` optionally holds `m.<name>` and `v.<name>`.
 * @returns Parameters in {@linkcode weightSpecs} order, keyed by name.
 */
export function uploadParams(
  gpu: Gpu,
  config: NeoxConfig,
  weights: Record<string, Float32Array>,
  moments: Record<string, Float32Array> = {},
): Map<string, Param> {
  checkTrainable(config);
  const params = new Map<string, Param>();
  for (const { name, shape } of weightSpecs(config)) {
    const data = weights[name];
    const size = shape.reduce((a, b) => a * b, 1);
    if (data?.length !== size) {
      throw new RangeError(`Cannot train: weight ${name} has ${data?.length ?? 0} values, expected ${size}`);
    }
    const moment = (k: "m" | "v") =>
      moments[`${k}.${name}`]
        ? gpu.upload(moments[`${k}.${name}`], shape, `${k}.${name}`)
        : gpu.zeros(shape, "f32", `${k}.${name}`);
    params.set(name, {
      name,
      shape,
      value: gpu.upload(data, shape, name),
      grad: gpu.zeros(shape, "f32", `grad.${name}`),
      m: moment("m"),
      v: moment("v"),
      decay: shape.length === 2 && !name.includes("layernorm") && !name.includes("final_layer_norm"),
    });
  }
  return params;
}

/**
 * Read parameters (and moments) back to the host.
 *
 * @param params The parameters.
 * @returns `weights` by name and `moments` as `m.<name>` / `v.<name>`.
 */
export async function downloadParams(
  params: Map<string, Param>,
): Promise<{ weights: Record<string, Float32Array>; moments: Record<string, Float32Array> }> {
  const weights: Record<string, Float32Array> = {}, moments: Record<string, Float32Array> = {};
  for (const p of params.values()) {
    weights[p.name] = await p.value.read();
    moments[`m.${p.name}`] = await p.m.read();
    moments[`v.${p.name}`] = await p.v.read();
  }
  return { weights, moments };
}

/** Free every tensor of the parameters. */
export function disposeParams(params: Map<string, Param>): void {
  for (const p of params.values()) for (const t of [p.value, p.grad, p.m, p.v]) t.dispose();
}
