/**
 * GPT-NeoX configuration: the fields of a Hugging Face `config.json` that
 * change the maths, validated, with Hugging Face's defaults.
 *
 * @module
 */

/** A validated GPT-NeoX configuration. Field defaults are those of Hugging Face's `GPTNeoXConfig`. */
export interface NeoxConfig {
  /** Vocabulary size (rows of `embed_in` and `embed_out`). */
  vocabSize: number;
  /** Width of the residual stream, `d_model`. */
  hiddenSize: number;
  /** Number of transformer blocks. */
  numLayers: number;
  /** Attention heads per block. */
  numHeads: number;
  /** Width of the MLP's hidden layer. */
  intermediateSize: number;
  /** Fraction of each head's dimensions that rotary embedding rotates. Default 0.25. */
  rotaryPct: number;
  /** Rotary base θ. Default 10000. */
  rotaryBase: number;
  /** LayerNorm epsilon. Default 1e-5. */
  layerNormEps: number;
  /** `x + attn(ln1(x)) + mlp(ln2(x))` when true, else `h = x + attn(ln1(x)); h + mlp(ln2(h))`. Default true. */
  parallelResidual: boolean;
  /** Longest context. Default 2048. */
  maxPositions: number;
  /** True when the unembedding reuses `embed_in`. Default false. */
  tiedEmbeddings: boolean;
  /** Whether the attention projections carry biases. Default true. */
  attentionBias: boolean;
  /** `hiddenSize / numHeads`. */
  headSize: number;
  /** `floor(headSize · rotaryPct)`: leading dimensions of each head that are rotated. */
  rotaryDims: number;
}

type Json = Record<string, unknown>;

/**
 * Largest sizes {@linkcode parseConfig} accepts, checked before anything is allocated. Every size
 * must be a positive integer no larger than its limit; they bound the largest tensor
 * (`vocab_size · hidden_size`) well inside exact float64 integers.
 */
export const CONFIG_LIMITS: Readonly<Record<string, number>> = Object.freeze({
  vocab_size: 4_194_304,
  hidden_size: 65_536,
  num_hidden_layers: 1_024,
  num_attention_heads: 1_024,
  intermediate_size: 262_144,
  max_position_embeddings: 1_048_576,
});

/** Reports a bad field of one config, naming its file when known. */
type Fail = (field: string, why: string) => never;

function failer(file: string | undefined): Fail {
  const what = file === undefined ? "this GPT-NeoX config" : `GPT-NeoX config ${file}`;
  return (field, why) => {
    throw new RangeError(`Cannot use ${what}: ${field} ${why}`);
  };
}

function positiveInt(raw: Json, field: string, fail: Fail, fallback?: number): number {
  const v = raw[field] ?? fallback;
  if (v === undefined) fail(field, "is missing");
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    fail(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  }
  const limit = CONFIG_LIMITS[field];
  if (limit !== undefined && v > limit) fail(field, `must be a positive integer at most ${limit}, got ${v}`);
  return v;
}

