/**
 * The atlas: what a feature page shows for every feature of a dictionary, sampled for scoring or not, from
 * one pass over the held-out fragments on the GPU (then a second over the chosen fragments, in slices of
 * features). Per feature: density, maximum, mean activation where it fires, the activation histogram over
 * all held-out tokens, the top fragments by peak, examples from equal-width intervals of `[0, max]`
 * (SAEDashboard's "activation quantiles"; here a fragment belongs to the interval of its peak, the top
 * fragments are not repeated, and an interval's share counts all held-out tokens from the histogram), each
 * fragment cut around its peak token, the tokens with the largest activations among those fragments, and (given
 * the model's read-out) the decoder direction's logit effects ({@linkcode logitEffectsGpu}).
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import { HIST_BINS } from "@saelab/kernels";
import type { LinearDictionary } from "@saelab/baselines";
import { type AtlasEntry, centreOnPeak, type FeatureSummary, type Fragment } from "@saelab/runs";
import { groupDictionaries } from "./_groups.ts";
import { mapStats, passOne, type PassOptions, passTwo, sliceColumns } from "./_passes.ts";
import type { FragmentSet } from "./fragments.ts";
import { selectFeatures } from "./select.ts";
import type { Unembedding } from "./logit_effects.ts";
import { logitEffectsGpu } from "./logit_effects_gpu.ts";
import { type AtlasCounts, chooseAtlas, topTokens } from "./atlas_select.ts";

/** Options of {@linkcode atlasDictionaries}. */
export interface AtlasOptions extends AtlasCounts, Omit<PassOptions, "set"> {
  /** The held-out fragments. */
  set: FragmentSet;
  /** Token id → decoded token text. */
  decode: (token: number) => string;
  /** Document number → document id (for the fragments' `doc`). */
  documents?: readonly string[];
  /** Tokens kept before and after each fragment's peak. Default 12 each. */
  window?: { before?: number; after?: number };
  /**
   * The model's final LayerNorm weight and unembedding: every feature of a dictionary of the model's width then
   * gets its logit effects (10 tokens of each sign, 32 bins). Absent: no logit effects.
   */
  unembed?: Unembedding;
}

/** One dictionary's atlas. */
export interface DictAtlas {
  /** Dictionary name. */
  dict: string;
  /** Held-out tokens the statistics cover. */
  tokens: number;
  /** Summary of every feature (as sampling computes it). */
  summaries: FeatureSummary[];
  /** One entry per feature, by index. */
  entries: AtlasEntry[];
}

/**
 * Build the atlas of every feature of every dictionary.
 *
 * @param gpu The GPU context.
 * @param dicts Dictionaries over the fragments' activation width.
 * @param options The fragments, token decoding, counts, seed, cut window, progress.
 * @returns One atlas per dictionary, in the given order.
 * @throws {RangeError} When a dictionary's width differs from the fragments'.
 * @example
 * ```ts ignore
 * const [atlas] = await atlasDictionaries(gpu, [dict], { set, decode: (id) => tokenizer.tokenText(id) });
 * ```
 */
