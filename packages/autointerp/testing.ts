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
import assert from "node:assert/strict";
import { assertClose } from "@saelab/gpu";
import { validate } from "@saelab/runs";
import type { FeatureFiles, StoredDetail, StoredSamples } from "./feature_files.ts";
import type { DictSamples } from "./sampling.ts";
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

/**
 * Check the feature files of `samples` written with one backend's `score` of the first sample: the
 * index, statistics and detail conform to the run format and show that score, and what was read back
 * holds the samples (fragments to 5 significant digits), the sampling settings and the stored result.
 *
 * @param samples What was written.
 * @param stored The files as written (`index`, `stats`, the first sample's `detail`), what was read back
 *   from them (`back`), and what they were written with (`score`, `sampling`).
 * @returns `back`, known to be there; throws an AssertionError at the first difference.
 * @example
 * ```ts ignore
 * const files = featureFiles(samples, { scores: [score], sampling: { seed: 2 } });
 * const detail = files.details[0];
 * const back = samplesFromFiles("a", files);
 * assertStoredFeatures(samples, { ...files, detail, back, score, sampling: { seed: 2 } });
 * ```
 */
export function assertStoredFeatures(
  samples: DictSamples,
  stored: Pick<FeatureFiles, "index" | "stats"> & {
    detail: StoredDetail;
    back: StoredSamples | null;
    score: FeatureScore;
    sampling: Record<string, unknown>;
  },
): StoredSamples {
  const { index, stats, detail, back, score } = stored;
  const s0 = samples.samples[0];
  assert.deepEqual(validate("featureIndex", index), []);
  assert.equal(index.backend, score.backend);
  assert.deepEqual(index.features.map((f) => f.index), samples.summaries.map((s) => s.index), "every feature");
  assert.deepEqual(index.sampled, samples.samples.map((s) => s.index));
  assert.equal(index.features[s0.index].score, score.score);
  assert.equal(stats.density.length, samples.summaries.length);
  assert.deepEqual(stats.maxActivation, samples.summaries.map((s) => Number(s.maxActivation.toPrecision(5))));
  assert.deepEqual(validate("featureDetail", detail), []);
  assert.equal(detail.explanation, score.explanation);
  assert.ok(back, "the files read back");
  assert.deepEqual(back.sampling, stored.sampling);
  assert.deepEqual(back.samples.samples.map((s) => s.index), samples.samples.map((s) => s.index));
  assert.equal(back.samples.summaries.length, samples.summaries.length);
  back.samples.samples[0].top.forEach((f, i) => {
    assert.deepEqual(f.tokens, s0.top[i].tokens);
    assertClose(f.acts, s0.top[i].acts, { atol: 0, rtol: 5e-5 }); // stored to 5 significant digits
  });
  assert.equal(back.previous.get(s0.index)![score.backend].score, score.score);
  return back;
}
