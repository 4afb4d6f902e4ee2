/**
 * Direct logit effects of decoder directions: a direction `d` written into the residual stream moves the
 * logits, to first order through the final LayerNorm, by `W_U · (γ ⊙ d)` (the LayerNorm's centring and
 * variance normalisation are left out, as usual for this direct-effect read-out).
 *
 * @module
 */
import type { Histogram, LogitEffects } from "@saelab/runs";
import { openCheckpoint } from "@saelab/safetensors";

/** The model's read-out: final LayerNorm weight and unembedding. */
export interface Unembedding {
  /** Vocabulary size. */
  vocab: number;
  /** Model width. */
  d: number;
  /** Unembedding rows `W_U [vocab, d]`. */
  weight: Float32Array;
  /** Final LayerNorm weight `γ [d]` (absent: all ones). */
  gamma?: Float32Array;
}

const RESIDUAL_HOOK = /(^|\.)hook_(resid_pre|resid_mid|resid_post|attn_out|mlp_out)$/;

/**
 * Whether a hook's activations live in (or are added straight to) the residual stream, so that a direction there
 * has a direct effect on the logits.
 *
 * @param hook Hook name, e.g. `blocks.3.hook_resid_post`.
 * @returns `true` for `hook_resid_pre/mid/post`, `hook_attn_out`, `hook_mlp_out`.
 * @example
 * ```ts
 * import { isResidualHook } from "@saelab/autointerp";
 * if (!isResidualHook("blocks.0.hook_resid_post") || isResidualHook("blocks.0.mlp.hook_post")) throw new Error();
 * ```
 */
export function isResidualHook(hook: string): boolean {
  return RESIDUAL_HOOK.test(hook);
}

/**
 * Read a GPT-NeoX model folder's final LayerNorm weight and unembedding (`embed_out.weight`, or
 * `gpt_neox.embed_in.weight` when the embeddings are tied) on the CPU.
 *
 * @param modelDir Folder with `model.safetensors` (or a sharded index).
 * @returns The unembedding.
 * @throws {TypeError} When the folder has no unembedding or the shapes disagree.
 * @example
 * ```ts ignore
 * import { loadUnembedding } from "@saelab/autointerp";
 * const u = await loadUnembedding("models/pythia-70m");
 * ```
 */
export async function loadUnembedding(modelDir: string): Promise<Unembedding> {
  using ckpt = await openCheckpoint(modelDir);
  const name = ckpt.has("embed_out.weight") ? "embed_out.weight" : "gpt_neox.embed_in.weight";
  if (!ckpt.has(name)) throw new TypeError(`Cannot read the unembedding of ${modelDir}: no embed_out.weight`);
  const shape = ckpt.info(name).shape;
  if (shape.length !== 2) {
    throw new TypeError(`Cannot read the unembedding of ${modelDir}: ${name} has shape [${shape.join(", ")}]`);
  }
  const [vocab, d] = shape;
  const weight = await ckpt.getFloat32(name); // [vocab, d]
  const gName = "gpt_neox.final_layer_norm.weight";
  const gamma = ckpt.has(gName) ? await ckpt.getFloat32(gName) : undefined; // [d]
  if (gamma && gamma.length !== d) {
    throw new TypeError(`Cannot read the unembedding of ${modelDir}: ${gName} has ${gamma.length} values, not ${d}`);
  }
  return { vocab, d, weight, ...(gamma ? { gamma } : {}) };
}

/**
 * The tokens whose logits a direction raises and lowers most: `W_U · (γ ⊙ d)`, the top `k` of each sign.
 *
 * @param direction Decoder row `d [d]`, in the hook's activation units.
 * @param unembed The read-out.
 * @param options `decode` (token id → text, default `⟨id⟩`), `k` (10), `bins` of the histogram (32).
 * @returns Positive effects largest first, negative ones most negative first (only values of that sign), and the
 *   histogram of the effect over the whole vocabulary.
 * @throws {RangeError} When the direction's width is not the model's.
 * @example
 * ```ts
 * import { logitEffects } from "@saelab/autointerp";
 * const u = { vocab: 3, d: 2, weight: new Float32Array([1, 0, 0, 1, -1, 0]) };
 * const e = logitEffects(new Float32Array([2, 0]), u, { k: 1, decode: (i) => "abc"[i] });
 * if (e.positive[0].token !== "a" || e.negative[0].token !== "c") throw new Error();
 * ```
 */
export function logitEffects(
  direction: Float32Array,
  unembed: Unembedding,
  options: { decode?: (id: number) => string; k?: number; bins?: number } = {},
): LogitEffects {
  const { vocab, d, weight, gamma } = unembed;
  if (direction.length !== d) {
    throw new RangeError(`Cannot compute logit effects: the direction has width ${direction.length}, the model ${d}`);
  }
  const k = options.k ?? 10;
  const decode = options.decode ?? ((id: number) => `⟨${id}⟩`);
  const g = new Float64Array(d); // [d]: γ ⊙ d
  for (let c = 0; c < d; c++) g[c] = direction[c] * (gamma ? gamma[c] : 1);
  const eff = new Float64Array(vocab); // [vocab]
  for (let t = 0; t < vocab; t++) {
    let s = 0;
    const row = t * d;
    for (let c = 0; c < d; c++) s += weight[row + c] * g[c];
    eff[t] = s;
  }
  const pick = (sign: 1 | -1) => {
    const ids: number[] = []; // the best k so far, best first (ties: lower id first)
    for (let t = 0; t < vocab; t++) {
      const v = sign * eff[t];
      if (!(v > 0) || (ids.length === k && v <= sign * eff[ids[k - 1]])) continue;
      let at = ids.length;
      while (at > 0 && v > sign * eff[ids[at - 1]]) at--;
      ids.splice(at, 0, t);
      if (ids.length > k) ids.pop();
    }
    return ids.map((t) => ({ token: decode(t), value: roundEffect(eff[t]) }));
  };
  return { positive: pick(1), negative: pick(-1), histogram: effectHistogram(eff, options.bins ?? 32) };
}

/**
 * An effect as the feature files store it (5 significant digits).
 *
 * @param v The effect.
 * @returns It rounded.
 * @example
 * ```ts ignore
 * roundEffect(1.234567); // 1.2346
 * ```
 */
export function roundEffect(v: number): number {
  return Number(v.toPrecision(5));
}

/**
 * The `bins + 1` edges of the effect histogram over `[lo, hi]` (a constant row: `[lo, lo + 1]`).
 *
 * @param lo Smallest effect.
 * @param hi Largest effect.
 * @param bins Bin count.
 * @returns The edges, rounded as the effects are.
 * @example
 * ```ts ignore
 * effectEdges(-1, 1, 2); // [-1, 0, 1]
 * ```
 */
export function effectEdges(lo: number, hi: number, bins: number): number[] {
  if (!(hi > lo)) hi = lo + 1;
  return Array.from({ length: bins + 1 }, (_, b) => roundEffect(lo + ((hi - lo) * b) / bins));
}

/** Equal-width histogram of the effects over `[min, max]` (the maximum falls in the last bin). */
function effectHistogram(eff: Float64Array, bins: number): Histogram {
  let lo = Infinity, hi = -Infinity;
  for (const v of eff) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!(hi > lo)) hi = lo + 1;
  const counts = new Array(bins).fill(0);
  for (const v of eff) counts[Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins))]++;
  return { edges: effectEdges(lo, hi, bins), counts };
}
