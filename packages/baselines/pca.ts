/**
 * Principal component analysis as a dictionary: the covariance comes from
 * the GPU ({@linkcode covariance}), its eigendecomposition from the cyclic
 * Jacobi method ({@linkcode symmetricEigen}), components sorted by
 * eigenvalue. The paper's comparison uses two derived dictionaries:
 *
 * - the **± split**: feature `2i` is `ReLU(z_i)` and feature `2i + 1` is `ReLU(−z_i)` for the centred
 *   coefficient `z_i = v_i · (x − μ)`, so activations are non-negative like an SAE's and decode exactly;
 * - **PCA top-k**: the same, keeping only the `k` largest features per row — the `k` largest-magnitude
 *   coefficients — with `k` an SAE's measured L0.
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import { covariance, type CovarianceOptions, type Moments } from "./covariance.ts";
import { LinearDictionary } from "@saelab/dictionary";
import { symmetricEigen } from "./eigen.ts";

/** A fitted PCA. */
export interface Pca {
  /** Input width. */
  d: number;
  /** Rows fitted on. */
  rows: number;
  /** Mean `[d]`. */
  mean: Float64Array;
  /** Variances along the components, largest first `[d]`. */
  values: Float64Array;
  /** Unit components as rows, in the order of `values` `[d, d]`; each one's largest entry is positive. */
  components: Float64Array;
}

/**
 * PCA from precomputed moments.
 *
 * @param moments Mean and covariance.
 * @returns The components sorted by eigenvalue.
 * @example
 * ```ts
 * import { covarianceHost, pcaFromMoments } from "@saelab/baselines";
 * const pca = pcaFromMoments(covarianceHost(new Float32Array([0, 0, 2, 0, 0, 1, 2, 1]), 2));
 * if (!(pca.values[0] >= pca.values[1])) throw new Error("order");
 * ```
 */
export function pcaFromMoments(moments: Moments): Pca {
  const { d } = moments;
  const { values, vectors } = symmetricEigen(moments.cov, d);
  for (let i = 0; i < d; i++) {
    const row = vectors.subarray(i * d, (i + 1) * d);
    let best = 0;
    for (let j = 1; j < d; j++) if (Math.abs(row[j]) > Math.abs(row[best]) + 1e-12) best = j;
    if (row[best] < 0) { for (let j = 0; j < d; j++) row[j] = -row[j]; }
  }
  return { d, rows: moments.rows, mean: moments.mean, values, components: vectors };
}

/**
 * Fit PCA on row batches: covariance on the GPU, eigendecomposition on the CPU.
 *
 * @param gpu The GPU context.
 * @param batches Row batches `[rows, d]`.
 * @param options Width `d`, row limit, abort signal, progress.
 * @returns The fitted PCA.
 * @example
 * ```ts ignore
 * import { fitPca } from "@saelab/baselines";
 * const pca = await fitPca(gpu, batches, { d: 128, maxRows: 65536 });
 * console.log(pca.values.slice(0, 5));
 * ```
 */
export async function fitPca(
  gpu: Gpu,
  batches: Iterable<Float32Array> | AsyncIterable<Float32Array>,
  options: CovarianceOptions & { d: number },
): Promise<Pca> {
  return pcaFromMoments(await covariance(gpu, batches, options));
}

/** Options of {@linkcode pcaDictionary}. */
export interface PcaDictionaryOptions {
  /** Name. Default `"pca"`, or `"pca_topk"` with `k`. */
  name?: string;
  /** Components kept (the first ones). Default: all `d`. */
  components?: number;
  /** ± split into non-negative features (2 per component). Default true. */
  split?: boolean;
  /** Keep the k largest features per row (requires the split). Default: none. */
  k?: number;
}

