/**
 * Choosing, on the CPU, what to score from per-fragment statistics: which
 * features (a seeded sample of those active in enough fragments), and for
 * each its top fragments (largest maximum activation), random fragments
 * (seeded, among the other fragments where it fires) and negatives
 * (fragments where it never fires).
 *
 * @module
 */
import { hashString, seededRandom, shuffleInPlace } from "@saelab/core";
import type { FeatureSummary } from "@saelab/runs";

/** Per-fragment statistics of a dictionary's features: `[fragments, features]` each. */
export interface FragmentStats {
  /** Number of fragments. */
  fragments: number;
  /** Number of features (columns). */
  features: number;
  /** Tokens per fragment. */
  length: number;
  /** Maximum activation per (fragment, feature). */
  max: Float32Array;
  /** Non-zero tokens per (fragment, feature). */
  nnz: Float32Array;
  /** Sum of activations per (fragment, feature). */
  sum: Float32Array;
}

/** Counts and seed of the selection. */
export interface SelectOptions {
  /** Features sampled. Default 150. */
  features?: number;
  /** Top fragments per feature. Default 20. */
  top?: number;
  /** Random fragments per feature. Default 20. */
  random?: number;
  /** Negative fragments per feature. Default 10. */
  negatives?: number;
  /** A feature is eligible when it fires in at least this many fragments. Default 2. */
  minFragments?: number;
  /** Seed (mixed with the dictionary name). Default 0. */
  seed?: number;
  /** Score exactly these features instead of a sample (those not eligible are dropped). */
  only?: readonly number[];
}

/** The fragments chosen for one feature (fragment numbers). */
export interface FeatureChoice {
  /** Feature index. */
  index: number;
  /** Top fragments, largest maximum first. */
  top: number[];
  /** Random fragments. */
  random: number[];
  /** Fragments where the feature is zero throughout. */
  negatives: number[];
}

/** What {@linkcode selectFeatures} returns. */
export interface Selection {
  /** Summary of every feature. */
  summaries: FeatureSummary[];
  /** Features eligible for scoring. */
  eligible: number;
  /** The chosen features, by index. */
  chosen: FeatureChoice[];
}

/**
 * Summarise every feature and choose the features and fragments to score.
 *
 * @param stats Per-fragment statistics.
 * @param dict Dictionary name (mixed into the seed, so dictionaries get independent samples).
 * @param options Counts and seed.
 * @returns Summaries, eligible count and choices (sorted by feature index).
 * @example
 * ```ts
 * import { selectFeatures } from "@saelab/autointerp";
 * // 3 fragments × 2 features: feature 0 fires in fragments 0 and 2, feature 1 never
 * const s = selectFeatures({ fragments: 3, features: 2, length: 4,
 *   max: new Float32Array([1, 0, 0, 0, 3, 0]), nnz: new Float32Array([1, 0, 0, 0, 2, 0]),
 *   sum: new Float32Array([1, 0, 0, 0, 5, 0]) }, "d");
 * if (s.eligible !== 1 || s.chosen[0].top.join() !== "2,0" || s.chosen[0].negatives.join() !== "1") throw new Error();
 * ```
 */
export function selectFeatures(stats: FragmentStats, dict: string, options: SelectOptions = {}): Selection {
  const { fragments: nf, features: nF, length } = stats;
  const tokens = nf * length;
  const summaries: FeatureSummary[] = [];
  const active = new Int32Array(nF);
  const nnz = new Float64Array(nF), sum = new Float64Array(nF), max = new Float64Array(nF).fill(-Infinity);
  for (let f = 0; f < nf; f++) {
    const o = f * nF;
    for (let j = 0; j < nF; j++) {
      const c = stats.nnz[o + j];
      if (c > 0) active[j]++;
      nnz[j] += c;
      sum[j] += stats.sum[o + j];
      if (stats.max[o + j] > max[j]) max[j] = stats.max[o + j];
    }
  }
  for (let j = 0; j < nF; j++) {
    summaries.push({
      index: j,
      density: tokens > 0 ? nnz[j] / tokens : 0,
      maxActivation: Number.isFinite(max[j]) ? max[j] : 0,
      meanActivation: nnz[j] > 0 ? sum[j] / nnz[j] : 0,
    });
  }
  const minFragments = options.minFragments ?? 2;
  const eligibleList: number[] = [];
  for (let j = 0; j < nF; j++) if (active[j] >= minFragments) eligibleList.push(j);
  const random = seededRandom(hashString(dict, options.seed ?? 0));
  let picked: number[];
  if (options.only) {
    const ok = new Set(eligibleList);
    picked = [...new Set(options.only)].filter((j) => ok.has(j));
  } else {
    picked = shuffleInPlace(eligibleList.slice(), random).slice(0, options.features ?? 150);
  }
  picked.sort((a, b) => a - b);
  const nTop = options.top ?? 20, nRandom = options.random ?? 20, nNeg = options.negatives ?? 10;
  const chosen = picked.map((j): FeatureChoice => {
    const firing: number[] = [], silent: number[] = [];
    for (let f = 0; f < nf; f++) (stats.nnz[f * nF + j] > 0 ? firing : silent).push(f);
    firing.sort((a, b) => stats.max[b * nF + j] - stats.max[a * nF + j] || a - b);
    const top = firing.slice(0, nTop);
    const rest = shuffleInPlace(firing.slice(nTop), random).slice(0, nRandom);
    const negatives = shuffleInPlace(silent, random).slice(0, nNeg).sort((a, b) => a - b);
    return { index: j, top, random: rest, negatives };
  });
  return { summaries, eligible: eligibleList.length, chosen };
}
