/**
 * Where a group's parameters live in its one packed buffer (so Adam is one
 * dispatch per group), and the conversion to and from {@linkcode SaeWeights}.
 *
 * Untied and TopK, per member z: `W_ext [n, d + 4]` at `enc + z·encStride` — row j holds
 * `W_e[j, :]`, then `b_e[j]`, then three zeros (the encoder-gradient matmul writes `∂b_e` into
 * that column) — then `D [n, d]` at `dec + z·n·d`. Tied: `M [n, d]` at `enc + z·n·d`, then
 * `b [n]` at `dec + z·n`. Kinds with learned per-feature thresholds (JumpReLU) add `log θ [n]` at
 * `thr + z·n`, after the decoder blocks.
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
  /** Offset of the `log θ [n]` blocks (stride n) of kinds with learned per-feature thresholds; absent otherwise. */
  thr?: number;
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
  const end = dec + members * (tied ? n : n * d);
  if (KINDS[kind].thresholds) {
    return { kind, d, n, members, enc: 0, encStride, dec, thr: end, total: end + members * n };
  }
  return { kind, d, n, members, enc: 0, encStride, dec, total: end };
}

/** Write member z's weights into a packed host array. */
export function packWeights(layout: GroupLayout, z: number, w: SaeWeights, into: Float32Array): void {
  const { d, n } = layout;
  if (layout.thr !== undefined) {
    if (w.logThreshold?.length !== n) {
      throw new RangeError(`Cannot pack ${layout.kind} member ${z}: it needs logThreshold [${n}]`);
    }
    into.set(w.logThreshold, layout.thr + z * n);
  }
  const e = layout.enc + z * layout.encStride;
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
  if (KINDS[layout.kind].tied) {
    return {
      spec: { ...spec },
      encoder: from.slice(e, e + n * d),
      encoderBias: from.slice(layout.dec + z * n, layout.dec + (z + 1) * n),
      decoder: null,
      decoderBias: null,
      ...(layout.thr !== undefined ? { logThreshold: from.slice(layout.thr + z * n, layout.thr + (z + 1) * n) } : {}),
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
    ...(layout.thr !== undefined ? { logThreshold: from.slice(layout.thr + z * n, layout.thr + (z + 1) * n) } : {}),
  };
}
