/**
 * The `Dictionary` interface that SAEs and baselines share, and
 * {@linkcode LinearDictionary}: every method of this project is one —
 *
 *   c = topk?( act( W_e x + b_e ) ),   x̂ = Dᵀ c + b_d
 *
 * with `act` ReLU or the identity and an optional per-row top-k. An SAE in
 * SAELens layout, PCA with its ± split, PCA top-k, ICA, the neuron basis and
 * random directions are all instances, so one evaluation and one
 * interpretability pipeline serves them all.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { matmul, topK } from "@saelab/kernels";
import type { DictKind } from "@saelab/runs";

/** The common interface of SAEs and baselines: encode activations into features and back. */
export interface Dictionary {
  /** Name (a folder name under `saes/` or `baselines/`). */
  readonly name: string;
  /** SAE or baseline. */
  readonly kind: DictKind;
  /** `"sae"`, `"pca"`, `"pca_topk"`, `"ica"`, `"ica_topk"`, `"neurons"`, `"random"`. */
  readonly method: string;
  /** Input width. */
  readonly dIn: number;
  /** Number of features. */
  readonly dDict: number;
  /** Feature activations of rows `x [rows, dIn]` → `[rows, dDict]`, recorded on `x`'s GPU. */
  encode(x: Tensor<"f32">): Tensor<"f32">;
  /** Reconstruction of feature activations `c [rows, dDict]` → `[rows, dIn]`. */
  decode(c: Tensor<"f32">): Tensor<"f32">;
  /** Unit feature directions (normalised decoder rows) `[dDict, dIn]`. */
  directions(): Float32Array;
  /** Release GPU copies of the weights. */
  dispose(): void;
}

/** Non-linearity applied to `W_e x + b_e` before the optional top-k. */
export type DictActivation = "relu" | "identity";

/** Everything that defines a {@linkcode LinearDictionary}. */
export interface LinearDictionaryInit {
  /** Name. */
  name: string;
  /** SAE or baseline. */
  kind: DictKind;
  /** Method label. */
  method: string;
  /** Input width. */
  dIn: number;
  /** Number of features. */
  dDict: number;
  /** Encoder rows `W_e [dDict, dIn]`. */
  encoder: Float32Array;
  /** Encoder bias `b_e [dDict]`. */
  encoderBias: Float32Array;
  /** Decoder rows `D [dDict, dIn]`. */
  decoder: Float32Array;
  /** Decoder bias `b_d [dIn]`. */
  decoderBias: Float32Array;
  /** Non-linearity. Default `"relu"`. */
  activation?: DictActivation;
  /** Keep only the `k` largest activations per row (after the non-linearity). */
  k?: number;
  /** Facts about how the dictionary was made, stored in `cfg.json` under `saelab`. */
  info?: Record<string, unknown>;
}

interface GpuWeights {
  encoder: Tensor<"f32">; // [dDict, dIn]
  encoderBias: Tensor<"f32">; // [dDict]
  decoder: Tensor<"f32">; // [dDict, dIn]
  decoderBias: Tensor<"f32">; // [dIn]
}

/**
 * A dictionary whose encoder is affine, then ReLU or identity, then an optional top-k.
 *
 * @example A two-feature ± split of one direction
 * ```ts
 * import { LinearDictionary } from "@saelab/baselines";
 * const u = new Float32Array([0.6, 0.8, -0.6, -0.8]); // [2, 2]
 * const dict = new LinearDictionary({
 *   name: "pm", kind: "baseline", method: "pca", dIn: 2, dDict: 2,
 *   encoder: u, encoderBias: new Float32Array(2), decoder: u, decoderBias: new Float32Array(2),
 * });
 * const c = dict.encodeHost(new Float32Array([3, 4])); // [5, 0]
 * if (c[0] !== 5 || c[1] !== 0) throw new Error("encode");
 * ```
 */
