/**
 * Reading SAELens folders without a file system: `cfg.json` from its text, the tensors from any
 * safetensors reader, and the {@linkcode LinearDictionary} they make. `./saelens.ts` (files on disk)
 * and `./portable.ts` (browsers) both read through these.
 *
 * @module
 */
import type { TensorReader } from "@saelab/safetensors/portable";
import type { DictKind, SaeCfg } from "@saelab/runs";
import { LinearDictionary } from "./linear.ts";
import { SAELENS_LIMITS, type SaeLensSettings } from "./saelens_cfg.ts";

/** File names inside a SAELens folder. */
export const SAELENS_FILES = Object.freeze({ cfg: "cfg.json", weights: "sae_weights.safetensors" });

/** `cfg.json` as SAELens v6 reads it: the run format's {@linkcode SaeCfg} (more fields are kept). */
export type SaeLensCfg = SaeCfg;

/** The four tensors of a SAELens folder (host, SAELens layout). */
export interface SaeLensTensors {
  /** `[dIn, dDict]`. */
  W_enc: Float32Array;
  /** `[dDict]` (Gated: the gate bias, written as `b_gate`). */
  b_enc: Float32Array;
  /** `[dDict, dIn]`. */
  W_dec: Float32Array;
  /** `[dIn]`. */
  b_dec: Float32Array;
  /** JumpReLU SAEs only: the thresholds `θ [dDict]` (codes `p · [p > θ_j]`). */
  threshold?: Float32Array;
  /** Gated SAEs only: `r_mag [dDict]` (`W_mag = exp(r_mag) ⊙ W_gate`). */
  r_mag?: Float32Array;
  /** Gated SAEs only: `b_mag [dDict]`. */
  b_mag?: Float32Array;
  /**
   * Folders written before SAELens 6: `scaling_factor [dDict]` (`finetuning_scaling_factor`), multiplying the codes
   * before decoding. Absent when the file has none or it is all ones.
   */
  scaling_factor?: Float32Array;
}

/**
 * Parse the text of a SAELens `cfg.json`, checking that it is a JSON object with sizes `d_in` and
 * `d_sae` in range (the rest is checked by `parseSaeLensCfg`).
 *
 * @param text The file's text.
 * @param path The file, for messages.
 * @returns The parsed config.
 * @throws {TypeError} When the text is not valid JSON (a truncated file, say).
 * @throws {RangeError} When it is not an object, or `d_in` or `d_sae` is missing or out of range.
 * @example
 * ```ts
 * import { saeLensCfgFromText } from "./_saelens_read.ts";
 * const cfg = saeLensCfgFromText(`{"d_in": 4, "d_sae": 8}`, "cfg.json");
 * if (cfg.d_sae !== 8) throw new Error();
 * ```
 */
