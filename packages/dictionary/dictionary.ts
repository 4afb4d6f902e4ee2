/**
 * The one interface every dictionary implements — the paper's SAEs here,
 * PCA/ICA/neuron/random baselines elsewhere — so that evaluation, feature
 * browsing and patching treat them alike.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";

/** A dictionary of `dDict` feature directions over `dIn`-wide activations. */
export interface Dictionary {
  /** Display name (unique within a run). */
  readonly name: string;
  /** What made it: `"sae"`, `"pca"`, `"ica"`, `"neurons"`, `"random"`, … */
  readonly kind: string;
  /** Width of the activations it reads. */
  readonly dIn: number;
  /** Number of features. */
  readonly dDict: number;
  /** The context its tensors live in. */
  readonly gpu: Gpu;
  /**
   * Feature activations of a batch. Records GPU work and returns at once.
   *
   * @param x `[N, dIn]` activations.
   * @returns `[N, dDict]` codes (a new tensor the caller disposes).
   */
  encode(x: Tensor<"f32">): Tensor<"f32">;
  /**
   * Reconstruction from codes. Records GPU work and returns at once.
   *
   * @param c `[N, dDict]` codes.
   * @returns `[N, dIn]` reconstruction (a new tensor the caller disposes).
   */
  decode(c: Tensor<"f32">): Tensor<"f32">;
  /**
   * The feature directions as unit rows (the decoder rows).
   *
   * @returns `[dDict, dIn]` on the host.
   */
  directions(): Promise<Float32Array>;
  /** Free its GPU tensors. */
  dispose(): void;
}

/**
 * Encode host rows (CPU convenience around {@linkcode Dictionary.encode}).
 *
 * @param dict The dictionary.
 * @param x `[N, dIn]` rows.
 * @returns `[N, dDict]` codes.
 * @example
 * ```ts ignore
 * const codes = await encodeRows(dict, new Float32Array(dict.dIn * 4)); // 4 rows
 * ```
 */
export async function encodeRows(dict: Dictionary, x: Float32Array): Promise<Float32Array> {
  return await roundTrip(dict, x, dict.dIn, (t) => dict.encode(t));
}

/**
 * Decode host codes (CPU convenience around {@linkcode Dictionary.decode}).
 *
 * @param dict The dictionary.
 * @param c `[N, dDict]` codes.
 * @returns `[N, dIn]` reconstruction.
 * @example
 * ```ts ignore
 * const xHat = await decodeRows(dict, codes);
 * ```
 */
export async function decodeRows(dict: Dictionary, c: Float32Array): Promise<Float32Array> {
  return await roundTrip(dict, c, dict.dDict, (t) => dict.decode(t));
}

/**
 * Reconstruct host rows: `decode(encode(x))`.
 *
 * @param dict The dictionary.
 * @param x `[N, dIn]` rows.
 * @returns `[N, dIn]` reconstruction.
 * @example
 * ```ts ignore
 * const xHat = await reconstructRows(dict, x);
 * ```
 */
export async function reconstructRows(dict: Dictionary, x: Float32Array): Promise<Float32Array> {
  return await roundTrip(dict, x, dict.dIn, (t) => {
    const c = dict.encode(t);
    try {
      return dict.decode(c);
    } finally {
      c.dispose();
    }
  });
}

async function roundTrip(
  dict: Dictionary,
  data: Float32Array,
  width: number,
  f: (t: Tensor<"f32">) => Tensor<"f32">,
): Promise<Float32Array> {
  if (data.length % width !== 0) {
    throw new RangeError(`Cannot run ${dict.name}: ${data.length} values are not rows of ${width}`);
  }
  const input = dict.gpu.upload(data, [data.length / width, width], `${dict.name}.rows`);
  try {
    const out = f(input);
    try {
      return await out.read();
    } finally {
      out.dispose();
    }
  } finally {
    input.dispose();
  }
}
