/**
 * Model shapes for tests and benchmarks, as Hugging Face `config.json` fields to give to
 * `parseConfig`; a test spreads one and overrides only what it is about.
 *
 * ```ts
 * import { parseConfig } from "@saelab/neox";
 * import { MICRO_NEOX } from "@saelab/neox/testing";
 * const c = parseConfig({ ...MICRO_NEOX, num_hidden_layers: 3 });
 * console.log(c.hiddenSize, c.numLayers, c.headSize); // 16 3 8
 * ```
 *
 * @module
 */

/** A small GPT-NeoX that runs in milliseconds: 3 heads of 16, 2 layers, MLP 80, vocabulary 97, 24 positions. */
export const TINY_NEOX = {
  model_type: "gpt_neox",
  vocab_size: 97,
  hidden_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 3,
  intermediate_size: 80,
  max_position_embeddings: 24,
} as const;

/** The smallest shape worth testing: 2 heads of 8, 2 layers, MLP 32, vocabulary 32, 16 positions. */
export const MICRO_NEOX = {
  model_type: "gpt_neox",
  vocab_size: 32,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 16,
} as const;

/** The sizes of Pythia-70m (d 512, 6 layers, 8 heads, MLP 2048, vocabulary 50304); other fields left to defaults. */
export const PYTHIA_70M_SIZES = {
  model_type: "gpt_neox",
  vocab_size: 50304,
  hidden_size: 512,
  num_hidden_layers: 6,
  num_attention_heads: 8,
  intermediate_size: 2048,
} as const;
