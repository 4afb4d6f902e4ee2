/**
 * The scorer shared by every backend — the protocol of Bills et al. (2023) as
 * Cunningham et al. (2023) apply it: of a feature's top 20 fragments, ranks
 * 3, 7, 11, 15, 19 are held out and the other 15 go to the explainer (an
 * explainer may use fewer: the LLM explainer shows Bills et al.'s 5); the
 * simulator then predicts per-token activations on the 5 held-out top and 5
 * random fragments (shuffled together, so it cannot tell which is which; one
 * request per fragment where the simulator offers `simulateFragment`), and
 * the score is the Pearson correlation of predicted and true activations over
 * all their tokens. The correlation over the top (random) fragments alone is
 * the top-only (random-only) score. Two classification scorers can follow:
 * detection (after delphi) asks the detector which of the held-out fragments
 * and as many all-zero fragments contain the feature, and reports accuracy
 * and ROC AUC; fuzzing (after delphi) asks the fuzzing judge whether the
 * held-out fragments' highlighting, at the activating tokens or at random
 * ones, matches the explanation, and reports balanced accuracy.
 *
 * @module
 */
import { hashString, seededRandom, shuffleInPlace } from "@saelab/core";
import type { Fragment } from "@saelab/runs";
import { fuzzingScore, fuzzItems } from "./fuzzing.ts";
import { accuracy, pearson, rocAuc } from "./stats.ts";
import type { Backend, FeatureSample, FeatureScore, SimulationMethod } from "./types.ts";

/** The classification scorers that can follow the simulation score. */
export type ClassifierName = "detection" | "fuzzing";

/** Every classification scorer, in the order they run. */
export const CLASSIFIERS: readonly ClassifierName[] = ["detection", "fuzzing"];

/** Counts of the protocol. */
export interface ProtocolOptions {
  /** Held-out top fragments simulated. Default 5. */
  heldTop?: number;
  /** Held-out random fragments simulated. Default 5. */
  heldRandom?: number;
  /** All-zero fragments added as detection negatives. Default 10. */
  negatives?: number;
  /** Seed of the order fragments are shown in. Default 0. */
  seed?: number;
  /**
   * Classification scorers to run after the simulation, each where the backend has its part (a detector, a
   * fuzzing judge). Default `["detection"]`.
   */
  scorers?: readonly ClassifierName[];
  /** When aborted, the error propagates instead of being recorded. */
  signal?: AbortSignal;
}

/** A feature's fragments assigned to their roles. */
export interface SampleSplit {
  /** Shown to the explainer (top fragments not held out), largest first. */
  explain: Fragment[];
  /** Held-out top fragments. */
  heldTop: Fragment[];
  /** Held-out random fragments. */
  heldRandom: Fragment[];
  /** Detection negatives. */
  negatives: Fragment[];
}

/**
 * Assign a feature's fragments to explanation and held-out roles: top ranks ≡ 3 (mod 4) are held out (up to
 * `heldTop`); with 2–3 top fragments, the last is; the first `heldRandom` random fragments are held out.
 *
 * @param sample The feature's fragments.
 * @param options Counts.
 * @returns The roles; `heldTop` is empty when the feature has fewer than two active fragments.
 * @example
 * ```ts
 * import { splitSample } from "@saelab/autointerp";
 * const f = (v: number) => ({ tokens: ["a"], acts: [v] });
 * const top = Array.from({ length: 20 }, (_, i) => f(20 - i));
 * const s = splitSample({ dict: "d", index: 0, density: 1, maxActivation: 20, meanActivation: 1,
 *   top, random: [], negatives: [], histogram: { edges: [0, 1], counts: [1] } });
 * if (s.explain.length !== 15 || s.heldTop[0].acts[0] !== 17) throw new Error("ranks 3, 7, …");
 * ```
 */
export function splitSample(sample: FeatureSample, options: ProtocolOptions = {}): SampleSplit {
  const heldTopCount = options.heldTop ?? 5;
  const top = sample.top;
  const held = new Set<number>();
  if (top.length >= 4) {
    for (let r = 3; r < top.length && held.size < heldTopCount; r += 4) held.add(r);
  } else if (top.length >= 2 && heldTopCount > 0) held.add(top.length - 1);
  return {
    explain: top.filter((_, r) => !held.has(r)),
    heldTop: top.filter((_, r) => held.has(r)),
    heldRandom: sample.random.slice(0, options.heldRandom ?? 5),
    negatives: sample.negatives.slice(0, options.negatives ?? 10),
  };
}

/**
 * Explain, simulate and (with a detector) detect one feature.
 *
 * @param sample The feature's fragments.
 * @param backend Explainer, simulator and optional detector.
 * @param options Protocol counts and seed.
 * @returns The scores; a failure (too few fragments, a backend error) is recorded in `error`, never thrown,
 *   except an abort.
 * @throws {TypeError} When `options.scorers` names an unknown scorer.
 * @example
 * ```ts ignore
 * import { tokenLookupBackend, scoreFeature } from "@saelab/autointerp";
 * const s = await scoreFeature(sample, tokenLookupBackend());
 * console.log(s.explanation, s.score, s.detection?.auc);
 * ```
 */