export class LinearDictionary implements Dictionary {
  readonly name: string;
  readonly kind: DictKind;
  readonly method: string;
  readonly dIn: number;
  readonly dDict: number;
  /** Encoder rows `[dDict, dIn]`. */
  readonly encoder: Float32Array;
  /** Encoder bias `[dDict]`. */
  readonly encoderBias: Float32Array;
  /** Decoder rows `[dDict, dIn]`. */
  readonly decoder: Float32Array;
  /** Decoder bias `[dIn]`. */
  readonly decoderBias: Float32Array;
  /** Non-linearity. */
  readonly activation: DictActivation;
  /** Top-k, or 0 for none. */
  readonly k: number;
  /** How it was made. */
  readonly info: Record<string, unknown>;
  #gpu = new Map<Gpu, GpuWeights>();

  /**
   * @param init Weights and facts; arrays are kept, not copied.
   * @throws {RangeError} When an array's length does not match `dIn`/`dDict`, or `k` is out of range.
   */
  constructor(init: LinearDictionaryInit) {
    const { dIn, dDict } = init;
    const what = `dictionary ${JSON.stringify(init.name)}`;
    for (const [name, v] of [["dIn", dIn], ["dDict", dDict]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`Cannot build ${what}: ${name} ${v} is not ≥ 1`);
    }
    const sizes = [
      ["encoder", init.encoder, dDict * dIn],
      ["encoderBias", init.encoderBias, dDict],
      ["decoder", init.decoder, dDict * dIn],
      ["decoderBias", init.decoderBias, dIn],
    ] as const;
    for (const [name, arr, len] of sizes) {
      if (!(arr instanceof Float32Array) || arr.length !== len) {
        throw new RangeError(`Cannot build ${what}: ${name} must be a Float32Array of ${len} values`);
      }
    }
    const k = init.k ?? 0;
    if (!Number.isInteger(k) || k < 0 || k > dDict) {
      throw new RangeError(`Cannot build ${what}: k ${init.k} is not a whole number in 1..${dDict}`);
    }
    const activation = init.activation ?? "relu";
    if (activation !== "relu" && activation !== "identity") {
      throw new RangeError(`Cannot build ${what}: activation ${JSON.stringify(activation)} is not relu or identity`);
    }
    this.name = init.name;
    this.kind = init.kind;
    this.method = init.method;
    this.dIn = dIn;
    this.dDict = dDict;
    this.encoder = init.encoder;
    this.encoderBias = init.encoderBias;
    this.decoder = init.decoder;
    this.decoderBias = init.decoderBias;
    this.activation = activation;
    this.k = k;
    this.info = init.info ?? {};
  }

  /**
   * Feature activations on the GPU.
   *
   * @param x Rows `[rows, dIn]`.
   * @returns `[rows, dDict]` (the caller owns it).
   */
  encode(x: Tensor<"f32">): Tensor<"f32"> {
    this.#checkWidth(x, this.dIn, "encode");
    const gpu = x.gpu;
    const w = this.#weights(gpu);
    const pre = matmul(gpu, x, w.encoder, {
      transposeB: true,
      bias: w.encoderBias,
      relu: this.activation === "relu",
    }); // [rows, dDict]
    if (this.k === 0 || x.shape[0] === 0) return pre;
    const out = topK(gpu, pre, this.k);
    pre.dispose();
    return out;
  }

  /**
   * Reconstruction on the GPU.
   *
   * @param c Feature activations `[rows, dDict]`.
   * @returns `[rows, dIn]` (the caller owns it).
   */
  decode(c: Tensor<"f32">): Tensor<"f32"> {
    this.#checkWidth(c, this.dDict, "decode");
    const w = this.#weights(c.gpu);
    return matmul(c.gpu, c, w.decoder, { bias: w.decoderBias });
  }

