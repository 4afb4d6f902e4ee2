/**
 * Building a model from any weight source, with no file system: the part of loading that browsers
 * share (`./portable.ts`) with the folder loader (`./load.ts`).
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import type { TensorReader } from "@saelab/safetensors/portable";
import type { NeoxConfig } from "./config.ts";
import { blockWeights } from "./_block.ts";
import { type BlockWeights, type ModelWeights, NeoxModel } from "./model.ts";
import { weightSpecs } from "./weights.ts";
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

/** Options of `loadModel`, `createModel` and {@linkcode buildModel}. */
export interface LoadOptions {
  /**
   * Most rows per part of the `[V, D]` matrices. Default: what one storage binding holds, and
   * 16384 on software adapters (where smaller unembedding products run a faster kernel).
   */
  vocabPartRows?: number;
}

/** Options of `createModel`. */
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

/**
 * Upload every weight of a configuration from a source, checking names and shapes first.
 *
 * @param gpu The GPU context.
 * @param config The configuration.
 * @param source The weights.
 * @param options `vocabPartRows`.
 * @returns The model; it owns the uploaded weights.
 * @example
 * ```ts ignore
 * const model = await buildModel(gpu, config, readerSource(file, "model.safetensors"), {});
 * ```
 */
export async function buildModel(
  gpu: Gpu,
  config: NeoxConfig,
  source: WeightSource,
  options: LoadOptions = {},
): Promise<NeoxModel> {
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
 * A weight source over safetensors tensors (a file, shards, or a file read over HTTP).
 *
 * @param reader The tensors.
 * @param label What to call them in errors.
 * @returns The source.
 * @example
 * ```ts ignore
 * const source = readerSource(await openSafetensorsFrom(blobSource(blob)), "model.safetensors");
 * ```
 */
export function readerSource(reader: TensorReader, label: string): WeightSource {
  return {
    label,
    names: reader.names,
    shape: (name) => (reader.has(name) ? reader.info(name).shape : undefined),
    read: (name) => reader.getFloat32(name),
  };
}