export async function scoreFeature(
  sample: FeatureSample,
  backend: Backend,
  options: ProtocolOptions = {},
): Promise<FeatureScore> {
  const ref = { dict: sample.dict, index: sample.index };
  const base: FeatureScore = {
    ...ref,
    backend: backend.name,
    explanation: "",
    score: null,
    topScore: null,
    randomScore: null,
    detection: null,
  };
  const scorers = options.scorers ?? ["detection"];
  for (const name of scorers) {
    if (!CLASSIFIERS.includes(name)) {
      throw new TypeError(`Cannot score: unknown scorer ${JSON.stringify(name)} (known: ${CLASSIFIERS.join(", ")})`);
    }
  }
  const parts = splitSample(sample, options);
  if (parts.heldTop.length === 0 || parts.explain.length === 0) {
    return { ...base, error: `too few active fragments (${sample.top.length}) to explain and hold out` };
  }
  const random = seededRandom(hashString(`${sample.dict}/${sample.index}`, options.seed ?? 0));
  try {
    const explanation = await backend.explainer.explain(parts.explain, ref);
    const out: FeatureScore = { ...base, explanation: explanation.text };
    const held = shuffleInPlace([
      ...parts.heldTop.map((f) => ({ f, top: true })),
      ...parts.heldRandom.map((f) => ({ f, top: false })),
    ], random);
    const simulator = backend.simulator;
    let sims: number[][];
    if (simulator.simulateFragment) {
      const each = await Promise.all(
        held.map(({ f }) => simulator.simulateFragment!(explanation, { tokens: f.tokens }, ref)),
      );
      sims = each.map((s) => s.values);
      out.simulated = each.map((s, i) => ({
        role: held[i].top ? "top" : "random",
        method: s.method as SimulationMethod,
      }));
    } else sims = await simulator.simulate(explanation, held.map(({ f }) => ({ tokens: f.tokens })), ref);
    checkShape(sims, held.map(({ f }) => f.tokens.length));
    const corr = (pick: (top: boolean) => boolean) => {
      const sim: number[] = [], act: number[] = [];
      held.forEach(({ f, top }, i) => {
        if (!pick(top)) return;
        sim.push(...sims[i]);
        act.push(...f.acts);
      });
      return sim.length ? pearson(sim, act) : null;
    };
    out.heldOut = held.map(({ f, top }, i) => ({
      role: top ? "top" : "random",
      at: (top ? sample.top : sample.random).indexOf(f),
      simulated: sims[i].map((v) => (v === 0 ? 0 : Number(v.toPrecision(4)))),
      score: pearson(sims[i], f.acts),
    }));
    out.score = corr(() => true);
    out.topScore = corr((top) => top);
    out.randomScore = corr((top) => !top);
    if (scorers.includes("detection") && backend.detector && parts.negatives.length > 0) {
      const items = shuffleInPlace([
        ...held.map(({ f }) => ({ f, label: true })),
        ...parts.negatives.map((f) => ({ f, label: false })),
      ], random);
      const probs = await backend.detector.detect(explanation, items.map(({ f }) => ({ tokens: f.tokens })), ref);
      if (probs.length !== items.length || probs.some((p) => !(p >= 0 && p <= 1))) {
        throw new Error(`the detector gave ${probs.length} probabilities for ${items.length} fragments`);
      }
      const labels = items.map(({ label }) => label);
      out.detection = { accuracy: accuracy(probs, labels), auc: rocAuc(probs, labels)!, n: items.length };
    }
    if (scorers.includes("fuzzing") && backend.fuzzer) {
      const items = fuzzItems(held.map(({ f }) => f), random);
      const probs = await backend.fuzzer.judge(explanation, items.map((i) => i.fragment), ref);
      if (probs.length !== items.length || probs.some((p) => !(p >= 0 && p <= 1))) {
        throw new Error(`the fuzzing judge gave ${probs.length} answers for ${items.length} fragments`);
      }
      out.fuzzing = fuzzingScore(probs, items.map((i) => i.correct));
    }
    return out;
  } catch (e) {
    if (options.signal?.aborted) throw e;
    return { ...base, error: e instanceof Error ? e.message : String(e) };
  }
}

function checkShape(sims: number[][], lengths: number[]): void {
  if (!Array.isArray(sims) || sims.length !== lengths.length) {
    throw new Error(`the simulator returned ${sims?.length} fragments for ${lengths.length}`);
  }
  sims.forEach((s, i) => {
    if (!Array.isArray(s) || s.length !== lengths[i] || s.some((v) => !Number.isFinite(v))) {
      throw new Error(`the simulator returned ${s?.length} values for a fragment of ${lengths[i]} tokens`);
    }
  });
}

/** Options of {@linkcode scoreFeatures}. */
export interface ScoreFeaturesOptions extends ProtocolOptions {
  /** Features scored at once (their backend calls overlap). Default 4. */
  concurrency?: number;
  /** Called after each feature with the number done. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Score many features with a bounded number in flight.
 *
 * @param samples The features.
 * @param backend The backend.
 * @param options Protocol counts, concurrency, progress, abort signal.
 * @returns One score per sample, in the same order.
 * @example
 * ```ts ignore
 * import { tokenLookupBackend, scoreFeatures } from "@saelab/autointerp";
 * const scores = await scoreFeatures(samples, tokenLookupBackend(), { seed: 0 });
 * ```
 */
export async function scoreFeatures(
  samples: readonly FeatureSample[],
  backend: Backend,
  options: ScoreFeaturesOptions = {},
): Promise<FeatureScore[]> {
  const out = new Array<FeatureScore>(samples.length);
  let next = 0, done = 0;
  const worker = async () => {
    while (next < samples.length) {
      options.signal?.throwIfAborted();
      const i = next++;
      out[i] = await scoreFeature(samples[i], backend, options);
      options.onProgress?.(++done, samples.length);
    }
  };
  const n = Math.max(1, Math.min(options.concurrency ?? 4, samples.length));
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}
