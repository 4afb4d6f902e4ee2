/**
 * Fixtures for tests of code that summarises, stores or merges autointerp scores.
 *
 * ```ts
 * import { summarizeScores } from "@saelab/autointerp";
 * import { featureScore } from "@saelab/autointerp/testing";
 * const s = summarizeScores([featureScore(0, 0.2), featureScore(1, null)], {
 *   kind: "sae",
 *   method: "sae",
 *   backend: "token-lookup",
 * });
 * if (s.n !== 1 || s.failed !== 1) throw new Error("one scored, one failed");
 * ```
 *
 * @module
 */
import type { FeatureScore } from "./types.ts";

/**
 * The token-lookup score of feature `index` of dictionary `d`: `score`, with the top-only part 0.1
 * above it, the random-only part 0.1 below and a detection accuracy of `0.5 + score / 2`; every part
 * null when `score` is (a failed feature).
 *
 * @param index Feature index.
 * @param score Overall score, or null for a feature that could not be scored.
 * @param extra Fields that replace the defaults (`dict`, `backend`, `explanation`, …).
 * @returns The score.
 * @example
 * ```ts
 * import { featureScore } from "@saelab/autointerp/testing";
 * if (featureScore(3, 0.5, { dict: "a" }).topScore !== 0.6) throw new Error("top-only part");
 * ```
 */
export function featureScore(index: number, score: number | null, extra: Partial<FeatureScore> = {}): FeatureScore {
  return {
    dict: "d",
    index,
    backend: "token-lookup",
    explanation: "x",
    score,
    topScore: score === null ? null : score + 0.1,
    randomScore: score === null ? null : score - 0.1,
    detection: score === null ? null : { accuracy: 0.5 + score / 2, auc: 0.6, n: 20 },
    ...extra,
  };
}
