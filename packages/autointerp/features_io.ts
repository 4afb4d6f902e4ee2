/**
 * The feature files the report server reads, `features/<dict>/index.json` and
 * `features/<dict>/<i>.json` (`@saelab/runs` types), plus what rescoring
 * needs to skip the GPU: the detail files keep each sampled feature's
 * negatives and every backend's results, and the index records the sampling
 * settings so a later `score` run can tell whether they still apply. Results
 * stored under an old name of the token-lookup backend are read back under
 * its current name.
 *
 * @module
 */
import { join } from "node:path";
import {
  type DictKind,
  type FeatureDetail,
  type FeatureIndex,
  type Fragment,
  type LogitEffects,
  RUN_FILES,
  writeTextAtomic,
} from "@saelab/runs";
import type { DictSamples } from "./sampling.ts";
import { currentBackendName } from "./token_lookup.ts";
import type { FeatureSample, FeatureScore } from "./types.ts";

/** One backend's result for a feature, as stored in its detail file. */
export type StoredResult = Omit<FeatureScore, "dict" | "index" | "backend">;

/** A detail file as this package writes it: the runs type plus negatives and per-backend results. */
export interface StoredDetail extends FeatureDetail {
  /** Fragments where the feature never fires (detection negatives); their activations are all 0 and not stored. */
  negatives: Omit<Fragment, "acts">[];
  /** Results by backend name. */
  results?: Record<string, StoredResult>;
}

/** An index file as this package writes it. */
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

/** `features/<dict>/stats.json`: density and activation statistics of every feature, by index. */
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

/** File name of {@linkcode FeatureStats} inside `features/<dict>/`. */
export const STATS_FILE = "stats.json";

const round = (v: number) => (v === 0 ? 0 : Number(v.toPrecision(5)));
const roundFragment = (f: Fragment): Fragment => ({ ...f, acts: f.acts.map(round) });

/**
 * Write a dictionary's feature files, merging new scores into the per-backend results already there.
 * The newest backend's explanation and score become the feature's shown ones. `index.json` lists the sampled
 * features (each has a page); `stats.json` holds density and activation statistics of every feature.
 *
 * @param featuresDir `runs/<id>/features`.
 * @param samples The dictionary's summaries and samples.
 * @param options Scores (of one backend), sampling settings, earlier results by feature, logit effects by feature.
 * @returns Nothing.
 * @example
 * ```ts ignore
 * import { writeFeatureFiles } from "@saelab/autointerp";
 * await writeFeatureFiles("runs/r1/features", samples, { scores, sampling: { seed: 0 } });
 * ```
 */
export async function writeFeatureFiles(
  featuresDir: string,
  samples: DictSamples,
  options: {
    scores?: readonly FeatureScore[];
    sampling?: Record<string, unknown>;
    previous?: ReadonlyMap<number, Record<string, StoredResult>>;
    logits?: ReadonlyMap<number, LogitEffects>;
  } = {},
): Promise<void> {
  const dir = join(featuresDir, samples.dict);
  const byIndex = new Map((options.scores ?? []).map((s) => [s.index, s]));
  const backend = options.scores?.[0]?.backend;
  const summaries = samples.summaries.map((s) => ({
    ...s,
    density: round(s.density),
    maxActivation: round(s.maxActivation),
    meanActivation: round(s.meanActivation ?? 0),
  }));
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
    features: samples.samples.map((f) => summaries[f.index]),
    sampling: options.sampling,
    sampled: samples.samples.map((f) => f.index),
    eligible: samples.eligible,
    kind: samples.kind,
  };
  await Deno.mkdir(dir, { recursive: true });
  for (let i = 0; i < details.length; i += 32) {
    await Promise.all(
      details.slice(i, i + 32).map((d) => writeTextAtomic(join(dir, `${d.index}.json`), JSON.stringify(d))),
    );
  }
  const stats: FeatureStats = {
    dict: samples.dict,
    tokens: samples.tokens,
    density: summaries.map((s) => s.density),
    maxActivation: summaries.map((s) => s.maxActivation),
    meanActivation: summaries.map((s) => s.meanActivation),
  };
  await writeTextAtomic(join(dir, STATS_FILE), JSON.stringify(stats));
  await writeTextAtomic(join(dir, RUN_FILES.featureIndex), JSON.stringify(index));
}

function latest(results: Record<string, StoredResult>): StoredResult | undefined {
  const names = Object.keys(results);
  return names.length ? results[names[names.length - 1]] : undefined;
}

/**
 * Read back what {@linkcode writeFeatureFiles} wrote: the samples (for rescoring without the GPU), the sampling
 * settings, and the stored results by feature.
 *
 * @param featuresDir `runs/<id>/features`.
 * @param dict Dictionary name.
 * @returns The samples and settings, or `null` when the index is missing, unreadable or lists no samples.
 * @example
 * ```ts ignore
 * import { readFeatureFiles } from "@saelab/autointerp";
 * const stored = await readFeatureFiles("runs/r1/features", "pca");
 * ```
 */
export async function readFeatureFiles(featuresDir: string, dict: string): Promise<
  {
    samples: DictSamples;
    sampling: Record<string, unknown>;
    previous: Map<number, Record<string, StoredResult>>;
  } | null
> {
  const dir = join(featuresDir, dict);
  let index: StoredIndex;
  try {
    index = JSON.parse(await Deno.readTextFile(join(dir, RUN_FILES.featureIndex)));
  } catch {
    return null;
  }
  if (!Array.isArray(index.sampled) || !index.sampling) return null;
  const previous = new Map<number, Record<string, StoredResult>>();
  const samples: FeatureSample[] = [];
  for (const i of index.sampled) {
    let d: StoredDetail;
    try {
      d = JSON.parse(await Deno.readTextFile(join(dir, `${i}.json`)));
    } catch {
      return null;
    }
    if (!Array.isArray(d.top) || !Array.isArray(d.random) || !Array.isArray(d.negatives)) return null;
    previous.set(i, renameOldResults(d.results ?? {}));
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
  let summaries = index.features.map(({ explanation: _e, score: _s, ...rest }) => rest);
  try {
    const st: FeatureStats = JSON.parse(await Deno.readTextFile(join(dir, STATS_FILE)));
    summaries = st.density.map((density, i) => ({
      index: i,
      density,
      maxActivation: st.maxActivation[i],
      meanActivation: st.meanActivation[i],
    }));
  } catch {
    return null;
  }
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

/** Results keyed by current backend names, in their stored order (a result under the current name wins). */
function renameOldResults(results: Record<string, StoredResult>): Record<string, StoredResult> {
  const out: Record<string, StoredResult> = {};
  for (const [name, r] of Object.entries(results)) {
    const current = currentBackendName(name);
    if (current !== name && current in results) continue;
    out[current] = r;
  }
  return out;
}
