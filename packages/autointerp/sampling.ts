/**
 * Feature activations of many dictionaries over the held-out fragments, on
 * the GPU, in two passes that read back only small results:
 *
 * 1. Dictionaries without top-k are concatenated into one encoder (one large matmul per block of
 *    fragments); each top-k dictionary is encoded alone. A reduction writes per (fragment, feature)
 *    the maximum, the non-zero count and the sum. The CPU then summarises every feature and picks
 *    the features and fragments to score ({@linkcode selectFeatures}).
 * 2. Only the chosen features are encoded again (a sub-encoder of their rows, or the full top-k
 *    encode and a column gather); a reduction adds their activation histograms, and a gather copies
 *    the per-token activations of exactly the chosen (fragment, feature) pairs.
 *
 * @module
 */
import type { LinearDictionary } from "@saelab/baselines";
import type { Gpu, Tensor } from "@saelab/gpu";
import type { DictKind, FeatureSummary, Fragment } from "@saelab/runs";
import { featureHist, fragmentStats, gatherCols, gatherPairs, HIST_BINS } from "@saelab/kernels";
import { encode, encoderOf, type Group, groupDictionaries } from "./_groups.ts";
import type { FragmentSet } from "./fragments.ts";
import { type FeatureChoice, selectFeatures, type SelectOptions } from "./select.ts";
import type { FeatureSample } from "./types.ts";

/** Options of {@linkcode sampleDictionaries}. */
export interface SampleOptions extends Omit<SelectOptions, "only"> {
  /** Token id → decoded token text. */
  decode: (token: number) => string;
  /** Document number → document id (for the fragments' `doc`). */
  documents?: readonly string[];
  /** Features to score per dictionary instead of a sample. */
  only?: Readonly<Record<string, readonly number[]>>;
  /** Most activation values held on the GPU per block. Default 2²⁴. */
  blockValues?: number;
  /** Stops between blocks with `signal.reason`. */
  signal?: AbortSignal;
  /** Called after each block. */
  onProgress?: (event: { label: string; done: number; total: number }) => void;
}

/** One dictionary's feature summaries and sampled features. */
export interface DictSamples {
  /** Dictionary name. */
  dict: string;
  /** Its method label. */
  method: string;
  /** SAE or baseline. */
  kind: DictKind;
  /** Held-out tokens the statistics cover. */
  tokens: number;
  /** Summary of every feature. */
  summaries: FeatureSummary[];
  /** Features eligible for scoring (active in enough fragments). */
  eligible: number;
  /** The sampled features with their fragments, by index. */
  samples: FeatureSample[];
}

/**
 * Summarise every feature of every dictionary on the fragments and sample features to score.
 *
 * @param gpu The GPU context.
 * @param dicts Dictionaries over the fragments' activation width.
 * @param options The fragments, token decoding, selection counts, seed, progress.
 * @returns One entry per dictionary, in the given order.
 * @throws {RangeError} When a dictionary's width differs from the fragments'.
 * @example
 * ```ts ignore
 * import { buildFragments, sampleDictionaries } from "@saelab/autointerp";
 * const set = buildFragments(heldOutRows, { length: 64, maxFragments: 1024 });
 * const out = await sampleDictionaries(gpu, dicts, { set, decode: (id) => tokenizer.decode([id]) });
 * ```
 */