function number(
  raw: Json,
  field: string,
  fail: Fail,
  check: { fallback: number; ok: (v: number) => boolean; what: string },
): number {
  const v = raw[field] ?? check.fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || !check.ok(v)) {
    fail(field, `must be ${check.what}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(raw: Json, field: string, fail: Fail, fallback: boolean): boolean {
  const v = raw[field] ?? fallback;
  if (typeof v !== "boolean") fail(field, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Read rotary settings from either the classic fields or the newer `rope_parameters` / `rope_theta`
 * ones. The base must be finite and above 1: the frequencies `base^(−2i/d)` then lie in (0, 1], so
 * every angle `position · frequency` is finite (a base ≤ 1 makes them grow, and 1e-300 overflows f32).
 */
function rotary(raw: Json, fail: Fail): { pct: number; base: number } {
  const params = (raw.rope_parameters ?? null) as Json | null;
  for (const [field, value] of [["rope_scaling", raw.rope_scaling], ["rope_parameters", params]] as const) {
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || Array.isArray(value)) {
      fail(field, `must be an object or null, got ${JSON.stringify(value)}`);
    }
    const type = (value as Json).rope_type ?? (value as Json).type ?? "default";
    if (type !== "default") {
      fail(field, `has rope_type ${JSON.stringify(type)}; only unscaled ("default") rotary is supported`);
    }
  }
  const merged: Json = { ...raw };
  if (params?.rope_theta !== undefined) merged.rope_theta = params.rope_theta;
  if (params?.partial_rotary_factor !== undefined) merged.partial_rotary_factor = params.partial_rotary_factor;
  const pick = (a: string, b: string, fallback: number) => {
    if (merged[a] !== undefined && merged[b] !== undefined && merged[a] !== merged[b]) {
      fail(a, `(${JSON.stringify(merged[a])}) disagrees with ${b} (${JSON.stringify(merged[b])})`);
    }
    return merged[a] !== undefined ? a : merged[b] !== undefined ? b : (merged[a] = fallback, a);
  };
  const pctField = pick("rotary_pct", "partial_rotary_factor", 0.25);
  const baseField = pick("rotary_emb_base", "rope_theta", 10000);
  return {
    pct: number(merged, pctField, fail, {
      fallback: 0.25,
      ok: (v) => v > 0 && v <= 1,
      what: "between 0 and 1 (above 0, at most 1)",
    }),
    base: number(merged, baseField, fail, { fallback: 10000, ok: (v) => v > 1, what: "a finite number above 1" }),
  };
}

/** Options of {@linkcode parseConfig}. */
export interface ParseConfigOptions {
  /** The file the config was read from, named in errors. */
  file?: string;
}

/**
 * Validate a parsed `config.json` of a GPT-NeoX model.
 *
 * Every field that changes the forward pass is checked; values this
 * implementation does not compute (another activation, scaled rotary,
 * odd rotary widths) are refused by name rather than silently ignored.
 *
 * Sizes must be positive integers within {@linkcode CONFIG_LIMITS}, the rotary base finite and
 * above 1, `rotary_pct` in (0, 1], `layer_norm_eps` finite and ≥ 0, flags JSON booleans.
 *
 * @param raw The parsed JSON object.
 * @param options The file it came from (named in errors).
 * @returns The validated configuration.
 * @throws {RangeError} Naming the file (when given) and the field that is missing, out of range or unsupported.
 * @example
 * ```ts
 * import { type NeoxConfig, parseConfig, toHfConfig } from "./config.ts";
 * const c: NeoxConfig = parseConfig({
 *   model_type: "gpt_neox", vocab_size: 512, hidden_size: 64, num_hidden_layers: 2,
 *   num_attention_heads: 4, intermediate_size: 256,
 * });
 * console.log(c.headSize, c.rotaryDims, toHfConfig(c).rotary_pct); // 16 4 0.25
 * ```
 */
export function parseConfig(raw: unknown, options: ParseConfigOptions = {}): NeoxConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    const what = options.file === undefined ? "this GPT-NeoX config" : `GPT-NeoX config ${options.file}`;
    throw new TypeError(`Cannot use ${what}: it is not a JSON object`);
  }
  const fail: Fail = failer(options.file);
  const c = raw as Json;
  if (c.model_type !== "gpt_neox") fail("model_type", `is ${JSON.stringify(c.model_type)}, expected "gpt_neox"`);
  const act = c.hidden_act ?? "gelu";
  if (act !== "gelu") fail("hidden_act", `is ${JSON.stringify(act)}; only "gelu" (exact erf) is supported`);
  const hiddenSize = positiveInt(c, "hidden_size", fail);
  const numHeads = positiveInt(c, "num_attention_heads", fail);
  if (hiddenSize % numHeads !== 0) {
    fail("num_attention_heads", `(${numHeads}) does not divide hidden_size (${hiddenSize})`);
  }
  const headSize = hiddenSize / numHeads;
  const { pct, base } = rotary(c, fail);
  const rotaryDims = Math.floor(headSize * pct);
  if (rotaryDims % 2 !== 0) {
    fail("rotary_pct", `(${pct}) gives an odd number of rotary dimensions (${rotaryDims} of head size ${headSize})`);
  }
  return {
    vocabSize: positiveInt(c, "vocab_size", fail),
    hiddenSize,
    numLayers: positiveInt(c, "num_hidden_layers", fail),
    numHeads,
    intermediateSize: positiveInt(c, "intermediate_size", fail),
    rotaryPct: pct,
    rotaryBase: base,
    layerNormEps: number(c, "layer_norm_eps", fail, { fallback: 1e-5, ok: (v) => v >= 0, what: "a number ≥ 0" }),
    parallelResidual: bool(c, "use_parallel_residual", fail, true),
    maxPositions: positiveInt(c, "max_position_embeddings", fail, 2048),
    tiedEmbeddings: bool(c, "tie_word_embeddings", fail, false),
    attentionBias: bool(c, "attention_bias", fail, true),
    headSize,
    rotaryDims,
  };
}

/**
 * The `config.json` object of a configuration, in Hugging Face's field names.
 *
 * @param config A configuration.
 * @returns A plain object that {@linkcode parseConfig} reads back unchanged.
 * @example
 * ```ts
 * import { type NeoxConfig, parseConfig, toHfConfig } from "./config.ts";
 * const c: NeoxConfig = parseConfig({ model_type: "gpt_neox", vocab_size: 8, hidden_size: 16, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 32 });
 * console.log(parseConfig(toHfConfig(c)).vocabSize); // 8
 * ```
 */
export function toHfConfig(config: NeoxConfig): Record<string, unknown> {
  return {
    architectures: ["GPTNeoXForCausalLM"],
    model_type: "gpt_neox",
    hidden_act: "gelu",
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    intermediate_size: config.intermediateSize,
    rotary_pct: config.rotaryPct,
    rotary_emb_base: config.rotaryBase,
    layer_norm_eps: config.layerNormEps,
    use_parallel_residual: config.parallelResidual,
    max_position_embeddings: config.maxPositions,
    tie_word_embeddings: config.tiedEmbeddings,
    attention_bias: config.attentionBias,
    torch_dtype: "float32",
  };
}
