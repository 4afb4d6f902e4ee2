/**
 * A float64 CPU forward pass of Hugging Face's `GPTNeoXForCausalLM`, written
 * for clarity rather than speed. Tests check the GPU model against it.
 *
 * Semantics: fused QKV laid out per head as `[q | k | v]`, rotate-half rotary
 * on the first `rotaryDims` dimensions of q and k with
 * `inv_freq_i = base^(−2i / rotaryDims)`, scores × `headSize^−0.5`, causal
 * softmax, exact-erf GELU, parallel or sequential residual, final LayerNorm
 * and an untied (or tied) unembedding. LayerNorm and GELU are the float64
 * references of `@saelab/kernels` (CPU code, checked there against tabulated values);
 * nothing here runs on the GPU.
 *
 * @module
 */
import { geluRef, layerNormRef } from "@saelab/kernels";
import type { NeoxConfig } from "./config.ts";

/** Weights by Hugging Face name. */
export type WeightLookup = (name: string) => ArrayLike<number>;

/** The output of {@linkcode referenceForward}. */
export interface ReferenceOutput {
  /** Every hook point by TransformerLens name, each row-major `[B, T, width]`. */
  activations: Map<string, Float64Array>;
  /** `[B, T, V]`, absent when `stopAtLayer` is set. */
  logits?: Float64Array;
  /** `[B, T, D]` residual stream where the pass stopped. */
  residual: Float64Array;
}

/** `x [rows, in] · Wᵀ + b` with `W [out, in]`. */
function linear(x: Float64Array, rows: number, w: ArrayLike<number>, b: ArrayLike<number> | null, out: number) {
  const inner = x.length / rows;
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inner; i++) s += x[r * inner + i] * w[o * inner + i];
      y[r * out + o] = s;
    }
  }
  return y;
}

/** Rotate-half rotary on the first `dims` entries of `v` (in place) at position `pos`. */
function rotate(v: Float64Array, offset: number, dims: number, pos: number, base: number) {
  const half = dims / 2;
  for (let i = 0; i < half; i++) {
    const theta = pos * Math.pow(base, (-2 * i) / dims);
    const c = Math.cos(theta), s = Math.sin(theta);
    const a = v[offset + i], b = v[offset + i + half];
    v[offset + i] = a * c - b * s;
    v[offset + i + half] = b * c + a * s;
  }
}

/** Causal multi-head self-attention of one sequence; `x [T, D]` is the LayerNorm output. */
function attention(config: NeoxConfig, get: WeightLookup, layer: number, x: Float64Array, t: number) {
  const { hiddenSize: d, numHeads: heads, headSize: hs, rotaryDims } = config;
  const p = `gpt_neox.layers.${layer}.attention.`;
  const bias = (name: string) => config.attentionBias ? get(p + name) : null;
  const qkv = linear(x, t, get(p + "query_key_value.weight"), bias("query_key_value.bias"), 3 * d); // [T, H, 3·hs]
  for (let pos = 0; pos < t; pos++) {
    for (let h = 0; h < heads; h++) {
      const o = pos * 3 * d + h * 3 * hs;
      rotate(qkv, o, rotaryDims, pos, config.rotaryBase); // q
      rotate(qkv, o + hs, rotaryDims, pos, config.rotaryBase); // k
    }
  }
  const z = new Float64Array(t * d); // [T, H·hs]
  const scale = 1 / Math.sqrt(hs);
  const scores = new Float64Array(t);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < t; i++) {
      const q = i * 3 * d + h * 3 * hs;
      let max = -Infinity;
      for (let j = 0; j <= i; j++) {
        const k = j * 3 * d + h * 3 * hs + hs;
        let s = 0;
        for (let e = 0; e < hs; e++) s += qkv[q + e] * qkv[k + e];
        scores[j] = s * scale;
        max = Math.max(max, scores[j]);
      }
      let sum = 0;
      for (let j = 0; j <= i; j++) sum += scores[j] = Math.exp(scores[j] - max);
      for (let j = 0; j <= i; j++) {
        const v = j * 3 * d + h * 3 * hs + 2 * hs;
        const pj = scores[j] / sum;
        for (let e = 0; e < hs; e++) z[i * d + h * hs + e] += pj * qkv[v + e];
      }
    }
  }
  return linear(z, t, get(p + "dense.weight"), bias("dense.bias"), d);
}

function mlp(config: NeoxConfig, get: WeightLookup, layer: number, x: Float64Array, t: number, hook: Recorder) {
  const p = `gpt_neox.layers.${layer}.mlp.`;
  const hidden = linear(x, t, get(p + "dense_h_to_4h.weight"), get(p + "dense_h_to_4h.bias"), config.intermediateSize);
  hidden.set(geluRef(hidden));
  hook(`blocks.${layer}.mlp.hook_post`, hidden);
  const out = linear(hidden, t, get(p + "dense_4h_to_h.weight"), get(p + "dense_4h_to_h.bias"), config.hiddenSize);
  return out;
}

