/**
 * Loading a model: from a Hugging Face folder (`config.json` + `model.safetensors`
 * or a sharded index), or from weights in memory.
 *
 * @module
 */
import { join } from "node:path";
import type { Gpu, Tensor } from "@saelab/gpu";
import { type Checkpoint, openCheckpoint } from "@saelab/safetensors";
import { type NeoxConfig, parseConfig } from "./config.ts";
import { blockWeights } from "./_block.ts";
import { type BlockWeights, type ModelWeights, NeoxModel } from "./model.ts";
import { type WeightSpec, weightSpecs } from "./weights.ts";
import { uploadVocab, type VocabPart } from "./_vocab.ts";

/** Where weights come from: dtype/shape first (cheap), then values as f32. */
export interface WeightSource {
  /** Shape of a weight, or undefined when it is missing. */
  shape(name: string): readonly number[] | undefined;
  /** Values as f32 (half types converted). */
  read(name: string): Promise<Float32Array> | Float32Array;
  /** What to call the source in errors. */
  label: string;
  /** Every tensor name the source holds, when known: its layer count must equal the config's. */
  names?: readonly string[];
}

/** The `[V, D]` matrices, uploaded in row parts. */
const VOCAB = ["gpt_neox.embed_in.weight", "embed_out.weight"];

function fmt(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * Upload every weight of a configuration from a source, checking names and shapes first.
 *
 * @param gpu The GPU context.
 * @param config The configuration.
 * @param source The weights.
 * @returns The model; it owns the uploaded weights.
 */
/** Options of {@linkcode loadModel} and {@linkcode createModel}. */
export interface LoadOptions {
  /**
   * Most rows per part of the `[V, D]` matrices. Default: what one storage binding holds, and
   * 16384 on software adapters (where smaller unembedding products run a faster kernel).
   */
  vocabPartRows?: number;
}

/** Options of {@linkcode createModel}. */
export interface CreateModelOptions extends LoadOptions {
  /** Weights by Hugging Face name; shapes come from the configuration. */
  weights: Record<string, Float32Array>;
}

/** Refuse weights with more blocks than the config (a config with fewer layers would run a truncated model). */
function checkLayerCount(config: NeoxConfig, source: WeightSource): void {
  if (!source.names) return;
  let top = -1;
  for (const name of source.names) {
    const m = /^gpt_neox\.layers\.(\d+)\./.exec(name);
    if (m) top = Math.max(top, Number(m[1]));
  }
  if (top + 1 !== config.numLayers) {
    throw new RangeError(
      `Cannot load the model: config.json has num_hidden_layers ${config.numLayers} but ${source.label} holds ` +
        `${top + 1} layers (gpt_neox.layers.0 to ${top})`,
    );
  }
}

async function build(gpu: Gpu, config: NeoxConfig, source: WeightSource, options: LoadOptions): Promise<NeoxModel> {
  checkLayerCount(config, source);
  const specs = weightSpecs(config);
  for (const { name, shape } of specs) {
    const have = source.shape(name);
    if (have === undefined) {
      throw new RangeError(`Cannot load the model: weight ${name} is missing from ${source.label}`);
    }
    if (have.length !== shape.length || have.some((d, i) => d !== shape[i])) {
      throw new RangeError(
        `Cannot load the model: weight ${name} has shape ${fmt(have)} in ${source.label}, expected ${fmt(shape)} ` +
          "from config.json",
      );
    }
  }
  for (const { name, shape } of specs) {
    const bytes = shape.reduce((a, b) => a * b, 4);
    if (bytes > gpu.maxTensorBytes && !VOCAB.includes(name)) {
      throw new RangeError(
        `Cannot load the model: weight ${name} ${fmt(shape)} takes ${bytes} bytes, more than this device binds ` +
          `in one buffer (${gpu.maxTensorBytes}); use a device with a larger maxStorageBufferBindingSize`,
      );
    }
  }
  const uploaded: Tensor<"f32">[] = [];
  const t = new Map<string, Tensor<"f32">>();
  const vocab = new Map<string, VocabPart[]>();
  try {
    for (const spec of specs) {
      const data = await source.read(spec.name);
      if (VOCAB.includes(spec.name)) {
        const parts = uploadVocab(gpu, data, { shape: spec.shape, label: spec.name, maxRows: options.vocabPartRows });
        uploaded.push(...parts.map((p) => p.weight));
        vocab.set(spec.name, parts);
      } else {
        const tensor = gpu.upload(data, spec.shape, spec.name);
        uploaded.push(tensor);
        t.set(spec.name, tensor);
      }
    }
  } catch (error) {
    for (const u of uploaded) u.dispose();
    throw error;
  }
  const get = (name: string) => t.get(name)!;
  const blocks: BlockWeights[] = [];
  for (let l = 0; l < config.numLayers; l++) blocks.push(blockWeights(l, (name) => t.get(name)));
  const weights: ModelWeights = {
    embedIn: vocab.get("gpt_neox.embed_in.weight")!,
    blocks,
    finalNormWeight: get("gpt_neox.final_layer_norm.weight"),
    finalNormBias: get("gpt_neox.final_layer_norm.bias"),
    embedOut: vocab.get(config.tiedEmbeddings ? "gpt_neox.embed_in.weight" : "embed_out.weight")!,
  };
  return new NeoxModel(gpu, config, weights);
}

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
    return await build(gpu, config, {
      label: ckpt.files.length === 1 ? ckpt.files[0] : `${ckpt.files.length} shards in ${dir}`,
      names: ckpt.names,
      shape: (name) => (ckpt.has(name) ? ckpt.info(name).shape : undefined),
      read: (name) => ckpt.getFloat32(name),
    }, options);
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
  return build(gpu, config, {
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
