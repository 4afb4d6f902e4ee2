/**
 * {@linkcode LinearDictionary}: every method of this project is one —
 *
 *   c = topk?( act( W_e x + b_e ) ),   x̂ = Dᵀ c + b_d
 *
 * with `act` ReLU or the identity and an optional per-row top-k. An SAE in
 * SAELens layout, PCA with its ± split, PCA top-k, ICA, the neuron basis and
 * random directions are all instances. The weights live on the host (with a
 * float64 CPU reference); {@linkcode LinearDictionary.bind} puts them on a GPU
 * as a {@linkcode Dictionary}, so one evaluation and one interpretability
 * pipeline serve SAEs and baselines alike.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { gatedCodes, jumpReluCodes, matmul, topK } from "@saelab/kernels";
import type { DictKind } from "@saelab/runs";
import type { Dictionary } from "./dictionary.ts";

/** Non-linearity applied to `W_e x + b_e` before the optional top-k. */
export type DictActivation = "relu" | "identity";

/** Everything that defines a {@linkcode LinearDictionary}. */
export interface LinearDictionaryInit {
  /** Name. */
  name: string;
  /** What made it (as `Dictionary.kind`): `"sae"`, `"pca"`, `"pca_topk"`, `"ica"`, `"ica_topk"`, `"neurons"`, `"random"`. */
  kind: string;
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
  /** JumpReLU thresholds `θ [dDict]`: codes `p · [p > θ_j]` (after the non-linearity). */
  threshold?: Float32Array;
  /**
   * Gated SAEs (Rajamanoharan et al. 2024a): `p = W_e x + b_e` is the gate, and the codes are
   * `[p_j > 0] · ReLU(exp(rMag_j)(p_j − b_e,j) + bMag_j)` (`W_mag = exp(r_mag) ⊙ W_e`), ReLU activation only.
   * `bMag` is relative to this dictionary's `b_e`: a `b_dec` folded into `b_e` moves `bMag` by `−exp(rMag)·W_e b_dec`.
   */
  gate?: DictGate;
  /** Facts about how the dictionary was made, stored in `cfg.json` under `saelab`. */
  info?: Record<string, unknown>;
}

/** The magnitude path of a Gated dictionary: `r_mag [dDict]` and `b_mag [dDict]`. */
export interface DictGate {
  /** `r_mag`: log scale of each magnitude row. */
  rMag: Float32Array;
  /** `b_mag`: magnitude bias. */
  bMag: Float32Array;
}

/**
 * A dictionary whose encoder is affine, then ReLU or identity, then an optional top-k.
 *
 * @example A two-feature ± split of one direction
 * ```ts
 * import { LinearDictionary } from "@saelab/dictionary";
 * const u = new Float32Array([0.6, 0.8, -0.6, -0.8]); // [2, 2]
 * const dict = new LinearDictionary({
 *   name: "pm", kind: "pca", dIn: 2, dDict: 2,
 *   encoder: u, encoderBias: new Float32Array(2), decoder: u, decoderBias: new Float32Array(2),
 * });
 * const c = dict.encodeHost(new Float32Array([3, 4])); // [5, 0]
 * if (c[0] !== 5 || c[1] !== 0) throw new Error("encode");
 * ```
 */
export class LinearDictionary {
  /** Name. */
  readonly name: string;
  /** What made it (`"sae"`, `"pca"`, …). */
  readonly kind: string;
  /** Input width. */
  readonly dIn: number;
  /** Number of features. */
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
  /** JumpReLU thresholds `[dDict]`, or undefined for none. */
  readonly threshold?: Float32Array;
  /** The magnitude path of a Gated dictionary, or undefined for none. */
  readonly gate?: DictGate;
  /** How it was made. */
  readonly info: Record<string, unknown>;

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
    if (init.threshold && (!(init.threshold instanceof Float32Array) || init.threshold.length !== dDict)) {
      throw new RangeError(`Cannot build ${what}: threshold must be a Float32Array of ${dDict} values`);
    }
    for (const key of ["rMag", "bMag"] as const) {
      const v = init.gate?.[key];
      if (init.gate && (!(v instanceof Float32Array) || v.length !== dDict)) {
        throw new RangeError(`Cannot build ${what}: gate.${key} must be a Float32Array of ${dDict} values`);
      }
    }
    if (init.gate && ((init.k ?? 0) > 0 || init.threshold || (init.activation ?? "relu") !== "relu")) {
      throw new RangeError(`Cannot build ${what}: a gated dictionary has a ReLU gate, no top-k and no threshold`);
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
    this.dIn = dIn;
    this.dDict = dDict;
    this.encoder = init.encoder;
    this.encoderBias = init.encoderBias;
    this.decoder = init.decoder;
    this.decoderBias = init.decoderBias;
    this.activation = activation;
    this.k = k;
    if (init.threshold) this.threshold = init.threshold;
    if (init.gate) this.gate = init.gate;
    this.info = init.info ?? {};
  }

