/**
 * An SAE as a {@linkcode Dictionary}, in SAELens' tensor layout:
 * `c = act((x − b_dec·[apply_b_dec_to_input]) W_enc + b_enc)`, `x̂ = c W_dec + b_dec`,
 * with `act` ReLU (SAELens `standard`) or TopK-then-ReLU. Inference runs on
 * the shared `@saelab/kernels` matmul.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { addBias, matmul, relu, topK } from "@saelab/kernels";
import type { Dictionary } from "./dictionary.ts";
import { specName } from "./spec.ts";
import { normalizeRows, type SaeWeights } from "./weights.ts";

/** SAELens-layout tensors of an SAE (host). */
export interface SaeTensors {
  /** `[dIn, dDict]`. */
  W_enc: Float32Array;
  /** `[dDict]`. */
  b_enc: Float32Array;
  /** `[dDict, dIn]`. */
  W_dec: Float32Array;
  /** `[dIn]`. */
  b_dec: Float32Array;
}

/** How an SAE in SAELens layout computes its codes. */
export interface SaeTensorOptions {
  /** Input width. */
  dIn: number;
  /** Features. */
  dDict: number;
  /** Name shown in reports. */
  name: string;
  /** Subtract `b_dec` from the input before encoding (SAELens default true). */
  applyBDecToInput?: boolean;
  /** TopK SAEs: features kept per row (then ReLU); otherwise plain ReLU. */
  k?: number;
}

/**
 * Convert this package's weights to SAELens tensors: `W_enc = W_eᵀ` (tied: `M̂ᵀ`, since the tied
 * encoder reads the normalised rows), `W_dec = D̂` (unit rows, as the forward pass uses them),
 * `b_dec` zero when the SAE has none.
 *
 * @param w Weights.
 * @returns The four tensors.
 * @example
 * ```ts
 * import { initWeights, toSaeLensTensors } from "@saelab/sae";
 * const t = toSaeLensTensors(initWeights({ kind: "untied", dIn: 3, dDict: 5, l1: 0 }));
 * if (t.W_enc.length !== 15 || t.b_dec.length !== 3) throw new Error("shapes");
 * ```
 */
export function toSaeLensTensors(w: SaeWeights): SaeTensors {
  const { dIn: d, dDict: n } = w.spec;
  const dirs = normalizeRows(w.decoder ?? w.encoder, d);
  const enc = w.spec.kind === "tied" ? dirs : w.encoder;
  const W_enc = new Float32Array(d * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < d; i++) W_enc[i * n + j] = enc[j * d + i];
  return { W_enc, b_enc: w.encoderBias.slice(), W_dec: dirs, b_dec: w.decoderBias?.slice() ?? new Float32Array(d) };
}

/** An SAE on the GPU implementing {@linkcode Dictionary}. */
export class SaeDictionary implements Dictionary {
  readonly name: string;
  readonly kind = "sae";
  readonly dIn: number;
  readonly dDict: number;
  readonly gpu: Gpu;
  /** TopK: features kept per row; 0 for ReLU SAEs. */
  readonly k: number;
  /** Whether `b_dec` is subtracted before encoding. */
  readonly applyBDecToInput: boolean;
  #wEnc: Tensor<"f32">;
  #bEnc: Tensor<"f32">;
  #wDec: Tensor<"f32">;
  #bDec: Tensor<"f32">;
  #negBDec: Tensor<"f32">;
  #dirs: Float32Array;

  /**
   * @param gpu The context.
   * @param tensors SAELens tensors (copied to the GPU).
   * @param options Sizes, name, `applyBDecToInput`, `k`.
   */
  constructor(gpu: Gpu, tensors: SaeTensors, options: SaeTensorOptions) {
    const { dIn: d, dDict: n } = options;
    const want: [keyof SaeTensors, number][] = [["W_enc", d * n], ["b_enc", n], ["W_dec", n * d], ["b_dec", d]];
    for (const [key, size] of want) {
      if (tensors[key].length !== size) {
        throw new RangeError(
          `Cannot load SAE ${options.name}: ${key} has ${tensors[key].length} values, expected ${size} ` +
            `for d_in ${d} and d_sae ${n}`,
        );
      }
    }
    this.gpu = gpu;
    this.name = options.name;
    this.dIn = d;
    this.dDict = n;
    this.k = options.k ?? 0;
    this.applyBDecToInput = options.applyBDecToInput ?? true;
    this.#wEnc = gpu.upload(tensors.W_enc, [d, n], `${this.name}.W_enc`);
    this.#bEnc = gpu.upload(tensors.b_enc, [n], `${this.name}.b_enc`);
    this.#wDec = gpu.upload(tensors.W_dec, [n, d], `${this.name}.W_dec`);
    this.#bDec = gpu.upload(tensors.b_dec, [d], `${this.name}.b_dec`);
    this.#negBDec = gpu.upload(tensors.b_dec.map((v) => -v), [d], `${this.name}.neg_b_dec`);
    this.#dirs = normalizeRows(tensors.W_dec, d);
  }

  /**
   * An SAE trained by this package.
   *
   * @param gpu The context.
   * @param w Weights.
   * @param name Display name (default: {@linkcode specName}).
   * @returns The dictionary.
   */
  static fromWeights(gpu: Gpu, w: SaeWeights, name: string = specName(w.spec)): SaeDictionary {
    return new SaeDictionary(gpu, toSaeLensTensors(w), {
      dIn: w.spec.dIn,
      dDict: w.spec.dDict,
      name,
      applyBDecToInput: true,
      k: w.spec.kind === "topk" ? w.spec.k : 0,
    });
  }

  encode(x: Tensor<"f32">): Tensor<"f32"> {
    if (x.rank !== 2 || x.shape[1] !== this.dIn) {
      throw new RangeError(`Cannot encode with ${this.name}: input [${x.shape.join(", ")}] is not [N, ${this.dIn}]`);
    }
    const centred = this.applyBDecToInput ? addBias(this.gpu, x, this.#negBDec) : x;
    try {
      if (this.k === 0) return matmul(this.gpu, centred, this.#wEnc, { bias: this.#bEnc, relu: true });
      const pre = matmul(this.gpu, centred, this.#wEnc, { bias: this.#bEnc });
      try {
        const kept = topK(this.gpu, pre, this.k);
        return relu(this.gpu, kept, { out: kept });
      } finally {
        pre.dispose();
      }
    } finally {
      if (centred !== x) centred.dispose();
    }
  }

  decode(c: Tensor<"f32">): Tensor<"f32"> {
    if (c.rank !== 2 || c.shape[1] !== this.dDict) {
      throw new RangeError(`Cannot decode with ${this.name}: codes [${c.shape.join(", ")}] are not [N, ${this.dDict}]`);
    }
    return matmul(this.gpu, c, this.#wDec, { bias: this.#bDec });
  }

  directions(): Promise<Float32Array> {
    return Promise.resolve(this.#dirs.slice());
  }

  dispose(): void {
    for (const t of [this.#wEnc, this.#bEnc, this.#wDec, this.#bDec, this.#negBDec]) t.dispose();
  }
}
