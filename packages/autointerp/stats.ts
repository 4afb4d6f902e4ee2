/**
 * The statistics of scoring: Pearson correlation (the simulation score),
 * accuracy and ROC AUC (detection), and percentile-bootstrap confidence
 * intervals of a mean (the comparison between dictionaries).
 *
 * @module
 */
import { seededRandom } from "@saelab/core";

/**
 * Pearson correlation of two equally long series.
 *
 * @param a First series.
 * @param b Second series.
 * @returns The correlation in [-1, 1]; 0 when either series is constant (no linear relation can be measured).
 * @throws {RangeError} When the lengths differ or are 0.
 * @example
 * ```ts
 * import { pearson } from "@saelab/autointerp";
 * if (Math.abs(pearson([1, 2, 3], [2, 4, 6.5]) - 0.9986) > 1e-3) throw new Error("r");
 * if (pearson([1, 1, 1], [1, 2, 3]) !== 0) throw new Error("constant");
 * ```
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length || n === 0) {
    throw new RangeError(`Cannot correlate series of lengths ${a.length} and ${b.length}`);
  }
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma, db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa <= 1e-300 || sbb <= 1e-300) return 0;
  return Math.max(-1, Math.min(1, sab / Math.sqrt(saa * sbb)));
}

/**
 * Area under the ROC curve: the probability that a random positive scores above a random negative
 * (ties count one half) — the Mann–Whitney U statistic over `positives × negatives`.
 *
 * @param scores One score per example.
 * @param labels True (positive) or false per example.
 * @returns The AUC in [0, 1], or `null` when one class is empty.
 * @example
 * ```ts
 * import { rocAuc } from "@saelab/autointerp";
 * if (rocAuc([0.9, 0.8, 0.1, 0.8], [true, true, false, false]) !== 0.875) throw new Error("auc");
 * ```
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<boolean>): number | null {
  if (scores.length !== labels.length) {
    throw new RangeError(`Cannot compute an AUC: ${scores.length} scores for ${labels.length} labels`);
  }
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((i, j) => scores[i] - scores[j]);
  let pos = 0, neg = 0, rankSum = 0;
  for (let s = 0; s < idx.length;) {
    let e = s;
    while (e + 1 < idx.length && scores[idx[e + 1]] === scores[idx[s]]) e++;
    const midRank = (s + e) / 2 + 1; // average 1-based rank of the tie group
    for (let t = s; t <= e; t++) {
      if (labels[idx[t]]) {
        pos++;
        rankSum += midRank;
      } else neg++;
    }
    s = e + 1;
  }
  if (pos === 0 || neg === 0) return null;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * Fraction of examples classified correctly at a threshold (score ≥ threshold means positive).
 *
 * @param scores One score per example.
 * @param labels True (positive) or false per example.
 * @param threshold Decision threshold. Default 0.5.
 * @returns The accuracy in [0, 1].
 * @example
 * ```ts
 * import { accuracy } from "@saelab/autointerp";
 * if (accuracy([0.9, 0.2, 0.6], [true, false, false]) !== 2 / 3) throw new Error("accuracy");
 * ```
 */
export function accuracy(scores: ArrayLike<number>, labels: ArrayLike<boolean>, threshold = 0.5): number {
  if (scores.length !== labels.length || scores.length === 0) {
    throw new RangeError(`Cannot compute an accuracy: ${scores.length} scores for ${labels.length} labels`);
  }
  let right = 0;
  for (let i = 0; i < scores.length; i++) if ((scores[i] >= threshold) === labels[i]) right++;
  return right / scores.length;
}

/** A mean and its percentile-bootstrap confidence interval. */
export interface MeanInterval {
  /** Mean of the values. */
  mean: number;
  /** `[low, high]` bounds of the interval. */
  ci95: [number, number];
  /** Number of values. */
  n: number;
}

/**
 * Mean with a percentile-bootstrap confidence interval (resampling the values with replacement).
 *
 * @param values The values (e.g. one score per feature).
 * @param options Resamples (default 2000), confidence level (default 0.95), seed (default 0).
 * @returns Mean, interval and count; the interval is `[mean, mean]` for fewer than two values, and
 *   `NaN`s are never produced: an empty input gives mean 0 with n 0.
 * @example
 * ```ts
 * import { bootstrapMean } from "@saelab/autointerp";
 * const { mean, ci95 } = bootstrapMean([0.1, 0.2, 0.3, 0.4, 0.5], { seed: 1 });
 * if (!(ci95[0] < mean && mean < ci95[1])) throw new Error("interval");
 * ```
 */
export function bootstrapMean(
  values: ArrayLike<number>,
  options: { resamples?: number; level?: number; seed?: number } = {},
): MeanInterval {
  const n = values.length;
  if (n === 0) return { mean: 0, ci95: [0, 0], n: 0 };
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i] / n;
  if (n < 2) return { mean, ci95: [mean, mean], n };
  const resamples = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  const random = seededRandom(options.seed ?? 0);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[Math.floor(random() * n)];
    means[b] = s / n;
  }
  means.sort();
  const q = (p: number) => {
    const pos = p * (resamples - 1);
    const lo = Math.floor(pos), hi = Math.ceil(pos);
    return means[lo] + (means[hi] - means[lo]) * (pos - lo);
  };
  const alpha = (1 - level) / 2;
  return { mean, ci95: [Math.min(q(alpha), mean), Math.max(q(1 - alpha), mean)], n };
}
