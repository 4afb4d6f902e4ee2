/**
 * Loading a model: from a Hugging Face folder (`config.json` + `model.safetensors`
 * or a sharded index), or from weights in memory.
 *
 * @module
 */
import { join } from "node:path";
import type { Gpu } from "@saelab/gpu";
import { type Checkpoint, openCheckpoint } from "@saelab/safetensors";
import { type NeoxConfig, parseConfig } from "./config.ts";
import type { NeoxModel } from "./model.ts";
import { type WeightSpec, weightSpecs } from "./weights.ts";
import { buildModel, type CreateModelOptions, type LoadOptions, readerSource } from "./_build.ts";

export type { CreateModelOptions, LoadOptions, WeightSource } from "./_build.ts";

/**
 * Load a GPT-NeoX model from a Hugging Face folder: `config.json` and
 * `model.safetensors` or `model.safetensors.index.json` with its shards. F32,
 * F16 and BF16 weights are converted to f32; buffers that are not weights
 * (`attention.bias`, `attention.masked_bias`, `rotary_emb.inv_freq`) are ignored.
 *
 * @param gpu The GPU context.
 * @param dir The folder.
 * @param options `vocabPartRows`.
 * @returns The model; dispose it when done.
 * @throws {RangeError} For an unsupported config value, a missing weight or one of the wrong shape (named).
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { loadModel } from "@saelab/neox";
 * const gpu = await createGpu();
 * using model = await loadModel(gpu, "models/pythia-70m-deduped");
 * const logits = model.forward([[510, 3158, 8516]]); // [1, 3, 50304]
 * ```
 */
export async function loadModel(gpu: Gpu, dir: string, options: LoadOptions = {}): Promise<NeoxModel> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, "config.json"));
  } catch (error) {
    throw new RangeError(`Cannot load the model: ${join(dir, "config.json")} cannot be read`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new RangeError(`Cannot load the model: ${join(dir, "config.json")} is not valid JSON`, { cause: error });
  }
  const config = parseConfig(raw, { file: join(dir, "config.json") });
  let ckpt: Checkpoint;
  try {
    ckpt = await openCheckpoint(dir);
  } catch (error) {
    throw new RangeError(`Cannot load the model: no readable weights in ${dir} (${(error as Error).message})`, {
      cause: error,
    });
  }
  try {
    const label = ckpt.files.length === 1 ? ckpt.files[0] : `${ckpt.files.length} shards in ${dir}`;
    return await buildModel(gpu, config, readerSource(ckpt, label), options);
  } finally {
    ckpt.close();
  }
}

/**
 * Build a model from a configuration and weights in memory (tests, benchmarks,
 * freshly initialised models), checked like a loaded checkpoint.
 *
 * @param gpu The GPU context.
 * @param config The configuration.
 * @param options `weights` by Hugging Face name (shapes come from the configuration), `vocabPartRows`.
 * @returns The model; dispose it when done.
 * @example
 * ```ts ignore
 * import { createModel, parseConfig, randomWeights } from "@saelab/neox";
 * const config = parseConfig(json);
 * using model = await createModel(gpu, config, { weights: randomWeights(config, { seed: 1 }) });
 * ```
 */
export function createModel(gpu: Gpu, config: NeoxConfig, options: CreateModelOptions): Promise<NeoxModel> {
  const weights = options.weights;
  const sizes = new Map<string, WeightSpec>(weightSpecs(config).map((s) => [s.name, s]));
  return buildModel(gpu, config, {
    label: "the given weights",
    names: Object.keys(weights),
    shape: (name) => {
      const w = weights[name];
      if (w === undefined) return undefined;
      const spec = sizes.get(name)!;
      return w.length === spec.shape.reduce((a, b) => a * b, 1) ? spec.shape : [w.length];
    },
    read: (name) => weights[name],
  }, options);
}
