/**
 * What the live page computes, with no file system: the feature activations of a dictionary on
 * every token of a text (the model run to the dictionary's hook, the hook's activation encoded on
 * the GPU), and each token's strongest features. The page and the Deno test that checks it call the
 * same code.
 *
 * @module
 */
import type { Tensor } from "@saelab/gpu";
import type { NeoxModel } from "@saelab/neox/portable";
import type { GpuLinearDictionary } from "@saelab/dictionary/portable";

/** Feature activations of a text: `values[t · dDict + j]` is feature j on token t. */
export interface TextFeatures {
  /** Tokens. */
  tokens: number;
  /** Features per token. */
  dDict: number;
  /** `[tokens, dDict]`, row-major. */
  values: Float32Array;
}

/**
 * Run the model on one sequence of token ids, read the hook's activation and encode it with the dictionary.
 *
 * @param model The model.
 * @param dict The dictionary, on the model's GPU.
 * @param options `ids`: the tokens; `hook`: the TransformerLens hook the dictionary reads.
 * @returns The activations of every feature on every token.
 * @throws {RangeError} When the forward pass never reaches the hook, or its width differs from the dictionary's input.
 * @example
 * ```ts ignore
 * const f = await textFeatures(model, dict.bind(model.gpu), { ids: [0, 17, 42], hook: "blocks.2.hook_resid_post" });
 * ```
 */
export async function textFeatures(
  model: NeoxModel,
  dict: GpuLinearDictionary,
  options: { ids: readonly number[]; hook: string },
): Promise<TextFeatures> {
  const { ids, hook } = options;
  let kept: Tensor<"f32"> | null = null;
  const read = (_: string, act: Tensor<"f32">) => {
    kept?.dispose();
    kept = act;
  };
  let codes: Tensor<"f32"> | null = null;
  try {
    model.forward([ids], { hooks: { [hook]: { read, keep: true } } }).dispose();
    const act = kept as Tensor<"f32"> | null;
    if (act === null) throw new RangeError(`Cannot compute features: the forward pass never reached hook ${hook}`);
    const width = act.shape[act.shape.length - 1];
    if (width !== dict.dIn) {
      throw new RangeError(
        `Cannot compute features: hook ${hook} has width ${width}, dictionary ${dict.name} reads ${dict.dIn}`,
      );
    }
    const rows = act.reshape([ids.length, width]);
    codes = dict.encode(rows);
    return { tokens: ids.length, dDict: dict.dDict, values: await codes.read() };
  } finally {
    codes?.dispose();
    (kept as Tensor<"f32"> | null)?.dispose();
  }
}

/** A feature and its activation. */
export interface FeatureValue {
  /** Feature index. */
  index: number;
  /** Activation. */
  value: number;
}

/**
 * The strongest positive features of each token, largest first (ties: the lower index first).
 *
 * @param f The activations.
 * @param k Most features per token.
 * @returns One list per token; a token where no feature is positive gets an empty list.
 * @example
 * ```ts
 * import { strongestFeatures } from "./compute.ts";
 * const top = strongestFeatures({ tokens: 1, dDict: 3, values: new Float32Array([0.5, 0, 2]) }, 2);
 * if (top[0][0].index !== 2 || top[0][1].index !== 0) throw new Error();
 * ```
 */
export function strongestFeatures(f: TextFeatures, k: number): FeatureValue[][] {
  const out: FeatureValue[][] = [];
  for (let t = 0; t < f.tokens; t++) {
    const row: FeatureValue[] = [];
    for (let j = 0; j < f.dDict; j++) {
      const value = f.values[t * f.dDict + j];
      if (value > 0) row.push({ index: j, value });
    }
    row.sort((a, b) => b.value - a.value || a.index - b.index);
    out.push(row.slice(0, k));
  }
  return out;
}
