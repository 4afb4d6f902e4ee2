/**
 * Where a group's parameters live in its one packed buffer (so Adam is one
 * dispatch per group), and the conversion to and from {@linkcode SaeWeights}.
 *
 * Untied and TopK, per member z: `W_ext [n, d + 4]` at `enc + z·encStride` — row j holds
 * `W_e[j, :]`, then `b_e[j]`, then three zeros (the encoder-gradient matmul writes `∂b_e` into
 * that column) — then `D [n, d]` at `dec + z·n·d`. Tied: `M [n, d]` at `enc + z·n·d`, then
 * `b [n]` at `dec + z·n`. Kinds with per-feature parameters (`featureParams`, Gated: `rMag`, `bMag`)
 * add one block after those: member z's k-th vector `[n]` at `features + z·featureStride + k·n`.
 *
 * @module
 */
import { KINDS } from "./kinds/mod.ts";
import type { SaeSpec } from "./spec.ts";
import type { SaeWeights } from "./weights.ts";

/** Offsets (in floats, multiples of 4) of a group's parameter blocks. */
export interface GroupLayout {
  /** Shared variant of the group's members. */
  kind: SaeSpec["kind"];
  /** Input width. */
  d: number;
  /** Features per member. */
  n: number;
  /** Members. */
  members: number;
  /** Offset and per-member stride of `W_ext [n, d + 4]` (untied) or `M [n, d]` (tied). */
  enc: number;
  /** See `enc`. */
  encStride: number;
  /** Offset of the `D` blocks (untied; stride n·d), or of the bias block (tied; stride n). */
  dec: number;
  /** Offset of the per-feature parameter blocks (`featureParams` of the kind; `total` when none). */
  features: number;
  /** Floats per member in the per-feature block (`featureParams.length · n`; 0 when none). */
  featureStride: number;
  /** Total floats. */
  total: number;
}

/**
 * The layout of a group.
 *
 * @param kind Variant.
 * @param sizes `d`, `n` and member count.
 * @returns Offsets and total size.
 */
export function groupLayout(kind: SaeSpec["kind"], sizes: { d: number; n: number; members: number }): GroupLayout {
  const { d, n, members } = sizes;
  const tied = KINDS[kind].tied;
  const encStride = tied ? n * d : (d + 4) * n;
  const dec = members * encStride;
  const features = dec + members * (tied ? n : n * d);
  const featureStride = (KINDS[kind].featureParams?.length ?? 0) * n;
  const total = features + members * featureStride;
  return { kind, d, n, members, enc: 0, encStride, dec, features, featureStride, total };
}

/** Write member z's weights into a packed host array. */
export function packWeights(layout: GroupLayout, z: number, w: SaeWeights, into: Float32Array): void {
  const { d, n } = layout;
  const e = layout.enc + z * layout.encStride;
  (KINDS[layout.kind].featureParams ?? []).forEach((key, k) => {
    const v = w[key];
    if (v?.length !== n) throw new RangeError(`Cannot pack ${layout.kind} weights: ${key} must hold ${n} values`);
    into.set(v, layout.features + z * layout.featureStride + k * n);
  });
  if (KINDS[layout.kind].tied) {
    into.set(w.encoder, e);
    into.set(w.encoderBias, layout.dec + z * n);
    return;
  }
  for (let j = 0; j < n; j++) {
    into.set(w.encoder.subarray(j * d, (j + 1) * d), e + j * (d + 4));
    into[e + j * (d + 4) + d] = w.encoderBias[j];
    into.fill(0, e + j * (d + 4) + d + 1, e + (j + 1) * (d + 4));
  }
  into.set(w.decoder!, layout.dec + z * n * d);
}

/** Read member z's weights out of a packed host array. */
export function unpackWeights(layout: GroupLayout, z: number, spec: Required<SaeSpec>, from: Float32Array): SaeWeights {
  const { d, n } = layout;
  const e = layout.enc + z * layout.encStride;
  const perFeature = Object.fromEntries((KINDS[layout.kind].featureParams ?? []).map((key, k) => {
    const at = layout.features + z * layout.featureStride + k * n;
    return [key, from.slice(at, at + n)];
  }));
  if (KINDS[layout.kind].tied) {
    return {
      spec: { ...spec },
      encoder: from.slice(e, e + n * d),
      encoderBias: from.slice(layout.dec + z * n, layout.dec + (z + 1) * n),
      decoder: null,
      decoderBias: null,
      ...perFeature,
    };
  }
  const encoder = new Float32Array(n * d);
  const encoderBias = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    encoder.set(from.subarray(e + j * (d + 4), e + j * (d + 4) + d), j * d);
    encoderBias[j] = from[e + j * (d + 4) + d];
  }
  return {
    spec: { ...spec },
    encoder,
    encoderBias,
    decoder: from.slice(layout.dec + z * n * d, layout.dec + (z + 1) * n * d),
    decoderBias: null,
    ...perFeature,
  };
}