  /**
   * Feature activations on the CPU in float64 (the reference for {@linkcode LinearDictionary.encode}).
   *
   * @param x Rows `[rows, dIn]`.
   * @returns `[rows, dDict]`.
   */
  encodeHost(x: Float32Array): Float32Array {
    const { dIn, dDict } = this;
    if (x.length % dIn !== 0) throw new RangeError(`Cannot encode ${x.length} values as rows of ${dIn}`);
    const rows = x.length / dIn;
    const out = new Float32Array(rows * dDict);
    const pre = new Float64Array(dDict);
    for (let r = 0; r < rows; r++) {
      const xr = x.subarray(r * dIn, (r + 1) * dIn);
      for (let j = 0; j < dDict; j++) {
        let s = this.encoderBias[j];
        const o = j * dIn;
        for (let i = 0; i < dIn; i++) s += this.encoder[o + i] * xr[i];
        pre[j] = this.activation === "relu" ? Math.max(s, 0) : s;
      }
      if (this.k > 0) keepTopK(pre, this.k);
      for (let j = 0; j < dDict; j++) out[r * dDict + j] = pre[j];
    }
    return out;
  }

  /**
   * Reconstruction on the CPU in float64.
   *
   * @param c Feature activations `[rows, dDict]`.
   * @returns `[rows, dIn]`.
   */
  decodeHost(c: Float32Array): Float32Array {
    const { dIn, dDict } = this;
    if (c.length % dDict !== 0) throw new RangeError(`Cannot decode ${c.length} values as rows of ${dDict}`);
    const rows = c.length / dDict;
    const out = new Float32Array(rows * dIn);
    const acc = new Float64Array(dIn);
    for (let r = 0; r < rows; r++) {
      acc.set(this.decoderBias);
      for (let j = 0; j < dDict; j++) {
        const cj = c[r * dDict + j];
        if (cj === 0) continue;
        const o = j * dIn;
        for (let i = 0; i < dIn; i++) acc[i] += cj * this.decoder[o + i];
      }
      for (let i = 0; i < dIn; i++) out[r * dIn + i] = acc[i];
    }
    return out;
  }

  /** Unit decoder rows `[dDict, dIn]` (a zero row stays zero). */
  directions(): Float32Array {
    const { dIn } = this;
    const out = new Float32Array(this.decoder.length);
    for (let j = 0; j < this.dDict; j++) {
      let ss = 0;
      for (let i = 0; i < dIn; i++) ss += this.decoder[j * dIn + i] ** 2;
      const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
      for (let i = 0; i < dIn; i++) out[j * dIn + i] = this.decoder[j * dIn + i] * inv;
    }
    return out;
  }

  /** Release the GPU copies of the weights (on every GPU they were uploaded to). */
  dispose(): void {
    for (const w of this.#gpu.values()) for (const t of Object.values(w)) t.dispose();
    this.#gpu.clear();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #weights(gpu: Gpu): GpuWeights {
    let w = this.#gpu.get(gpu);
    if (!w) {
      const label = `dict.${this.name}`;
      w = {
        encoder: gpu.upload(this.encoder, [this.dDict, this.dIn], `${label}.encoder`),
        encoderBias: gpu.upload(this.encoderBias, [this.dDict], `${label}.encoder_bias`),
        decoder: gpu.upload(this.decoder, [this.dDict, this.dIn], `${label}.decoder`),
        decoderBias: gpu.upload(this.decoderBias, [this.dIn], `${label}.decoder_bias`),
      };
      this.#gpu.set(gpu, w);
    }
    return w;
  }

  #checkWidth(t: Tensor, width: number, what: string): void {
    if (t.rank !== 2 || t.shape[1] !== width) {
      throw new RangeError(
        `Cannot ${what} with dictionary ${JSON.stringify(this.name)}: expected [rows, ${width}], got [${
          t.shape.join(", ")
        }]`,
      );
    }
  }
}

/**
 * Zero all but the k largest entries (ties to the lowest index), in place: the CPU reference of `topK`.
 *
 * @param values Values.
 * @param k Entries kept.
 * @returns Nothing; `values` is changed.
 * @example
 * ```ts
 * import { keepTopK } from "@saelab/baselines";
 * const v = new Float64Array([3, 1, 5, 2]);
 * keepTopK(v, 2);
 * if (v.join() !== "3,0,5,0") throw new Error("top-k");
 * ```
 */
export function keepTopK(values: Float64Array | Float32Array, k: number): void {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => values[b] - values[a] || a - b);
  for (let r = k; r < idx.length; r++) values[idx[r]] = 0;
}