export function saeLensCfgFromText(text: string, path: string): SaeLensCfg {
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`Cannot read ${path}: it is not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (typeof cfg !== "object" || cfg === null || Array.isArray(cfg)) {
    throw new RangeError(`Cannot read ${path}: it is not a JSON object`);
  }
  const c = cfg as SaeLensCfg;
  for (const [key, limit] of [["d_in", SAELENS_LIMITS.dIn], ["d_sae", SAELENS_LIMITS.dSae]] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1 || c[key] > limit) {
      throw new RangeError(
        `Cannot read ${path}: ${key} is missing or not an integer from 1 to ${limit} (got ${JSON.stringify(c[key])})`,
      );
    }
  }
  return c;
}

const FLOAT_DTYPES = ["F32", "F16", "BF16", "F64"];

/**
 * Read the tensors of a SAELens weights file, checking each one's dtype (a float type; F16/BF16/F64
 * are converted to F32), its exact shape (a transposed `W_enc` is refused) and that its values are
 * finite. A missing `b_dec` reads as zeros; a `gated` file's `b_gate` is read as `b_enc`; a legacy
 * `scaling_factor` (or `finetuning_scaling_factor`) tensor is kept unless it is all ones, as SAELens' loaders
 * drop it then. The payload's SHA-256 is the caller's to check.
 *
 * @param file The open weights file.
 * @param cfg Its `cfg.json` (for the sizes).
 * @param options `path` of the weights file and `dir` of the folder, for messages.
 * @returns The tensors.
 * @throws {RangeError} When a tensor is missing, not a float type, of the wrong shape, or holds NaN/Inf (named).
 * @example
 * ```ts ignore
 * const t = await saeLensTensorsFrom(file, cfg, { path, dir });
 * ```
 */
export async function saeLensTensorsFrom(
  file: TensorReader,
  cfg: SaeLensCfg,
  options: { path: string; dir: string },
): Promise<SaeLensTensors> {
  const { d_in: dIn, d_sae: dDict } = cfg;
  const { path, dir } = options;
  const get = async (tensor: string, shape: number[]) => {
    if (!file.has(tensor)) throw new RangeError(`Cannot load ${path}: it has no tensor ${tensor}`);
    const { shape: got, dtype } = file.info(tensor);
    if (!FLOAT_DTYPES.includes(dtype)) {
      throw new RangeError(`Cannot load ${path}: ${tensor} has dtype ${dtype}, expected one of ${FLOAT_DTYPES}`);
    }
    if (got.length !== shape.length || got.some((v, i) => v !== shape[i])) {
      throw new RangeError(
        `Cannot load ${dir}: ${tensor} has shape [${got.join(", ")}], expected [${shape.join(", ")}] ` +
          `(d_in ${dIn}, d_sae ${dDict} in ${SAELENS_FILES.cfg})`,
      );
    }
    const values = await file.getFloat32(tensor);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new RangeError(`Cannot load ${path}: ${tensor}[${bad}] is ${values[bad]}`);
    return values;
  };
  const gated = cfg.architecture === "gated";
  const scaleName = ["scaling_factor", "finetuning_scaling_factor"].find((n) => file.has(n));
  const scale = scaleName ? await get(scaleName, [dDict]) : undefined;
  return {
    W_enc: await get("W_enc", [dIn, dDict]),
    b_enc: await get(gated ? "b_gate" : "b_enc", [dDict]),
    ...(gated ? { r_mag: await get("r_mag", [dDict]), b_mag: await get("b_mag", [dDict]) } : {}),
    W_dec: await get("W_dec", [dDict, dIn]),
    b_dec: file.has("b_dec") ? await get("b_dec", [dIn]) : new Float32Array(dIn),
    ...(cfg.architecture === "jumprelu" ? { threshold: await get("threshold", [dDict]) } : {}),
    ...(scale && scale.some((v) => v !== 1) ? { scaling_factor: scale } : {}),
  };
}

/**
 * The {@linkcode LinearDictionary} of a SAELens folder's config and tensors: `W_enc` transposed to
 * rows, `apply_b_dec_to_input` folded into the encoder bias (`b_e − W_encᵀ b_dec`), a legacy
 * `scaling_factor` s folded into the decoder (row j times s_j: the same reconstructions, the same codes), and
 * TopK's `rescale_acts_by_decoder_norm` folded as SAELens' `fold_W_dec_norm` folds it (encoder row and bias
 * times ‖W_dec_j‖, decoder row divided by it: the codes SAELens' `encode` returns, the same reconstructions).
 *
 * @param cfg The `cfg.json`.
 * @param t Its tensors.
 * @param options `name`, `kind` (`"sae"`, or a baseline's: kind from `cfg.method`) and the checked `settings`.
 * @returns The dictionary.
 * @throws {RangeError} When `rescale_acts_by_decoder_norm` is set and a decoder row is zero (its codes are
 *   undefined in SAELens too), or it is set together with a legacy scaling factor.
 * @example
 * ```ts ignore
 * const dict = dictionaryFromSaeLens(cfg, tensors, { name: "pca", kind: "baseline", settings });
 * ```
 */
export function dictionaryFromSaeLens(
  cfg: SaeLensCfg,
  t: SaeLensTensors,
  options: { name: string; kind?: DictKind; settings: SaeLensSettings },
): LinearDictionary {
  const { settings, name } = options;
  const { dIn, dSae: dDict, k } = settings;
  const encoder = new Float32Array(dDict * dIn);
  const bias = new Float32Array(dDict);
  for (let j = 0; j < dDict; j++) {
    let shift = 0;
    for (let i = 0; i < dIn; i++) {
      const w = t.W_enc[i * dDict + j];
      encoder[j * dIn + i] = w;
      shift += w * t.b_dec[i];
    }
    bias[j] = t.b_enc[j] - (settings.applyBDecToInput ? shift : 0);
    // Gated: the magnitude path reads W_enc x' = p − b_gate; with b_dec folded into the bias, b_mag takes its share
    if (t.r_mag && t.b_mag && settings.applyBDecToInput) t.b_mag[j] -= Math.exp(t.r_mag[j]) * shift;
  }
  const decoder = t.scaling_factor || settings.rescaleByDecoderNorm ? Float32Array.from(t.W_dec) : t.W_dec;
  if (t.scaling_factor) {
    if (settings.rescaleByDecoderNorm) {
      throw new RangeError(
        `Cannot load ${name}: rescale_acts_by_decoder_norm together with a legacy scaling_factor is not supported`,
      );
    }
    for (let j = 0; j < dDict; j++) {
      for (let i = 0; i < dIn; i++) decoder[j * dIn + i] *= t.scaling_factor[j];
    }
  }
  if (settings.rescaleByDecoderNorm) {
    for (let j = 0; j < dDict; j++) {
      let sq = 0;
      for (let i = 0; i < dIn; i++) sq += decoder[j * dIn + i] ** 2;
      const norm = Math.sqrt(sq);
      if (!(norm > 0)) {
        throw new RangeError(
          `Cannot load ${name}: W_dec row ${j} is zero, so rescale_acts_by_decoder_norm cannot be applied`,
        );
      }
      bias[j] *= norm;
      for (let i = 0; i < dIn; i++) {
        encoder[j * dIn + i] *= norm;
        decoder[j * dIn + i] /= norm;
      }
    }
  }
  const saelab = (cfg.saelab ?? {}) as Record<string, unknown>;
  return new LinearDictionary({
    name,
    kind: (options.kind ?? "sae") === "sae" ? "sae" : typeof cfg.method === "string" ? cfg.method : "baseline",
    dIn,
    dDict,
    encoder,
    encoderBias: bias,
    decoder,
    decoderBias: t.b_dec,
    activation: settings.activation,
    k,
    ...(t.threshold ? { threshold: t.threshold } : {}),
    ...(t.r_mag && t.b_mag ? { gate: { rMag: t.r_mag, bMag: t.b_mag } } : {}),
    info: saelab,
  });
}
