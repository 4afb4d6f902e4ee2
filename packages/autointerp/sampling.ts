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
import type { Gpu } from "@saelab/gpu";
import type { DictKind, FeatureSummary, Fragment } from "@saelab/runs";
import { HIST_BINS } from "@saelab/kernels";
import { groupDictionaries } from "./_groups.ts";
import { mapStats, passOne, passTwo, sliceColumns } from "./_passes.ts";
import type { FragmentSet } from "./fragments.ts";
import { selectFeatures, type SelectOptions } from "./select.ts";
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
