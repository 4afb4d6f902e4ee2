/**
 * The checked reading of a SAELens `cfg.json`: every field the loader acts on, typed and bounded,
 * with SAELens' own defaults (`SAEConfig`: `apply_b_dec_to_input` true, `normalize_activations`
 * `"none"`; a legacy boolean `normalize_activations` means `"none"` when false and
 * `"expected_average_only_in"` when true, as SAELens' config defaulting reads it).
 *
 * @module
 */

/** Largest sizes accepted: `d_in ≤ 2^20`, `d_sae ≤ 2^24`, and `d_in · d_sae ≤ 2^32` values per matrix. */
export const SAELENS_LIMITS: Readonly<{ dIn: number; dSae: number; matrix: number }> = Object.freeze({
  dIn: 2 ** 20,
  dSae: 2 ** 24,
  matrix: 2 ** 32,
});

/** What a SAELens folder's `cfg.json` asks of a loader, checked. */
export interface SaeLensSettings {
  /** `d_in`. */
  dIn: number;
  /** `d_sae`. */
  dSae: number;
  /**
   * `"standard"`, `"topk"`, `"jumprelu"` (codes `p · [p > θ_j]`, thresholds in the `threshold` tensor) or
   * `"gated"` (tensors `b_gate`, `r_mag`, `b_mag` instead of `b_enc`).
   */
  architecture: "standard" | "topk" | "jumprelu" | "gated";
  /** The activation applied before TopK selection (or alone): `"relu"` or `"identity"`. */
  activation: "relu" | "identity";
  /** TopK's k (1 … d_sae), 0 for a plain activation. */
  k: number;
  /** Whether `b_dec` is subtracted from the input before encoding (SAELens' default: true). */
  applyBDecToInput: boolean;
  /**
   * TopK only, `rescale_acts_by_decoder_norm` (SAELens v6 `TopKSAEConfig`, default false): pre-activations are
   * multiplied by each decoder row's norm before selection and codes divided by it before decoding. The reader
   * folds it into the weights (as SAELens' `fold_W_dec_norm` does), which keeps codes and reconstructions.
   */
  rescaleByDecoderNorm: boolean;
}

type Json = Record<string, unknown>;

const isObject = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * Check a parsed `cfg.json` and read what the loader needs from it.
 *
 * @param raw The parsed file.
 * @param options The file it came from (named in every error).
 * @returns The settings.
 * @throws {RangeError} For a missing, mistyped or out-of-range field (named), or a value this
 *   project's reader cannot reproduce (another architecture or activation, input normalisation,
 *   `rescale_acts_by_decoder_norm` on an architecture other than `topk`).
 * @example
 * ```ts
 * import { parseSaeLensCfg } from "./saelens_cfg.ts";
 * const s = parseSaeLensCfg({ d_in: 4, d_sae: 8, architecture: "topk", k: 2 }, { file: "cfg.json" });
 * console.log(s.k, s.applyBDecToInput); // 2 true
 * ```
 */