/**
 * A PCA as a dictionary (± split by default; with `k`, PCA top-k).
 *
 * @param pca The fitted PCA.
 * @param options Name, number of components, split, top-k.
 * @returns The dictionary; with the split and all components it reconstructs exactly.
 * @throws {RangeError} When `components` or `k` is out of range, or `k` is asked without the split.
 * @example
 * ```ts
 * import { covarianceHost, pcaDictionary, pcaFromMoments } from "@saelab/baselines";
 * const x = new Float32Array([0, 0, 2, 0, 0, 1, 2, 1]);
 * const dict = pcaDictionary(pcaFromMoments(covarianceHost(x, 2)));
 * const back = dict.decodeHost(dict.encodeHost(x));
 * if (back.some((v, i) => Math.abs(v - x[i]) > 1e-5)) throw new Error("exact");
 * ```
 */
export function pcaDictionary(pca: Pca, options: PcaDictionaryOptions = {}): LinearDictionary {
  const { d } = pca;
  const c = options.components ?? d;
  if (!Number.isInteger(c) || c < 1 || c > d) {
    throw new RangeError(`Cannot build a PCA dictionary: components ${c} is not in 1..${d}`);
  }
  const split = options.split ?? true;
  if (options.k !== undefined && !split) {
    throw new RangeError("Cannot build PCA top-k without the ± split: top-k keeps the largest magnitudes");
  }
  const rows = Array.from({ length: c }, (_, i) => Float64Array.from(pca.components.subarray(i * d, (i + 1) * d)));
  const info = { components: c, split, rows: pca.rows, variances: Array.from(pca.values.subarray(0, c)) };
  return signedBasisDictionary(rows, pca.mean, {
    name: options.name ?? (options.k !== undefined ? "pca_topk" : "pca"),
    kind: options.k !== undefined ? "pca_topk" : "pca",
    split,
    k: options.k,
    info,
  });
}

/**
 * A dictionary over centred coefficients `z_i = u_i · (x − μ)` of any set of directions, optionally ± split:
 * PCA, ICA and the neuron basis are all built this way. `decodeRows` default to `rows`.
 *
 * @param rows Encoder directions (need not be unit) `[c][d]`.
 * @param mean Centre μ `[d]`.
 * @param options Name, kind, split (else `relu` or identity), top-k, decoder rows, info.
 * @returns The dictionary (`2c` features with the split, else `c`).
 * @example
 * ```ts
 * import { signedBasisDictionary } from "@saelab/baselines";
 * const dict = signedBasisDictionary([new Float64Array([1, 0])], new Float64Array(2), { name: "x", kind: "neurons", split: true });
 * if (dict.dDict !== 2) throw new Error("two signs");
 * ```
 */
export function signedBasisDictionary(
  rows: readonly Float64Array[],
  mean: ArrayLike<number>,
  options: {
    name: string;
    kind: string;
    split: boolean;
    k?: number;
    decodeRows?: readonly Float64Array[];
    /** Without the split: ReLU the coefficients (default: identity). */
    relu?: boolean;
    info?: Record<string, unknown>;
  },
): LinearDictionary {
  const c = rows.length, d = mean.length;
  const decodeRows = options.decodeRows ?? rows;
  const signs = options.split ? [1, -1] : [1];
  const n = c * signs.length;
  const encoder = new Float32Array(n * d), bias = new Float32Array(n), decoder = new Float32Array(n * d);
  for (let i = 0; i < c; i++) {
    signs.forEach((sign, s) => {
      const j = i * signs.length + s;
      let dot = 0;
      for (let t = 0; t < d; t++) {
        encoder[j * d + t] = sign * rows[i][t];
        decoder[j * d + t] = sign * decodeRows[i][t];
        dot += rows[i][t] * mean[t];
      }
      bias[j] = -sign * dot;
    });
  }
  return new LinearDictionary({
    name: options.name,
    kind: options.kind,
    dIn: d,
    dDict: n,
    encoder,
    encoderBias: bias,
    decoder,
    decoderBias: Float32Array.from(mean),
    activation: options.split || options.relu ? "relu" : "identity",
    k: options.k,
    info: options.info,
  });
}