  /** Where a run keeps it: `"sae"` for SAEs, `"baseline"` for everything else. */
  get origin(): DictKind {
    return this.kind === "sae" ? "sae" : "baseline";
  }

  /**
   * Upload the weights to a GPU as a `Dictionary` (dispose it to free them).
   *
   * @param gpu The context.
   * @returns The GPU dictionary.
   */
  bind(gpu: Gpu): GpuLinearDictionary {
    return new GpuLinearDictionary(gpu, this);
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
        if (this.gate) {
          pre[j] = s > 0 ? Math.max(Math.exp(this.gate.rMag[j]) * (s - this.encoderBias[j]) + this.gate.bMag[j], 0) : 0;
        }
        if (this.threshold && !(pre[j] > this.threshold[j])) pre[j] = 0;
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
}

/** A {@linkcode LinearDictionary} on a GPU, implementing {@linkcode Dictionary}. */
export class GpuLinearDictionary implements Dictionary {
  readonly name: string;
  readonly kind: string;
  readonly dIn: number;
  readonly dDict: number;
  readonly gpu: Gpu;
  /** The host dictionary. */
  readonly host: LinearDictionary;
  #encoder: Tensor<"f32">; // [dDict, dIn]
  #encoderBias: Tensor<"f32">; // [dDict]
  #decoder: Tensor<"f32">; // [dDict, dIn]
  #decoderBias: Tensor<"f32">; // [dIn]
  #threshold?: Tensor<"f32">; // [dDict]
  #gate?: { rMag: Tensor<"f32">; bMag: Tensor<"f32"> };

  /**
   * @param gpu The context.
   * @param host The weights (copied to the GPU).
   */
  constructor(gpu: Gpu, host: LinearDictionary) {
    this.gpu = gpu;
    this.host = host;
    this.name = host.name;
    this.kind = host.kind;
    this.dIn = host.dIn;
    this.dDict = host.dDict;
    const label = `dict.${host.name}`;
    this.#encoder = gpu.upload(host.encoder, [host.dDict, host.dIn], `${label}.encoder`);
    this.#encoderBias = gpu.upload(host.encoderBias, [host.dDict], `${label}.encoder_bias`);
    this.#decoder = gpu.upload(host.decoder, [host.dDict, host.dIn], `${label}.decoder`);
    this.#decoderBias = gpu.upload(host.decoderBias, [host.dIn], `${label}.decoder_bias`);
    if (host.threshold) this.#threshold = gpu.upload(host.threshold, [host.dDict], `${label}.threshold`);
    if (host.gate) {
      this.#gate = {
        rMag: gpu.upload(host.gate.rMag, [host.dDict], `${label}.r_mag`),
        bMag: gpu.upload(host.gate.bMag, [host.dDict], `${label}.b_mag`),
      };
    }
  }

  /**
   * Feature activations, recorded on the GPU.
   *
   * @param x Rows `[rows, dIn]`.
   * @returns `[rows, dDict]` (the caller owns it).
   */
  encode(x: Tensor<"f32">): Tensor<"f32"> {
    this.#checkWidth(x, this.dIn, "encode");
    const pre = matmul(this.gpu, x, this.#encoder, {
      transposeB: true,
      bias: this.#encoderBias,
      relu: this.host.activation === "relu",
    }); // [rows, dDict]
    if (this.#gate && x.shape[0] > 0) {
      const codes = gatedCodes(this.gpu, pre, { bias: this.#encoderBias, ...this.#gate });
      pre.dispose();
      return codes;
    }
    if (this.#threshold && x.shape[0] > 0) {
      const codes = jumpReluCodes(this.gpu, pre, this.#threshold);
      pre.dispose();
      return codes;
    }
    if (this.host.k === 0 || x.shape[0] === 0) return pre;
    const out = topK(this.gpu, pre, this.host.k);
    pre.dispose();
    return out;
  }

  /**
   * Reconstruction, recorded on the GPU.
   *
   * @param c Feature activations `[rows, dDict]`.
   * @returns `[rows, dIn]` (the caller owns it).
   */
  decode(c: Tensor<"f32">): Tensor<"f32"> {
    this.#checkWidth(c, this.dDict, "decode");
    return matmul(this.gpu, c, this.#decoder, { bias: this.#decoderBias });
  }

  /**
   * Unit decoder rows.
   *
   * @returns `[dDict, dIn]` on the host.
   */
  directions(): Promise<Float32Array> {
    return Promise.resolve(this.host.directions());
  }

  /** Free the GPU copies of the weights. */
  dispose(): void {
    for (const t of [this.#encoder, this.#encoderBias, this.#decoder, this.#decoderBias]) t.dispose();
    this.#threshold?.dispose();
    this.#gate?.rMag.dispose();
    this.#gate?.bMag.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
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
 * import { keepTopK } from "@saelab/dictionary";
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
