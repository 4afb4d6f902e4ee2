/**
 * Logit effects of every feature of some dictionaries on the GPU: the same definition as
 * {@linkcode logitEffects} (`W_U · (γ ⊙ d)` per decoder row `d`; the top `k` of each sign and a histogram over
 * the whole vocabulary), as one matmul of the decoder rows against the unembedding per slice of features and a
 * row-wise selection, so only the lists and histograms come back from the GPU.
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import { matmul, NO_ID, rowExtremes } from "@saelab/kernels";
import type { LogitEffects } from "@saelab/runs";
import { effectEdges, roundEffect, type Unembedding } from "./logit_effects.ts";

/** Options of {@linkcode logitEffectsGpu}. */
export interface LogitEffectsGpuOptions {
  /** Token id → text. Default `⟨id⟩`. */
  decode?: (id: number) => string;
  /** Tokens of each sign. Default 10. */
  k?: number;
  /** Histogram bins. Default 32. */
  bins?: number;
  /** Most effect values held on the GPU at once (features per slice × vocabulary). Default 2^25. */
  sliceValues?: number;
}

/**
 * The logit effects of every row of each decoder, as {@linkcode logitEffects} defines them (values in float32
 * rather than float64: top-k lists agree up to near-ties, histograms up to values on a bin edge).
 *
 * @param gpu The GPU context.
 * @param decoders Decoder rows `D [features, d]` of each dictionary, in the model's activation units.
 * @param options The read-out `unembed`, then as {@linkcode LogitEffectsGpuOptions}.
 * @returns Per dictionary, one entry per feature, in order.
 * @throws {RangeError} When a decoder's length is not a multiple of the model width.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { logitEffectsGpu } from "@saelab/autointerp";
 * const gpu = await createGpu();
 * const unembed = { vocab: 3, d: 2, weight: new Float32Array([1, 0, 0, 1, -1, 0]) };
 * const [[e]] = await logitEffectsGpu(gpu, [new Float32Array([2, 0])], { unembed, k: 1 });
 * console.log(e.positive[0].token, e.negative[0].token); // ⟨0⟩ ⟨2⟩
 * ```
 */
export async function logitEffectsGpu(
  gpu: Gpu,
  decoders: readonly Float32Array[],
  options: LogitEffectsGpuOptions & { unembed: Unembedding },
): Promise<LogitEffects[][]> {
  const { vocab, d, weight, gamma } = options.unembed;
  for (const dec of decoders) {
    if (dec.length % d !== 0) {
      throw new RangeError(`Cannot compute logit effects: a decoder of ${dec.length} values is not rows of width ${d}`);
    }
  }
  const k = Math.min(options.k ?? 10, vocab), bins = options.bins ?? 32;
  const decode = options.decode ?? ((id: number) => `⟨${id}⟩`);
  const slice = Math.max(1, Math.floor((options.sliceValues ?? 1 << 25) / vocab));
  using wU = gpu.upload(weight, [vocab, d]); // [vocab, d]
  const out: LogitEffects[][] = [];
  for (const dec of decoders) {
    const features = dec.length / d, effects: LogitEffects[] = [];
    for (let f0 = 0; f0 < features; f0 += slice) {
      const n = Math.min(slice, features - f0);
      const g = dec.slice(f0 * d, (f0 + n) * d); // [n, d]: γ ⊙ d per row
      if (gamma) { for (let i = 0; i < g.length; i++) g[i] *= gamma[i % d]; }
      using rows = gpu.upload(g, [n, d]);
      using eff = matmul(gpu, rows, wU, { transposeB: true }); // [n, vocab]
      const r = rowExtremes(gpu, eff, { k, bins });
      const [vals, ids, range, hist] = await Promise.all([r.vals.read(), r.ids.read(), r.range.read(), r.hist.read()]);
      for (const t of [r.vals, r.ids, r.range, r.hist]) t.dispose();
      for (let i = 0; i < n; i++) {
        const list = (s: number) => {
          const at = i * 2 * k + s, got = [];
          for (let j = 0; j < k && ids[at + j] !== NO_ID; j++) {
            got.push({ token: decode(ids[at + j]), value: roundEffect(vals[at + j]) });
          }
          return got;
        };
        effects.push({
          positive: list(0),
          negative: list(k),
          histogram: {
            edges: effectEdges(range[2 * i], range[2 * i + 1], bins),
            counts: Array.from(hist.subarray(i * bins, (i + 1) * bins)),
          },
        });
      }
    }
    out.push(effects);
  }
  return out;
}
