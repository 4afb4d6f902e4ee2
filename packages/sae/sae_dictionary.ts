/**
 * An SAE as `@saelab/dictionary`'s {@linkcode LinearDictionary} (the one dictionary class): its
 * SAELens tensors (`W_enc = W_eᵀ`, or `M̂ᵀ` for tied SAEs; `W_dec = D̂`), with `b_dec` folded into
 * the encoder bias, ReLU, and the kind's `k` for TopK SAEs.
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import { type GpuLinearDictionary, LinearDictionary, type SaeLensTensors } from "@saelab/dictionary";
import { KINDS } from "./kinds/mod.ts";
import { specName } from "./spec.ts";
import { normalizeRows, type SaeWeights } from "./weights.ts";

/** SAELens-layout tensors of an SAE (host). */
export type SaeTensors = SaeLensTensors;

/**
 * SAELens tensors of an SAE: `W_enc = W_eᵀ` (tied: `M̂ᵀ`, the
 * encoder reads the normalised rows), `W_dec = D̂` (unit rows, as the forward pass uses them),
 * `b_dec` zero when the SAE has none; Gated SAEs add `r_mag`, `b_mag` (and `b_enc` is their `b_gate`). With `scale` (the SAE was trained on activations multiplied
 * by it), the tensors read raw activations: `W_enc · scale`, `W_dec / scale`, `b_dec / scale`; the
 * codes are the trained member's on scaled activations.
 *
 * @param w Weights.
 * @param options `scale`: the activation scale the SAE was trained at (default 1).
 * @returns The four tensors.
 * @throws {RangeError} When an array's size disagrees with the spec.
 * @example
 * ```ts
 * import { initWeights, toSaeLensTensors } from "@saelab/sae";
 * const t = toSaeLensTensors(initWeights({ kind: "untied", dIn: 3, dDict: 5, l1: 0 }));
 * if (t.W_enc.length !== 15 || t.b_dec.length !== 3) throw new Error("shapes");
 * ```
 */
export function toSaeLensTensors(w: SaeWeights, options: { scale?: number } = {}): SaeTensors {
  const { dIn: d, dDict: n } = w.spec;
  const sizes = [["encoder", w.encoder, n * d], ["encoderBias", w.encoderBias, n], [
    "decoder",
    w.decoder,
    n * d,
  ]] as const;
  for (const [key, arr, size] of [...sizes, ["decoderBias", w.decoderBias, d] as const]) {
    if (arr && arr.length !== size) {
      throw new RangeError(`Cannot convert SAE ${specName(w.spec)}: ${key} has ${arr.length} values, expected ${size}`);
    }
  }
  const dirs = normalizeRows(w.decoder ?? w.encoder, d);
  const enc = KINDS[w.spec.kind].tied ? dirs : w.encoder;
  const W_enc = new Float32Array(d * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < d; i++) W_enc[i * n + j] = enc[j * d + i];
  const threshold = w.threshold !== undefined ? { threshold: new Float32Array(n).fill(w.threshold) } : {};
  const gate = w.rMag && w.bMag ? { r_mag: w.rMag.slice(), b_mag: w.bMag.slice() } : {}; // Gated: b_enc is b_gate
  const t = {
    W_enc,
    b_enc: w.encoderBias.slice(),
    W_dec: dirs,
    b_dec: w.decoderBias?.slice() ?? new Float32Array(d),
    ...threshold,
    ...gate,
  };
  const scale = options.scale ?? 1;
  if (scale === 1) return t;
  return {
    ...threshold,
    ...gate,
    W_enc: t.W_enc.map((v) => v * scale),
    b_enc: t.b_enc,
    W_dec: t.W_dec.map((v) => v / scale),
    b_dec: t.b_dec.map((v) => v / scale),
  };
}

/**
 * An SAE as a host {@linkcode LinearDictionary} (`kind` `"sae"`): `c = ReLU(W_e (x − b_dec) + b_e)`
 * (TopK: only the k largest kept), `x̂ = D̂ᵀ c + b_dec`.
 *
 * @param w Weights.
 * @param options Name (default {@linkcode specName}), activation `scale` it was trained at (default 1),
 *   facts for `info`.
 * @returns The dictionary (bind it to a GPU for `Dictionary`).
 * @example
 * ```ts
 * import { initWeights, saeDictionary } from "@saelab/sae";
 * const d = saeDictionary(initWeights({ kind: "topk", dIn: 4, dDict: 8, l1: 0, k: 2 }));
 * if (d.k !== 2 || d.name !== "topk_r2_k2") throw new Error("topk");
 * ```
 */
export function saeDictionary(
  w: SaeWeights,
  options: { name?: string; scale?: number; info?: Record<string, unknown> } = {},
): LinearDictionary {
  const { dIn: d, dDict: n } = w.spec;
  const t = toSaeLensTensors(w, { scale: options.scale });
  const encoder = new Float32Array(n * d);
  const encoderBias = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let shift = 0;
    for (let i = 0; i < d; i++) {
      encoder[j * d + i] = t.W_enc[i * n + j];
      shift += t.W_enc[i * n + j] * t.b_dec[i];
    }
    encoderBias[j] = t.b_enc[j] - shift;
    if (t.r_mag && t.b_mag) t.b_mag[j] -= Math.exp(t.r_mag[j]) * shift; // Gated: see `loadDictionary`
  }
  return new LinearDictionary({
    name: options.name ?? specName(w.spec),
    kind: "sae",
    dIn: d,
    dDict: n,
    encoder,
    encoderBias,
    decoder: t.W_dec,
    decoderBias: t.b_dec,
    k: KINDS[w.spec.kind].batch ? 0 : w.spec.k,
    ...(t.threshold ? { threshold: t.threshold } : {}),
    ...(t.r_mag && t.b_mag ? { gate: { rMag: t.r_mag, bMag: t.b_mag } } : {}),
    info: { kind: w.spec.kind, ...options.info },
  });
}

/** SAEs on a GPU, as {@linkcode GpuLinearDictionary}s. */
export const SaeDictionary: {
  readonly fromWeights: (gpu: Gpu, w: SaeWeights, name?: string) => GpuLinearDictionary;
} = Object.freeze({
  /**
   * An SAE trained by this package, on a GPU.
   *
   * @param gpu The context.
   * @param w Weights.
   * @param name Display name (default: {@linkcode specName}).
   * @returns The dictionary (dispose it to free its tensors).
   * @example
   * ```ts ignore
   * using sae = SaeDictionary.fromWeights(gpu, initWeights({ kind: "untied", dIn: 8, dDict: 32, l1: 1e-3 }));
   * ```
   */
  fromWeights(gpu: Gpu, w: SaeWeights, name?: string): GpuLinearDictionary {
    return saeDictionary(w, { name }).bind(gpu);
  },
});