export function parseSaeLensCfg(raw: unknown, options: { file: string }): SaeLensSettings {
  const fail = (field: string, why: string): never => {
    throw new RangeError(`Cannot load ${options.file}: ${field} ${why}`);
  };
  if (!isObject(raw)) return fail("the file", `is not a JSON object (got ${JSON.stringify(raw)?.slice(0, 40)})`);
  const size = (field: "d_in" | "d_sae", limit: number): number => {
    const v = raw[field];
    if (v === undefined) fail(field, "is missing");
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > limit) {
      fail(field, `must be an integer from 1 to ${limit}, got ${JSON.stringify(v)}`);
    }
    return v as number;
  };
  const dIn = size("d_in", SAELENS_LIMITS.dIn);
  const dSae = size("d_sae", SAELENS_LIMITS.dSae);
  if (dIn * dSae > SAELENS_LIMITS.matrix) {
    fail("d_in · d_sae", `(${dIn} · ${dSae}) exceeds ${SAELENS_LIMITS.matrix} values`);
  }
  const text = (field: string, fallback: string): string => {
    const v = raw[field] ?? fallback;
    if (typeof v !== "string") fail(field, `must be a string, got ${JSON.stringify(v)}`);
    return v as string;
  };
  const flag = (field: string, fallback: boolean): boolean => {
    const v = raw[field] === undefined ? fallback : raw[field]; // null is not a boolean (SAELens reads it as false)
    if (typeof v !== "boolean") fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    return v as boolean;
  };
  const architecture = text("architecture", "standard");
  // SAELens 5 writes activation_fn_str; its pre-6 conversion renames it activation_fn
  const fnField = raw.activation_fn_str === undefined && raw.activation_fn !== undefined
    ? "activation_fn"
    : "activation_fn_str";
  const fn = text(fnField, architecture === "topk" ? "topk" : "relu");
  const jumprelu = architecture === "jumprelu" && fn === "relu";
  const gated = architecture === "gated" && fn === "relu";
  if (
    !jumprelu && !gated &&
    ((architecture !== "standard" && architecture !== "topk") || !["relu", "identity", "topk"].includes(fn))
  ) {
    fail(
      "architecture",
      `${JSON.stringify(architecture)} with activation ${JSON.stringify(fn)} is not supported (standard/relu, ` +
        "standard/identity, topk, jumprelu or gated)",
    );
  }
  const norm = raw.normalize_activations === false
    ? "none"
    : raw.normalize_activations === true
    ? "expected_average_only_in"
    : text("normalize_activations", "none");
  if (norm !== "none") fail("normalize_activations", `${JSON.stringify(norm)} is not supported (only "none")`);
  const rescaleByDecoderNorm = flag("rescale_acts_by_decoder_norm", false);
  const applyBDecToInput = flag("apply_b_dec_to_input", true);
  const topk = architecture === "topk" || fn === "topk";
  if (rescaleByDecoderNorm && !topk) {
    fail(
      "rescale_acts_by_decoder_norm",
      `true is not supported for architecture ${JSON.stringify(architecture)} (SAELens v6 defines it for topk only)`,
    );
  }
  let k = 0;
  if (topk) {
    const kwargs = raw.activation_fn_kwargs ?? {};
    if (!isObject(kwargs)) fail("activation_fn_kwargs", `must be an object, got ${JSON.stringify(kwargs)}`);
    const a = (kwargs as Json).k, b = raw.k;
    if (a !== undefined && b !== undefined && a !== b) {
      fail("k", `(${JSON.stringify(b)}) disagrees with activation_fn_kwargs.k (${JSON.stringify(a)})`);
    }
    const v = a ?? b;
    const field = a !== undefined ? "activation_fn_kwargs.k" : "k";
    if (v === undefined) fail("k", "is missing: a topk SAE needs k (or activation_fn_kwargs.k)");
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > dSae) {
      fail(field, `must be an integer from 1 to d_sae (${dSae}), got ${JSON.stringify(v)}`);
    }
    k = v as number;
  }
  let activation: "relu" | "identity" = fn === "identity" ? "identity" : "relu";
  const saelab = raw.saelab;
  if (saelab !== undefined) {
    if (!isObject(saelab)) fail("saelab", `must be an object, got ${JSON.stringify(saelab)}`);
    const own = (saelab as Json).activation;
    if (own !== undefined) {
      if (own !== "relu" && own !== "identity") {
        fail("saelab.activation", `must be "relu" or "identity", got ${JSON.stringify(own)}`);
      }
      activation = own as "relu" | "identity";
    }
  }
  return {
    dIn,
    dSae,
    architecture: jumprelu ? "jumprelu" : gated ? "gated" : topk ? "topk" : "standard",
    activation,
    k,
    applyBDecToInput,
    rescaleByDecoderNorm,
  };
}
