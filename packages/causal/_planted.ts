/**
 * A GPT-NeoX built by hand for tests, whose causal structure is known.
 *
 * Width 16, three blocks, attention switched off (zero projections), LayerNorm
 * without gain or bias. Directions are rows of a 16×16 Hadamard matrix (zero
 * mean, orthogonal, unit after ÷4); every token's embedding holds a large
 * constant `c = 40·h1` so LayerNorm scales barely move.
 *
 * - token 1 ("key") embeds `c + 2u + 1.5w`; token 2 (its counterfactual) `c + 0.5w + 1.5z`;
 *   tokens 0, 3, 4 embed `c` plus one distractor direction each.
 * - block 0 is the identity; block 1's MLP reads `u` and writes `v` (one neuron);
 *   block 2's MLP reads `v` and writes `y`; the unembedding reads only `y`
 *   (token 5 up, token 6 down).
 *
 * So at `blocks.0.hook_resid_post` the output depends on `u` alone (the planted
 * feature), and the planted edges are u (layer 0) → v (layer 1) → y (layer 2).
 * The dictionaries hold the unit directions [u, v, y, w, z, d0, d1, d2]
 * (ReLU of the projection), not `c`, which stays in the reconstruction error.
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import { type GpuLinearDictionary, LinearDictionary } from "@saelab/baselines";
import { createModel, type NeoxConfig, type NeoxModel, parseConfig, weightSpecs } from "@saelab/neox";
import type { PatchTask } from "./task.ts";

const D = 16, F = 32, V = 8;

/** Row i of the 16×16 Sylvester–Hadamard matrix, divided by 4 (unit length). */
function hadamard(i: number): Float32Array {
  return Float32Array.from({ length: D }, (_, j) => {
    let bits = i & j, parity = 0;
    while (bits) parity ^= bits & 1, bits >>= 1;
    return (parity ? -1 : 1) / 4;
  });
}

/** Named unit directions. */
export const DIRS = {
  c: hadamard(1),
  u: hadamard(2),
  v: hadamard(3),
  y: hadamard(4),
  w: hadamard(5),
  z: hadamard(6),
  d0: hadamard(7),
  d1: hadamard(8),
  d2: hadamard(9),
};

/** Feature order of every planted dictionary. */
export const FEATURES = ["u", "v", "y", "w", "z", "d0", "d1", "d2"] as const;

/** What the planted setting provides. */
export interface Planted {
  model: NeoxModel;
  config: NeoxConfig;
  weights: Record<string, Float32Array>;
  /** Dictionaries at `blocks.{l}.hook_resid_post`, l = 0, 1, 2. */
  dicts: GpuLinearDictionary[];
  /** Clean prompts end in token 1, counterfactuals in token 2; answers 5 and 6. */
  task: PatchTask;
}

function combo(parts: [keyof typeof DIRS, number][]): Float32Array {
  const out = new Float32Array(D);
  for (const [name, a] of parts) for (let k = 0; k < D; k++) out[k] += a * DIRS[name][k];
  return out;
}

/**
 * Build the planted model and its dictionaries.
 *
 * @param gpu The GPU context.
 * @returns Model, weights, dictionaries and the task.
 */
export async function plantedModel(gpu: Gpu): Promise<Planted> {
  const config = parseConfig({
    model_type: "gpt_neox",
    vocab_size: V,
    hidden_size: D,
    num_hidden_layers: 3,
    num_attention_heads: 2,
    intermediate_size: F,
    max_position_embeddings: 16,
    use_parallel_residual: true,
    tie_word_embeddings: false,
  });
  const weights: Record<string, Float32Array> = {};
  for (const { name, shape } of weightSpecs(config)) {
    weights[name] = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (/layernorm\.weight$|final_layer_norm\.weight$/.test(name)) weights[name].fill(1);
  }
  const embed = weights["gpt_neox.embed_in.weight"];
  const tokens: [keyof typeof DIRS, number][][] = [
    [["c", 40], ["d0", 1]],
    [["c", 40], ["u", 2], ["w", 1.5]],
    [["c", 40], ["w", 0.5], ["z", 1.5]],
    [["c", 40], ["d1", 1]],
    [["c", 40], ["d2", 1]],
    [["c", 40]],
    [["c", 40]],
    [["c", 40]],
  ];
  tokens.forEach((parts, t) => embed.set(combo(parts), t * D));
  // block 1: neuron 0 reads u and writes v; block 2: neuron 0 reads v and writes y
  const plant = (layer: number, read: Float32Array, gain: number, write: Float32Array) => {
    const p = `gpt_neox.layers.${layer}.mlp.`;
    weights[p + "dense_h_to_4h.weight"].set(read.map((x) => gain * x), 0); // row 0 of [F, D]
    const proj = weights[p + "dense_4h_to_h.weight"]; // [D, F]
    for (let k = 0; k < D; k++) proj[k * F] = write[k];
  };
  plant(1, DIRS.u, 25, DIRS.v);
  plant(2, DIRS.v, 10, DIRS.y);
  const out = weights["embed_out.weight"];
  out.set(DIRS.y.map((x) => 6 * x), 5 * D);
  out.set(DIRS.y.map((x) => -6 * x), 6 * D);
  const model = await createModel(gpu, config, { weights });

  const rows = new Float32Array(FEATURES.length * D);
  FEATURES.forEach((f, i) => rows.set(DIRS[f], i * D));
  const dicts = [0, 1, 2].map((l) =>
    new LinearDictionary({
      name: `planted_l${l}`,
      kind: "sae",
      dIn: D,
      dDict: FEATURES.length,
      encoder: rows,
      encoderBias: new Float32Array(FEATURES.length),
      decoder: rows,
      decoderBias: new Float32Array(D),
    }).bind(gpu)
  );
  const prefixes = [[3, 4], [4, 3], [3, 3], [0, 4], [4, 0], [0, 3]];
  const task: PatchTask = {
    name: "planted",
    pairs: prefixes.map((p) => ({
      clean: [...p, 1],
      counterfactual: [...p, 2],
      answers: { clean: 5, counterfactual: 6 },
    })),
  };
  return { model, config, weights, dicts, task };
}