export async function atlasDictionaries(
  gpu: Gpu,
  dicts: readonly LinearDictionary[],
  options: AtlasOptions,
): Promise<DictAtlas[]> {
  const { set } = options;
  for (const d of dicts) {
    if (d.dIn !== set.d) {
      throw new RangeError(`Cannot build the atlas of ${d.name}: it reads width ${d.dIn}, the fragments have ${set.d}`);
    }
  }
  const L = set.length;
  const cut = { before: options.window?.before ?? 12, after: options.window?.after ?? 12 };
  const groups = groupDictionaries(dicts, Math.max(1, Math.floor((1 << 24) / Math.max(1, set.count))));
  const decoded = new Map<number, string>();
  const text = (id: number) => {
    let t = decoded.get(id);
    if (t === undefined) decoded.set(id, t = options.decode(id));
    return t;
  };
  const results = new Map<string, DictAtlas>();
  const perFeature = (options.top ?? 10) + (options.intervals ?? 4) * (options.perInterval ?? 3);
  const slice = Math.max(1, Math.floor((options.blockValues ?? 1 << 24) / 4 / (perFeature * L)));
  for (const group of groups) {
    const stats = await passOne(gpu, group, options);
    const sel = group.dicts.map((d, g) => {
      const cols = (arr: Float32Array) => sliceColumns(arr, set.count, group.width, group.offsets[g], d.dDict);
      const fs = { fragments: set.count, features: d.dDict, length: L, ...mapStats(stats, cols) };
      return {
        summaries: selectFeatures(fs, d.name, { features: 0 }).summaries,
        choices: chooseAtlas(fs, d.name, options),
      };
    });
    const entries: AtlasEntry[][] = group.dicts.map(() => []);
    // pass two in slices of the group's columns, so the gathered fragments stay bounded
    for (let c0 = 0; c0 < group.width; c0 += slice) {
      const inSlice = group.dicts.map((_, g) =>
        sel[g].choices.filter((c) => {
          const col = group.offsets[g] + c.index;
          return col >= c0 && col < c0 + slice;
        }).map((c) => ({ index: c.index, top: c.top, random: c.intervals.flatMap((q) => q.fragments), negatives: [] }))
      );
      const acts = await passTwo(gpu, group, inSlice, options, sel);
      inSlice.forEach((list, g) =>
        list.forEach((c, s) => {
          const choice = sel[g].choices[c.index];
          const summary = sel[g].summaries[c.index];
          const pick = acts.pairs[g][s];
          const frag = (f: number, slot: number): Fragment => ({
            tokens: Array.from(set.token.subarray(f * L, (f + 1) * L), text),
            acts: Array.from(acts.values(slot) ?? new Float32Array(L)),
            doc: options.documents?.[set.doc[f]] ?? String(set.doc[f]),
            start: set.start[f],
          });
          const top = c.top.map((f, r) => frag(f, pick.top[r]));
          const examples = c.random.map((f, r) => frag(f, pick.random[r]));
          const counts = Array.from(acts.hist[g][s]);
          const active = counts.reduce((a, b) => a + b, 0);
          const bins = HIST_BINS / choice.intervals.length;
          let at = 0;
          const intervals = choice.intervals.map((q, k) => {
            const band = choice.intervals.length - 1 - k; // highest first
            let inBand = 0;
            for (let b = band * bins; b < (band + 1) * bins; b++) inBand += counts[b];
            const fragments = examples.slice(at, at += q.fragments.length);
            return {
              low: q.low,
              high: q.high,
              share: active ? inBand / active : 0,
              fragments: fragments.map((fr) => centreOnPeak(fr, cut)),
            };
          });
          entries[g].push({
            index: c.index,
            density: summary.density,
            maxActivation: summary.maxActivation,
            meanActivation: summary.meanActivation ?? 0,
            fragments: choice.firing,
            histogram: {
              edges: Array.from({ length: HIST_BINS + 1 }, (_, b) => (summary.maxActivation * b) / HIST_BINS),
              counts,
              zeros: Math.round(set.count * L * (1 - summary.density)),
            },
            top: top.map((fr) => centreOnPeak(fr, cut)),
            intervals,
            topTokens: topTokens([...top, ...examples]),
          });
        })
      );
      options.onProgress?.({
        label: `atlas ${group.dicts.map((x) => x.name).join(", ")}`.slice(0, 80),
        done: Math.min(group.width, c0 + slice),
        total: group.width,
      });
    }
    group.dicts.forEach((d, g) =>
      results.set(d.name, {
        dict: d.name,
        tokens: set.count * L,
        summaries: sel[g].summaries,
        entries: entries[g].sort((a, b) => a.index - b.index),
      })
    );
  }
  const atlases = dicts.map((d) => results.get(d.name)!);
  const { unembed } = options;
  if (unembed) {
    const wide = dicts.flatMap((d, i) => (d.dIn === unembed.d ? [i] : []));
    const effects = await logitEffectsGpu(gpu, wide.map((i) => dicts[i].decoder), { unembed, decode: text, k: 10 });
    wide.forEach((i, w) => atlases[i].entries.forEach((e) => e.logits = effects[w][e.index]));
  }
  return atlases;
}
