/**
 * What causal analyses need from any {@linkcode Dictionary}: feature
 * activations of host rows and the decoder rows of chosen features (the
 * change of the reconstruction per unit of a feature).
 *
 * @module
 */
import type { Dictionary } from "@saelab/dictionary/portable";

export type { Dictionary };

/** Rows per GPU call when encoding or probing a dictionary. */
const CHUNK_ROWS = 1024;

/**
 * Feature activations of rows held on the host, encoded on the dictionary's GPU in chunks of 1024 rows.
 *
 * @param dict The dictionary.
 * @param x Rows `[rows, dIn]`.
 * @returns Activations `[rows, dDict]`.
 * @throws {RangeError} When the row width is not the dictionary's `dIn`.
 * @example
 * ```ts ignore
 * const codes = await encodeChunked(dict, rows); // [rows, dDict]
 * ```
 */
export async function encodeChunked(dict: Dictionary, x: Float32Array): Promise<Float32Array> {
  const gpu = dict.gpu;
  const { dIn, dDict } = dict;
  if (x.length % dIn !== 0) {
    throw new RangeError(`Cannot encode with ${dict.name}: ${x.length} values are not rows of ${dIn}`);
  }
  const rows = x.length / dIn;
  const out = new Float32Array(rows * dDict);
  for (let r0 = 0; r0 < rows; r0 += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, rows - r0);
    using input = gpu.upload(x.subarray(r0 * dIn, (r0 + n) * dIn), [n, dIn], "causal.encode_rows"); // [n, dIn]
    using codes = dict.encode(input); // [n, dDict]
    out.set(await codes.read(), r0 * dDict);
  }
  return out;
}

/**
 * Decoder rows of some features: how the reconstruction moves per unit of each feature,
 * `decode(e_j) − decode(0)` (row `j` of `W_dec` for the affine decoders of this project).
 * Read from the host weights when the dictionary carries them (`host.decoder`), else probed on the GPU.
 *
 * @param dict The dictionary.
 * @param features Feature indices.
 * @returns Rows `[features.length, dIn]`.
 * @throws {RangeError} For a feature index out of range.
 * @example
 * ```ts ignore
 * const rows = await decoderRows(dict, [3, 17]); // [2, dIn]
 * ```
 */
export async function decoderRows(dict: Dictionary, features: readonly number[]): Promise<Float32Array> {
  const { dIn, dDict, gpu } = dict;
  for (const f of features) {
    if (!Number.isInteger(f) || f < 0 || f >= dDict) {
      throw new RangeError(`Cannot read decoder row ${f} of ${dict.name}: it has ${dDict} features`);
    }
  }
  const out = new Float32Array(features.length * dIn);
  const matrix = hostWeights(dict)?.decoder;
  if (matrix instanceof Float32Array && matrix.length === dDict * dIn) {
    features.forEach((f, i) => out.set(matrix.subarray(f * dIn, (f + 1) * dIn), i * dIn));
    return out;
  }
  for (let i0 = 0; i0 < features.length; i0 += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, features.length - i0);
    const onehot = new Float32Array((n + 1) * dDict); // last row all zeros: the bias
    for (let i = 0; i < n; i++) onehot[i * dDict + features[i0 + i]] = 1;
    using c = gpu.upload(onehot, [n + 1, dDict], "causal.decoder_probe"); // [n + 1, dDict]
    using rec = dict.decode(c); // [n + 1, dIn]
    const r = await rec.read();
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < dIn; k++) out[(i0 + i) * dIn + k] = r[i * dIn + k] - r[n * dIn + k];
    }
  }
  return out;
}

/** Host weights some dictionaries carry (`@saelab/baselines`' GPU dictionaries, as `host`). */
interface HostWeights {
  encoder: Float32Array;
  encoderBias: Float32Array;
  decoder: Float32Array;
  activation: "relu" | "identity";
  k: number;
}

function hostWeights(dict: Dictionary): Partial<HostWeights> | undefined {
  return (dict as { host?: Partial<HostWeights> }).host;
}

/** The host weights when the encoder is one affine map then ReLU or identity (no top-k). */
function affineEncoder(dict: Dictionary): HostWeights | null {
  const d = hostWeights(dict);
  if (!d) return null;
  const ok = d.encoder instanceof Float32Array && d.encoder.length === dict.dDict * dict.dIn &&
    d.encoderBias instanceof Float32Array && d.encoderBias.length === dict.dDict &&
    (d.activation === "relu" || d.activation === "identity") && d.k === 0;
  return ok ? (d as HostWeights) : null;
}

/**
 * One feature's activation on each row: on the host when the encoder is affine then ReLU or identity
 * (each feature is then independent of the others), else through a full encode on the GPU.
 *
 * @param dict The dictionary.
 * @param options `x`: rows `[rows, dIn]`; `feature`: which feature.
 * @returns The activation per row `[rows]`.
 * @throws {RangeError} For a feature out of range or rows of the wrong width.
 * @example
 * ```ts ignore
 * const act = await featureColumn(sae, { x: rows, feature: 17 }); // [rows]
 * ```
 */
export async function featureColumn(
  dict: Dictionary,
  options: { x: Float32Array; feature: number },
): Promise<Float32Array> {
  const { x, feature: f } = options;
  const { dIn, dDict } = dict;
  if (!Number.isInteger(f) || f < 0 || f >= dDict) {
    throw new RangeError(`Cannot read feature ${f} of ${dict.name}: it has ${dDict} features`);
  }
  if (x.length % dIn !== 0) throw new RangeError(`Cannot encode with ${dict.name}: rows must have ${dIn} values`);
  const rows = x.length / dIn;
  const affine = affineEncoder(dict);
  if (!affine) {
    const all = await encodeChunked(dict, x);
    return Float32Array.from({ length: rows }, (_, r) => all[r * dDict + f]);
  }
  const w = affine.encoder.subarray(f * dIn, (f + 1) * dIn), b = affine.encoderBias[f];
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = b;
    for (let i = 0; i < dIn; i++) s += w[i] * x[r * dIn + i];
    out[r] = affine.activation === "relu" ? Math.max(0, s) : s;
  }
  return out;
}
