/**
 * What the feature files of a dictionary hold, `index.json` and one detail per sampled feature
 * (`@saelab/runs` types), plus what rescoring needs to skip the GPU: the details keep each sampled
 * feature's negatives and every backend's results, the index records the sampling settings so a later
 * `score` run can tell whether they still apply, and the statistics cover every feature. This module only
 * builds these objects ({@linkcode featureFiles}) and turns them back into samples
 * ({@linkcode samplesFromFiles}); reading and writing them is the caller's.
 *
 * @module
 */
import type { DictKind, FeatureDetail, FeatureIndex, FeatureSummary, Fragment, LogitEffects } from "@saelab/runs";
import type { DictSamples } from "./sampling.ts";
import type { FeatureSample, FeatureScore } from "./types.ts";

/** One backend's result for a feature, as stored in its detail file. */
export type StoredResult = Omit<FeatureScore, "dict" | "index" | "backend">;

/** A detail file as this package builds it: the runs type plus negatives and per-backend results. */
export interface StoredDetail extends FeatureDetail {
  /** Fragments where the feature never fires (detection negatives); their activations are all 0 and not stored. */
  negatives: Omit<Fragment, "acts">[];
  /** Results by backend name. */
  results?: Record<string, StoredResult>;
}

/** An index file as this package builds it. */
export interface StoredIndex extends FeatureIndex {
  /** Settings the samples were drawn with (compared before reuse). */
  sampling?: Record<string, unknown>;
  /** Features with a detail file. */
  sampled?: number[];
  /** Features eligible for scoring. */
  eligible?: number;
  /** SAE or baseline. */
  kind?: DictKind;
}

/** Density and activation statistics of every feature of a dictionary, by index. */
export interface FeatureStats {
  /** Dictionary name. */
  dict: string;
  /** Held-out tokens the statistics cover. */
  tokens: number;
  /** Fraction of tokens where each feature is non-zero. */
  density: number[];
  /** Largest activation of each feature. */
  maxActivation: number[];
  /** Mean activation of each feature where it fires. */
  meanActivation: number[];
}

/** The contents of a dictionary's feature files. */
export interface FeatureFiles {
  /** The index: every feature's summary, the sampled features and the sampling settings. */
  index: StoredIndex;
  /** Statistics of every feature. */
  stats: FeatureStats;
  /** One detail per sampled feature, in the order of `index.sampled`. */
  details: StoredDetail[];
}

/** Options of {@linkcode featureFiles}. */
export interface FeatureFilesOptions {
  /** Scores of one backend (their explanation and score become the shown ones). */
  scores?: readonly FeatureScore[];
  /** Settings the samples were drawn with. */
  sampling?: Record<string, unknown>;
  /** Earlier results by feature, by backend name. */
  previous?: ReadonlyMap<number, Record<string, StoredResult>>;
  /** Direct logit effects by feature. */
  logits?: ReadonlyMap<number, LogitEffects>;
  /** Each feature's top tokens (from the atlas), by index; listed in the index for search. */
  topTokens?: ReadonlyMap<number, readonly string[]>;
  /** Features per atlas shard, when the atlas was written. */
  atlasShard?: number;
}

/** Samples read back from feature files, with their settings and stored results. */
export interface StoredSamples {
  /** The dictionary's summaries and samples. */
  samples: DictSamples;
  /** Settings the samples were drawn with. */
  sampling: Record<string, unknown>;
  /** Stored results by feature, by backend name. */
  previous: Map<number, Record<string, StoredResult>>;
}

const round = (v: number) => (v === 0 ? 0 : Number(v.toPrecision(5)));
const roundFragment = (f: Fragment): Fragment => ({ ...f, acts: f.acts.map(round) });

/**
 * Build a dictionary's feature files, merging new scores into the per-backend results given as `previous`.
 * The newest backend's explanation and score become the feature's shown ones. The index summarises every
 * feature (with its top tokens when given) and lists the sampled ones (each has a detail) in `sampled`. Numbers keep 5 significant digits.
 *
 * @param samples The dictionary's summaries and samples.
 * @param options Scores (of one backend), sampling settings, earlier results by feature, logit effects by feature.
 * @returns The index, the statistics and the details.
 * @example
 * ```ts
 * import { featureFiles } from "@saelab/autointerp";
 * const frag = { tokens: ["a", "b"], acts: [0, 1.234567] };
 * const files = featureFiles({
 *   dict: "pca", method: "pca", kind: "baseline", tokens: 2, eligible: 1,
 *   summaries: [{ index: 0, density: 0.5, maxActivation: 1.234567, meanActivation: 1.234567 }],
 *   samples: [{ dict: "pca", index: 0, density: 0.5, maxActivation: 1.234567, meanActivation: 1.234567,
 *     top: [frag], random: [], negatives: [], histogram: { edges: [0, 1.234567], counts: [1] } }],
 * }, { sampling: { seed: 0 } });
 * if (files.details[0].top[0].acts[1] !== 1.2346 || files.index.sampled![0] !== 0) throw new Error();
 * ```
 */
