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

function fail(field: string, why: string): never {
  throw new RangeError(`Cannot use this GPT-NeoX config: ${field} ${why}`);
}

function positiveInt(raw: Json, field: string, fallback?: number): number {
  const v = raw[field] ?? fallback;
  if (v === undefined) fail(field, "is missing");
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) fail(field, `must be a positive integer, got ${v}`);
  return v;
}

function number(raw: Json, field: string, fallback: number, ok: (v: number) => boolean, what: string): number {
  const v = raw[field] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) fail(field, `must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

function bool(raw: Json, field: string, fallback: boolean): boolean {
  const v = raw[field] ?? fallback;
  if (typeof v !== "boolean") fail(field, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Read rotary settings from either the classic fields or the newer `rope_parameters` / `rope_theta` ones. */
function rotary(raw: Json): { pct: number; base: number } {
  const params = (raw.rope_parameters ?? null) as Json | null;
  for (const [field, value] of [["rope_scaling", raw.rope_scaling], ["rope_parameters", params]] as const) {
    if (value === null || value === undefined) continue;
    if (typeof value !== "object") fail(field, `must be an object or null, got ${JSON.stringify(value)}`);
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
      fail(a, `(${merged[a]}) disagrees with ${b} (${merged[b]})`);
    }
    return merged[a] !== undefined ? a : merged[b] !== undefined ? b : (merged[a] = fallback, a);
  };
  const pctField = pick("rotary_pct", "partial_rotary_factor", 0.25);
  const baseField = pick("rotary_emb_base", "rope_theta", 10000);
  return {
    pct: number(merged, pctField, 0.25, (v) => v >= 0 && v <= 1, "between 0 and 1"),
    base: number(merged, baseField, 10000, (v) => v > 0, "a positive number"),
  };
}

/**
 * Validate a parsed `config.json` of a GPT-NeoX model.
 *
 * Every field that changes the forward pass is checked; values this
 * implementation does not compute (another activation, scaled rotary,
 * odd rotary widths) are refused by name rather than silently ignored.
 *
 * @param raw The parsed JSON object.
 * @returns The validated configuration.
 * @throws {RangeError} Naming the field that is missing or unsupported.
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
export function parseConfig(raw: unknown): NeoxConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new TypeError("Cannot use this GPT-NeoX config: it is not a JSON object");
  }
  const c = raw as Json;
  if (c.model_type !== "gpt_neox") fail("model_type", `is ${JSON.stringify(c.model_type)}, expected "gpt_neox"`);
  const act = c.hidden_act ?? "gelu";
  if (act !== "gelu") fail("hidden_act", `is ${JSON.stringify(act)}; only "gelu" (exact erf) is supported`);
  const hiddenSize = positiveInt(c, "hidden_size");
  const numHeads = positiveInt(c, "num_attention_heads");
  if (hiddenSize % numHeads !== 0) {
    fail("num_attention_heads", `(${numHeads}) does not divide hidden_size (${hiddenSize})`);
  }
  const headSize = hiddenSize / numHeads;
  const { pct, base } = rotary(c);
  const rotaryDims = Math.floor(headSize * pct);
  if (rotaryDims % 2 !== 0) {
    fail("rotary_pct", `(${pct}) gives an odd number of rotary dimensions (${rotaryDims} of head size ${headSize})`);
  }
  return {
    vocabSize: positiveInt(c, "vocab_size"),
    hiddenSize,
    numLayers: positiveInt(c, "num_hidden_layers"),
    numHeads,
    intermediateSize: positiveInt(c, "intermediate_size"),
    rotaryPct: pct,
    rotaryBase: base,
    layerNormEps: number(c, "layer_norm_eps", 1e-5, (v) => v >= 0, "a number ≥ 0"),
    parallelResidual: bool(c, "use_parallel_residual", true),
    maxPositions: positiveInt(c, "max_position_embeddings", 2048),
    tiedEmbeddings: bool(c, "tie_word_embeddings", false),
    attentionBias: bool(c, "attention_bias", true),
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
