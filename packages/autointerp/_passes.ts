/**
 * The two GPU passes over the held-out fragments that sampling and the atlas share: pass one writes per
 * (fragment, feature) the maximum, the non-zero count and the sum; pass two encodes again and, for chosen
 * (fragment, feature) pairs, copies the per-token activations, and adds the chosen features' histograms.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import type { FeatureSummary } from "@saelab/runs";
import { featureHist, fragmentStats, gatherCols, gatherPairs, HIST_BINS } from "@saelab/kernels";
import { encode, encoderOf, type Group } from "./_groups.ts";
import type { FragmentSet } from "./fragments.ts";
import type { FeatureChoice } from "./select.ts";

/** What both passes read of the sampling options. */
export interface PassOptions {
  /** The fragments. */
  set: FragmentSet;
  /** Most activation values held on the GPU per block. Default 2²⁴. */
  blockValues?: number;
  /** Stops between blocks with `signal.reason`. */
  signal?: AbortSignal;
  /** Called after each block. */
  onProgress?: (event: { label: string; done: number; total: number }) => void;
}

/** Pass one over a group: per (fragment, column) max, non-zero count and sum, each `[fragments, width]`. */
export async function passOne(gpu: Gpu, group: Group, options: PassOptions) {
  const { set } = options;
  const { w, b, n } = encoderOf(group);
  const d = set.d, L = set.length;
  using wt = gpu.upload(w, [n, d], "autointerp.encoder");
  using bt = gpu.upload(b, [n], "autointerp.encoder_bias");
  const size = [Math.max(1, set.count), n];
  using fmax = gpu.zeros(size, "f32", "autointerp.frag_max"); // [fragments, n]
  using fnnz = gpu.zeros(size, "f32", "autointerp.frag_nnz");
  using fsum = gpu.zeros(size, "f32", "autointerp.frag_sum");
  const per = Math.max(1, Math.floor((options.blockValues ?? 1 << 24) / (L * n)));
  const label = `activations ${group.dicts.map((x) => x.name).join(", ")}`.slice(0, 80);
  for (let f0 = 0; f0 < set.count; f0 += per) {
    options.signal?.throwIfAborted();
    const frags = Math.min(per, set.count - f0);
    using x = gpu.upload(set.x.subarray(f0 * L * d, (f0 + frags) * L * d), [frags * L, d], "autointerp.x");
    using acts = encode(gpu, x, { w: wt, b: bt }, group, group.k); // [frags·L, n]
    fragmentStats(gpu, acts, { frags, cols: n, len: L, offset: f0, fmax, fnnz, fsum });
    gpu.flush();
    options.onProgress?.({ label, done: f0 + frags, total: set.count });
  }
  const [max, nnz, sum] = await Promise.all([fmax.read(), fnnz.read(), fsum.read()]);
  return { max, nnz, sum };
}

/** Columns `offset … offset + cols` of a `[rows, width]` array. */
export function sliceColumns(
  arr: Float32Array,
  rows: number,
  width: number,
  offset: number,
  cols: number,
): Float32Array {
  if (offset === 0 && cols === width) return arr.subarray(0, rows * width);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) out.set(arr.subarray(r * width + offset, r * width + offset + cols), r * cols);
  return out;
}

/** The three statistics arrays, each mapped by `f`. */
export function mapStats(
  s: { max: Float32Array; nnz: Float32Array; sum: Float32Array },
  f: (a: Float32Array) => Float32Array,
) {
  return { max: f(s.max), nnz: f(s.nnz), sum: f(s.sum) };
}

interface PairSlots {
  top: number[];
  random: number[];
}

/**
 * Pass two over a group: per-token activations of the chosen (fragment, feature) pairs (`values(slot)`) and the
 * chosen features' histograms (32 bins over `[0, max]`).
 */
export async function passTwo(
  gpu: Gpu,
  group: Group,
  chosen: FeatureChoice[][],
  options: PassOptions,
  selections: { summaries: FeatureSummary[] }[],
) {
  const { set } = options;
  const d = set.d, L = set.length;
  // selected columns of the group, in (dictionary, choice) order
  const cols: number[] = [], tops: number[] = [];
  chosen.forEach((list, g) =>
    list.forEach((c) => {
      cols.push(group.offsets[g] + c.index);
      tops.push(selections[g].summaries[c.index].maxActivation);
    })
  );
  const S = cols.length;
  // pair slots: (fragment, selected column) → row of the output
  const pairs: number[] = [];
  const slots: PairSlots[][] = [];
  let s = 0;
  chosen.forEach((list) => {
    slots.push(list.map((c) => {
      const add = (f: number) => {
        pairs.push(f, s, pairs.length / 3);
        return pairs.length / 3 - 1;
      };
      const out = { top: c.top.map(add), random: c.random.map(add) };
      s++;
      return out;
    }));
  });
  const P = pairs.length / 3;
  const empty = { pairs: slots, hist: chosen.map((l) => l.map(() => new Uint32Array(HIST_BINS))), values: () => null };
  if (S === 0) return empty;
  const fullTopK = group.k > 0;
  const enc = fullTopK ? encoderOf(group) : encoderOf(group, cols);
  using wt = gpu.upload(enc.w, [enc.n, d], "autointerp.sub_encoder");
  using bt = gpu.upload(enc.b, [enc.n], "autointerp.sub_encoder_bias");
  using colsT = gpu.upload(Uint32Array.from(cols), [S], "autointerp.cols");
  using topT = gpu.upload(Float32Array.from(tops), [S], "autointerp.tops");
  using hist = gpu.zeros([S, HIST_BINS], "u32", "autointerp.hist");
  using out = gpu.zeros([Math.max(1, P), L], "f32", "autointerp.pairs_out");
  const per = Math.max(1, Math.floor((options.blockValues ?? 1 << 24) / (L * enc.n)));
  for (let f0 = 0; f0 < set.count; f0 += per) {
    options.signal?.throwIfAborted();
    const frags = Math.min(per, set.count - f0);
    const rows = frags * L;
    using x = gpu.upload(set.x.subarray(f0 * L * d, (f0 + frags) * L * d), [rows, d], "autointerp.x");
    using acts = encode(gpu, x, { w: wt, b: bt }, group, group.k); // [rows, enc.n]
    let sel: Tensor<"f32"> = acts;
    if (fullTopK) {
      sel = gpu.empty([rows, S], "f32", "autointerp.selected");
      gatherCols(gpu, acts, { rows, width: enc.n, cols: colsT, selected: S, out: sel });
    }
    featureHist(gpu, sel, { rows, selected: S, top: topT, hist });
    const local: number[] = [];
    for (let p = 0; p < P; p++) {
      const f = pairs[3 * p];
      if (f >= f0 && f < f0 + frags) local.push(f - f0, pairs[3 * p + 1], pairs[3 * p + 2]);
    }
    if (local.length) {
      using pt = gpu.upload(Uint32Array.from(local), [local.length], "autointerp.pairs");
      gatherPairs(gpu, sel, { pairs: pt, count: local.length / 3, len: L, width: S, out });
    }
    if (sel !== acts) sel.dispose();
    gpu.flush();
  }
  const [h, v] = await Promise.all([hist.read(), out.read()]);
  let at = 0;
  const histOf = chosen.map((l) => l.map(() => h.slice(HIST_BINS * at, HIST_BINS * ++at)));
  return { pairs: slots, hist: histOf, values: (slot: number) => v.subarray(slot * L, (slot + 1) * L) };
}
