/**
 * The atlas: what a feature page shows for every feature of a dictionary, sampled for scoring or not, from
 * one pass over the held-out fragments on the GPU (then a second over the chosen fragments, in slices of
 * features). Per feature: density, maximum, mean activation where it fires, the activation histogram over
 * all held-out tokens, the top fragments by peak, examples from equal-width intervals of `[0, max]`
 * (SAEDashboard's "activation quantiles"; here a fragment belongs to the interval of its peak, the top
 * fragments are not repeated, and an interval's share counts all held-out tokens from the histogram), each
 * fragment cut around its peak token, and the tokens with the largest activations among those fragments.
 *
 * @module
 */
import { hashString, seededRandom, shuffleInPlace } from "@saelab/core";
import type { Gpu } from "@saelab/gpu";
import { HIST_BINS } from "@saelab/kernels";
import type { LinearDictionary } from "@saelab/baselines";
import type { AtlasEntry, FeatureSummary, Fragment, TopToken } from "@saelab/runs";
import { groupDictionaries } from "./_groups.ts";
import { mapStats, passOne, type PassOptions, passTwo, sliceColumns } from "./_passes.ts";
import type { FragmentSet } from "./fragments.ts";
import { type FragmentStats, selectFeatures } from "./select.ts";

/** Counts of the atlas. */
export interface AtlasCounts {
  /** Top fragments per feature. Default 10. */
  top?: number;
  /** Intervals of `[0, max]`; a divisor of 32 (the histogram's bins). Default 4. */
  intervals?: number;
  /** Examples per interval. Default 3. */
  perInterval?: number;
  /** Seed of the interval examples (mixed with the dictionary name). Default 0. */
  seed?: number;
}

/** One feature's chosen fragments (fragment numbers). */
export interface AtlasChoice {
  /** Feature index. */
  index: number;
  /** Fragments where it fires. */
  firing: number;
  /** Top fragments, largest peak first. */
  top: number[];
  /** Per interval, highest first: its bounds and the examples (fragment numbers). */
  intervals: { low: number; high: number; fragments: number[] }[];
}

/**
 * Choose, on the CPU, every feature's top fragments and interval examples from per-fragment statistics.
 * Interval `q` of `n` holds the fragments whose peak `p` has `min(n − 1, ⌊n · p / max⌋) = q` (the histogram's
 * binning), among those not in the top list; examples are a seeded sample.
 *
 * @param stats Per-fragment statistics of one dictionary.
 * @param dict Dictionary name (mixed into the seed).
 * @param options Counts and seed.
 * @returns One choice per feature, by index.
 * @throws {RangeError} When `intervals` does not divide 32.
 * @example
 * ```ts
 * import { chooseAtlas } from "@saelab/autointerp";
 * // 3 fragments × 1 feature with peaks 4, 1, 0
 * const [c] = chooseAtlas({ fragments: 3, features: 1, length: 2, max: new Float32Array([4, 1, 0]),
 *   nnz: new Float32Array([1, 1, 0]), sum: new Float32Array([4, 1, 0]) }, "d", { top: 1, intervals: 2 });
 * if (c.top.join() !== "0" || c.intervals[1].fragments.join() !== "1" || c.firing !== 2) throw new Error();
 * ```
 */