export function featureFiles(samples: DictSamples, options: FeatureFilesOptions = {}): FeatureFiles {
  const byIndex = new Map((options.scores ?? []).map((s) => [s.index, s]));
  const backend = options.scores?.[0]?.backend;
  const summaries = samples.summaries.map((s): FeatureSummary => {
    const tokens = options.topTokens?.get(s.index);
    return {
      ...s,
      density: round(s.density),
      maxActivation: round(s.maxActivation),
      meanActivation: round(s.meanActivation ?? 0),
      ...(tokens?.length ? { topTokens: [...tokens] } : {}),
    };
  });
  const details: StoredDetail[] = samples.samples.map((f) => {
    const results: Record<string, StoredResult> = { ...options.previous?.get(f.index) };
    const s = byIndex.get(f.index);
    if (s) {
      const { dict: _d, index: _i, backend: b, ...rest } = s;
      results[b] = rest;
    }
    const shown = s ?? latest(results);
    const summary = summaries[f.index];
    if (shown?.score !== null && shown?.score !== undefined) summary.score = round(shown.score);
    if (shown?.explanation) summary.explanation = shown.explanation;
    return {
      ...summary,
      dict: samples.dict,
      ...(s ? { backend: s.backend } : {}),
      top: f.top.map(roundFragment),
      random: f.random.map(roundFragment),
      negatives: f.negatives.map(({ acts: _, ...rest }) => rest),
      histogram: { ...f.histogram, edges: f.histogram.edges.map(round) },
      ...(options.logits?.has(f.index) ? { logits: options.logits.get(f.index) } : {}),
      ...(f.neighbours ? { neighbours: f.neighbours } : {}),
      results,
    };
  });
  const index: StoredIndex = {
    dict: samples.dict,
    method: samples.method,
    tokens: samples.tokens,
    ...(backend ? { backend } : {}),
    features: summaries,
    sampling: options.sampling,
    sampled: samples.samples.map((f) => f.index),
    ...(options.atlasShard ? { atlasShard: options.atlasShard } : {}),
    eligible: samples.eligible,
    kind: samples.kind,
  };
  const stats: FeatureStats = {
    dict: samples.dict,
    tokens: samples.tokens,
    density: summaries.map((s) => s.density),
    maxActivation: summaries.map((s) => s.maxActivation),
    meanActivation: summaries.map((s) => s.meanActivation ?? 0),
  };
  return { index, stats, details };
}

function latest(results: Record<string, StoredResult>): StoredResult | undefined {
  const names = Object.keys(results);
  return names.length ? results[names[names.length - 1]] : undefined;
}

/**
 * Turn what {@linkcode featureFiles} built, as read back, into samples for rescoring without the GPU: the
 * samples, the sampling settings and the stored results by feature. Backend names should already be current.
 *
 * @param dict Dictionary name.
 * @param files The index, the statistics and the details in the order of `index.sampled`.
 * @returns The samples and settings, or `null` when the index lists no samples or records no settings, a
 *   detail is missing or lacks its fragments, or the statistics lack their arrays.
 * @example
 * ```ts
 * import { featureFiles, samplesFromFiles } from "@saelab/autointerp";
 * const files = featureFiles({ dict: "pca", method: "pca", kind: "baseline", tokens: 0, eligible: 0,
 *   summaries: [], samples: [] }, { sampling: { seed: 0 } });
 * if (samplesFromFiles("pca", files)?.sampling.seed !== 0) throw new Error();
 * if (samplesFromFiles("pca", { ...files, index: { ...files.index, sampling: undefined } }) !== null) {
 *   throw new Error();
 * }
 * ```
 */
export function samplesFromFiles(dict: string, files: FeatureFiles): StoredSamples | null {
  const { index, stats: st, details } = files;
  if (!Array.isArray(index.sampled) || !index.sampling || details.length !== index.sampled.length) return null;
  if (!Array.isArray(st?.density) || !Array.isArray(st.maxActivation) || !Array.isArray(st.meanActivation)) {
    return null;
  }
  const previous = new Map<number, Record<string, StoredResult>>();
  const samples: FeatureSample[] = [];
  for (const [k, i] of index.sampled.entries()) {
    const d = details[k];
    if (!d || !Array.isArray(d.top) || !Array.isArray(d.random) || !Array.isArray(d.negatives)) return null;
    previous.set(i, d.results ?? {});
    samples.push({
      dict,
      index: i,
      density: d.density,
      maxActivation: d.maxActivation,
      meanActivation: d.meanActivation ?? 0,
      top: d.top,
      random: d.random,
      negatives: d.negatives.map((f) => ({ ...f, acts: new Array(f.tokens.length).fill(0) })),
      histogram: d.histogram,
      ...(d.neighbours ? { neighbours: d.neighbours } : {}),
    });
  }
  const summaries = st.density.map((density, i) => ({
    index: i,
    density,
    maxActivation: st.maxActivation[i],
    meanActivation: st.meanActivation[i],
  }));
  return {
    samples: {
      dict,
      method: index.method,
      kind: index.kind ?? (index.method === "sae" ? "sae" : "baseline"),
      tokens: index.tokens,
      summaries,
      eligible: index.eligible ?? samples.length,
      samples,
    },
    sampling: index.sampling,
    previous,
  };
}