export async function sampleDictionaries(
  gpu: Gpu,
  dicts: readonly LinearDictionary[],
  options: SampleOptions & { set: FragmentSet },
): Promise<DictSamples[]> {
  const { set } = options;
  for (const d of dicts) {
    if (d.dIn !== set.d) {
      throw new RangeError(`Cannot sample ${d.name}: it reads width ${d.dIn}, the fragments have ${set.d}`);
    }
  }
  // per-fragment statistics of a group take 3 · fragments · width floats: keep each tensor under 2²⁴ values
  const groups = groupDictionaries(dicts, Math.max(1, Math.floor((1 << 24) / Math.max(1, set.count))));
  const results = new Map<string, DictSamples>();
  const decoded = new Map<number, string>();
  const text = (id: number) => {
    let t = decoded.get(id);
    if (t === undefined) decoded.set(id, t = options.decode(id));
    return t;
  };
  for (const group of groups) {
    const stats = await passOne(gpu, group, options);
    const choices = group.dicts.map((d, g) => {
      const o = group.offsets[g];
      const cols = (arr: Float32Array) => sliceColumns(arr, set.count, group.width, o, d.dDict);
      const sel = selectFeatures(
        { fragments: set.count, features: d.dDict, length: set.length, ...mapStats(stats, cols) },
        d.name,
        { ...options, only: options.only?.[d.name] },
      );
      return sel;
    });
    const acts = await passTwo(gpu, group, choices.map((c) => c.chosen), options, choices);
    group.dicts.forEach((d, g) => {
      const sel = choices[g];
      const dirs = d.directions(); // [dDict, dIn] unit rows
      const samples = sel.chosen.map((c, s): FeatureSample => {
        const summary = sel.summaries[c.index];
        const frag = (f: number, values: ArrayLike<number> | null): Fragment => {
          const ids = set.token.subarray(f * set.length, (f + 1) * set.length);
          return {
            tokens: Array.from(ids, text),
            acts: values ? Array.from(values) : new Array(set.length).fill(0),
            doc: options.documents?.[set.doc[f]] ?? String(set.doc[f]),
            start: set.start[f],
          };
        };
        const pick = acts.pairs[g][s];
        return {
          dict: d.name,
          index: c.index,
          density: summary.density,
          maxActivation: summary.maxActivation,
          meanActivation: summary.meanActivation ?? 0,
          top: c.top.map((f, r) => frag(f, acts.values(pick.top[r]))),
          random: c.random.map((f, r) => frag(f, acts.values(pick.random[r]))),
          negatives: c.negatives.map((f) => frag(f, null)),
          histogram: {
            edges: Array.from({ length: HIST_BINS + 1 }, (_, b) => (summary.maxActivation * b) / HIST_BINS),
            counts: Array.from(acts.hist[g][s]),
            zeros: Math.round(set.count * set.length * (1 - summary.density)),
          },
          neighbours: neighbours(dirs, d.dIn, c.index),
        };
      });
      results.set(d.name, {
        dict: d.name,
        method: d.kind,
        kind: d.origin,
        tokens: set.count * set.length,
        summaries: sel.summaries,
        eligible: sel.eligible,
        samples,
      });
    });
  }
  return dicts.map((d) => results.get(d.name)!);
}

async function passOne(gpu: Gpu, group: Group, options: SampleOptions & { set: FragmentSet }) {
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

/** The `count` features whose unit decoder rows have the largest cosine with feature `j`'s. */
function neighbours(dirs: Float32Array, d: number, j: number, count = 5): { index: number; cosine: number }[] {
  const n = dirs.length / d;
  const best: { index: number; cosine: number }[] = [];
  for (let i = 0; i < n; i++) {
    if (i === j) continue;
    let dot = 0;
    for (let t = 0; t < d; t++) dot += dirs[i * d + t] * dirs[j * d + t];
    if (best.length < count || dot > best[best.length - 1].cosine) {
      best.push({ index: i, cosine: dot });
      best.sort((a, b) => b.cosine - a.cosine || a.index - b.index);
      if (best.length > count) best.pop();
    }
  }
  return best.map((b) => ({ index: b.index, cosine: Math.max(-1, Math.min(1, Math.round(b.cosine * 1e4) / 1e4)) }));
}

function sliceColumns(arr: Float32Array, rows: number, width: number, offset: number, cols: number): Float32Array {
  if (offset === 0 && cols === width) return arr.subarray(0, rows * width);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) out.set(arr.subarray(r * width + offset, r * width + offset + cols), r * cols);
  return out;
}

function mapStats(
  s: { max: Float32Array; nnz: Float32Array; sum: Float32Array },
  f: (a: Float32Array) => Float32Array,
) {
  return { max: f(s.max), nnz: f(s.nnz), sum: f(s.sum) };
}

interface PairSlots {
  top: number[];
  random: number[];
}

async function passTwo(
  gpu: Gpu,
  group: Group,
  chosen: FeatureChoice[][],
  options: SampleOptions & { set: FragmentSet },
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