export function chooseAtlas(stats: FragmentStats, dict: string, options: AtlasCounts = {}): AtlasChoice[] {
  const { fragments: nf, features: nF } = stats;
  const nTop = options.top ?? 10, n = options.intervals ?? 4, per = options.perInterval ?? 3;
  if (!Number.isInteger(n) || n < 1 || HIST_BINS % n !== 0) {
    throw new RangeError(`Cannot build the atlas: ${n} intervals do not divide the histogram's ${HIST_BINS} bins`);
  }
  const random = seededRandom(hashString(dict, options.seed ?? 0));
  const out: AtlasChoice[] = [];
  for (let j = 0; j < nF; j++) {
    const firing: number[] = [];
    let max = 0;
    for (let f = 0; f < nf; f++) {
      if (stats.nnz[f * nF + j] > 0) {
        firing.push(f);
        max = Math.max(max, stats.max[f * nF + j]);
      }
    }
    firing.sort((a, b) => stats.max[b * nF + j] - stats.max[a * nF + j] || a - b);
    const top = firing.slice(0, nTop);
    const bands: number[][] = Array.from({ length: n }, () => []);
    for (const f of firing.slice(nTop)) {
      const p = stats.max[f * nF + j];
      if (p <= 0 || max <= 0) continue;
      bands[Math.min(n - 1, Math.floor((n * p) / max))].push(f);
    }
    const intervals = [];
    for (let q = n - 1; q >= 0; q--) {
      const fragments = shuffleInPlace(bands[q], random).slice(0, per);
      fragments.sort((a, b) => stats.max[b * nF + j] - stats.max[a * nF + j] || a - b);
      intervals.push({ low: (max * q) / n, high: (max * (q + 1)) / n, fragments });
    }
    out.push({ index: j, firing: firing.length, top, intervals });
  }
  return out;
}

/**
 * Cut a fragment around its peak token (the first largest activation): `before` tokens before it and `after`
 * after it, fewer at the fragment's ends; `peak` is its position in the cut and `start` moves with the cut.
 *
 * @param fragment Tokens and activations.
 * @param options Tokens kept before and after the peak (default 12 each).
 * @returns The cut fragment with `peak` set.
 * @example
 * ```ts
 * import { cutAroundPeak } from "@saelab/autointerp";
 * const c = cutAroundPeak({ tokens: ["a", "b", "c", "d"], acts: [0, 0, 3, 1], start: 10 }, { before: 1, after: 0 });
 * if (c.tokens.join("") !== "bc" || c.peak !== 1 || c.start !== 11) throw new Error();
 * ```
 */
export function cutAroundPeak(fragment: Fragment, options: { before?: number; after?: number } = {}): Fragment {
  let peak = 0;
  fragment.acts.forEach((a, t) => {
    if (a > fragment.acts[peak]) peak = t;
  });
  const from = Math.max(0, peak - (options.before ?? 12));
  const to = Math.min(fragment.tokens.length, peak + (options.after ?? 12) + 1);
  return {
    ...fragment,
    tokens: fragment.tokens.slice(from, to),
    acts: fragment.acts.slice(from, to),
    ...(fragment.start !== undefined ? { start: fragment.start + from } : {}),
    peak: peak - from,
  };
}

/**
 * The tokens with the largest activations among fragments, each once with its largest activation and the
 * number of positions where it is non-zero.
 *
 * @param fragments Fragments (each position counted once).
 * @param k How many (default 8).
 * @returns Largest activation first (ties: more positions first, then the token).
 * @example
 * ```ts
 * import { topTokens } from "@saelab/autointerp";
 * const t = topTokens([{ tokens: ["a", "b", "a"], acts: [1, 0, 2] }]);
 * if (t.length !== 1 || t[0].token !== "a" || t[0].max !== 2 || t[0].count !== 2) throw new Error();
 * ```
 */
export function topTokens(fragments: readonly Fragment[], k = 8): TopToken[] {
  const by = new Map<string, TopToken>();
  for (const fr of fragments) {
    fr.tokens.forEach((token, t) => {
      const a = fr.acts[t];
      if (!(a > 0)) return;
      const e = by.get(token);
      if (e) {
        e.max = Math.max(e.max, a);
        e.count++;
      } else by.set(token, { token, max: a, count: 1 });
    });
  }
  return [...by.values()]
    .sort((a, b) => b.max - a.max || b.count - a.count || (a.token < b.token ? -1 : a.token > b.token ? 1 : 0))
    .slice(0, k);
}

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
              fragments: fragments.map((fr) => cutAroundPeak(fr, options.window)),
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
            top: top.map((fr) => cutAroundPeak(fr, options.window)),
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
  return dicts.map((d) => results.get(d.name)!);
}
