/**
 * Names and shapes of a GPT-NeoX checkpoint in Hugging Face layout, and
 * seeded random weights of that layout for tests and benchmarks.
 *
 * @module
 */
import { seededRandom } from "@saelab/core";
import type { NeoxConfig } from "./config.ts";

/** One tensor a checkpoint must hold. */
export interface WeightSpec {
  /** Hugging Face name (`gpt_neox.layers.0.attention.query_key_value.weight`). */
  name: string;
  /** Row-major shape; linear weights are `[out, in]`. */
  shape: number[];
}

/**
 * The tensors a checkpoint of this configuration must hold.
 *
 * @param config The model configuration.
 * @returns Names and shapes, embedding first and unembedding last.
 * @example
 * ```ts
 * import { parseConfig } from "@saelab/neox";
 * import { type RandomWeightsOptions, randomWeights, type WeightSpec, weightSpecs } from "./weights.ts";
 * const c = parseConfig({ model_type: "gpt_neox", vocab_size: 8, hidden_size: 16, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 32 });
 * const specs: WeightSpec[] = weightSpecs(c);
 * const options: RandomWeightsOptions = { seed: 7 };
 * console.log(specs.length, Object.keys(randomWeights(c, options)).length); // 16 16
 * ```
 */
export function weightSpecs(config: NeoxConfig): WeightSpec[] {
  const { vocabSize: v, hiddenSize: d, intermediateSize: f } = config;
  const specs: WeightSpec[] = [{ name: "gpt_neox.embed_in.weight", shape: [v, d] }];
  for (let l = 0; l < config.numLayers; l++) {
    const p = `gpt_neox.layers.${l}.`;
    specs.push(
      { name: `${p}input_layernorm.weight`, shape: [d] },
      { name: `${p}input_layernorm.bias`, shape: [d] },
      { name: `${p}post_attention_layernorm.weight`, shape: [d] },
      { name: `${p}post_attention_layernorm.bias`, shape: [d] },
      { name: `${p}attention.query_key_value.weight`, shape: [3 * d, d] },
    );
    if (config.attentionBias) specs.push({ name: `${p}attention.query_key_value.bias`, shape: [3 * d] });
    specs.push({ name: `${p}attention.dense.weight`, shape: [d, d] });
    if (config.attentionBias) specs.push({ name: `${p}attention.dense.bias`, shape: [d] });
    specs.push(
      { name: `${p}mlp.dense_h_to_4h.weight`, shape: [f, d] },
      { name: `${p}mlp.dense_h_to_4h.bias`, shape: [f] },
      { name: `${p}mlp.dense_4h_to_h.weight`, shape: [d, f] },
      { name: `${p}mlp.dense_4h_to_h.bias`, shape: [d] },
    );
  }
  specs.push(
    { name: "gpt_neox.final_layer_norm.weight", shape: [d] },
    { name: "gpt_neox.final_layer_norm.bias", shape: [d] },
  );
  if (!config.tiedEmbeddings) specs.push({ name: "embed_out.weight", shape: [v, d] });
  return specs;
}

/** Options for {@linkcode randomWeights}. */
export interface RandomWeightsOptions {
  /** Seed of the generator. Default 0. */
  seed?: number;
  /** Standard deviation of matrices (uniform with that spread). Default 0.02·√(768 / d). */
  std?: number;
}

/**
 * Seeded random weights of a configuration, with LayerNorm gains near 1 and
 * small non-zero biases so that every parameter matters to the output.
 *
 * @param config The model configuration.
 * @param options Seed and scale.
 * @returns Weights by Hugging Face name.
 * @example
 * ```ts
 * import { parseConfig } from "@saelab/neox";
 * import { type RandomWeightsOptions, randomWeights, type WeightSpec, weightSpecs } from "./weights.ts";
 * const c = parseConfig({ model_type: "gpt_neox", vocab_size: 8, hidden_size: 16, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 32 });
 * const options: RandomWeightsOptions = { seed: 1 };
 * const out: WeightSpec = weightSpecs(c).at(-1)!;
 * console.log(out.name, randomWeights(c, options)[out.name].length); // embed_out.weight 128
 * ```
 */
export function randomWeights(config: NeoxConfig, options: RandomWeightsOptions = {}): Record<string, Float32Array> {
  const rand = seededRandom(options.seed ?? 0);
  const std = options.std ?? 0.02 * Math.sqrt(768 / config.hiddenSize);
  const spread = std * Math.sqrt(3);
  const out: Record<string, Float32Array> = {};
  for (const { name, shape } of weightSpecs(config)) {
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    const gain = name.endsWith("layernorm.weight") || name.endsWith("final_layer_norm.weight");
    const bias = shape.length === 1 && !gain;
    const scale = name.includes("embed") ? 1 : bias ? 0.1 : gain ? 0.2 : spread;
    for (let i = 0; i < a.length; i++) a[i] = (gain ? 1 : 0) + (2 * rand() - 1) * scale;
    out[name] = a;
  }
  return out;
}
