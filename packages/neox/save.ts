/**
 * Writing a model folder in Hugging Face layout from weights in memory.
 *
 * @module
 */
import { join } from "node:path";
import { writeTextAtomic } from "@saelab/core/fs";
import { type TensorInput, writeCheckpoint } from "@saelab/safetensors";
import { type NeoxConfig, toHfConfig } from "./config.ts";
import { weightSpecs } from "./weights.ts";

/** Options of {@linkcode saveModel}. */
export interface SaveModelOptions {
  /** On-disk float type. Default `"F32"`. */
  dtype?: "F32" | "F16" | "BF16";
  /** Shard the weights above this many bytes per file (writes an index). Default: one file. */
  maxShardBytes?: number;
  /** Extra tensors written beside the weights (e.g. buffers a loader must ignore). */
  extra?: Record<string, TensorInput>;
}

/**
 * Write `config.json` and the weights (`model.safetensors`, or shards and an index) of a model.
 *
 * @param dir The folder (created if missing).
 * @param config The configuration.
 * @param weights Weights by Hugging Face name, f32.
 * @param options `dtype`, `maxShardBytes`, `extra`.
 * @returns The weight files written.
 * @example
 * ```ts ignore
 * import { parseConfig, randomWeights, saveModel } from "@saelab/neox";
 * const config = parseConfig(json);
 * await saveModel("models/tiny", config, randomWeights(config), { dtype: "F16" });
 * ```
 */
export async function saveModel(
  dir: string,
  config: NeoxConfig,
  weights: Record<string, Float32Array>,
  options: SaveModelOptions = {},
): Promise<string[]> {
  const tensors: Record<string, TensorInput> = { ...options.extra };
  for (const { name, shape } of weightSpecs(config)) {
    const data = weights[name];
    if (data === undefined) throw new RangeError(`Cannot save the model: weight ${name} is missing`);
    tensors[name] = { dtype: options.dtype ?? "F32", shape, data };
  }
  await Deno.mkdir(dir, { recursive: true });
  const files = await writeCheckpoint(dir, tensors, {
    maxShardBytes: options.maxShardBytes,
    metadata: { format: "pt" },
  });
  await writeTextAtomic(join(dir, "config.json"), JSON.stringify(toHfConfig(config), null, 2) + "\n");
  return files;
}
