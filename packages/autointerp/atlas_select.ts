/**
 * The CPU side of the atlas: which fragments each feature shows (top ones and interval examples, from
 * per-fragment statistics), cutting a fragment around its peak, and the top tokens of a set of fragments.
 *
 * @module
 */
import { hashString, seededRandom, shuffleInPlace } from "@saelab/core";
import { HIST_BINS } from "@saelab/kernels";
import type { Fragment, TopToken } from "@saelab/runs";
import type { FragmentStats } from "./select.ts";

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