/** Records (and may edit in place) one hook point's activation of the current sequence. */
type Recorder = (name: string, v: Float64Array) => void;

function add(...xs: Float64Array[]): Float64Array {
  const y = new Float64Array(xs[0].length);
  for (const x of xs) for (let i = 0; i < y.length; i++) y[i] += x[i];
  return y;
}

/**
 * Run the forward pass on the CPU in float64.
 *
 * @param config The model configuration.
 * @param get Weight lookup by Hugging Face name.
 * @param ids Token ids `[B][T]`.
 * @param options `stopAtLayer`: run only blocks `0 … stopAtLayer−1` and return their residual;
 *   `edit`: change a hook point's activation `[T, width]` of one sequence in place before the rest of the pass
 *   reads it (steering, patching); the recorded activation is the edited one.
 * @returns Every hook point's activation, the logits and the last residual.
 * @example
 * ```ts
 * import { parseConfig, randomWeights } from "@saelab/neox";
 * import { referenceForward, type ReferenceOutput, type WeightLookup } from "./reference.ts";
 * const c = parseConfig({ model_type: "gpt_neox", vocab_size: 8, hidden_size: 16, num_hidden_layers: 1,
 *   num_attention_heads: 2, intermediate_size: 32 });
 * const w = randomWeights(c);
 * const get: WeightLookup = (name) => w[name];
 * const out: ReferenceOutput = referenceForward(c, get, [[1, 2, 3]]);
 * console.log(out.logits!.length, out.activations.get("blocks.0.mlp.hook_post")!.length); // 24 96
 * ```
 */
export function referenceForward(
  config: NeoxConfig,
  get: WeightLookup,
  ids: readonly (readonly number[])[],
  options: { stopAtLayer?: number; edit?: (name: string, act: Float64Array) => void } = {},
): ReferenceOutput {
  const { hiddenSize: d, vocabSize: vocab, layerNormEps: eps } = config;
  const stop = options.stopAtLayer ?? config.numLayers;
  const b = ids.length, t = ids[0]?.length ?? 0;
  const acts = new Map<string, Float64Array>();
  const rows: Float64Array[][] = []; // per sequence, per hook name order
  const seqOut: Float64Array[] = [];
  const names: string[] = [];
  const embed = get("gpt_neox.embed_in.weight");
  for (let s = 0; s < b; s++) {
    const record: Float64Array[] = [];
    const hook: Recorder = (name, v) => {
      options.edit?.(name, v);
      if (s === 0) names.push(name);
      record.push(v);
    };
    let x: Float64Array = new Float64Array(t * d);
    for (let i = 0; i < t; i++) for (let e = 0; e < d; e++) x[i * d + e] = embed[ids[s][i] * d + e];
    for (let l = 0; l < stop; l++) {
      const p = `gpt_neox.layers.${l}.`;
      hook(`blocks.${l}.hook_resid_pre`, x);
      const ln1 = layerNormRef(x, d, {
        weight: get(p + "input_layernorm.weight"),
        bias: get(p + "input_layernorm.bias"),
        eps,
      });
      const attn = attention(config, get, l, ln1, t);
      hook(`blocks.${l}.hook_attn_out`, attn);
      const ln2w = get(p + "post_attention_layernorm.weight"), ln2b = get(p + "post_attention_layernorm.bias");
      if (config.parallelResidual) {
        const out = mlp(config, get, l, layerNormRef(x, d, { weight: ln2w, bias: ln2b, eps }), t, hook);
        hook(`blocks.${l}.hook_mlp_out`, out);
        x = add(x, attn, out);
      } else {
        const mid = add(x, attn);
        hook(`blocks.${l}.hook_resid_mid`, mid);
        const out = mlp(config, get, l, layerNormRef(mid, d, { weight: ln2w, bias: ln2b, eps }), t, hook);
        hook(`blocks.${l}.hook_mlp_out`, out);
        x = add(mid, out);
      }
      hook(`blocks.${l}.hook_resid_post`, x);
    }
    seqOut.push(x);
    if (stop === config.numLayers) {
      const normed = layerNormRef(x, d, {
        weight: get("gpt_neox.final_layer_norm.weight"),
        bias: get("gpt_neox.final_layer_norm.bias"),
        eps,
      });
      hook("ln_final.hook_normalized", normed);
      const unembed = get(config.tiedEmbeddings ? "gpt_neox.embed_in.weight" : "embed_out.weight");
      hook("logits", linear(normed, t, unembed, null, vocab));
    }
    rows.push(record);
  }
  names.forEach((name, i) => acts.set(name, concat(rows.map((r) => r[i]))));
  const logits = acts.get("logits");
  acts.delete("logits");
  return { activations: acts, logits, residual: concat(seqOut) };
}

function concat(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
