/**
 * The comparison behind the paper's Figure 2: per dictionary, the mean score
 * over its scored features with a percentile-bootstrap 95% interval, and the
 * same for the top-only and random-only scores and for detection accuracy and
 * AUC and fuzzing balanced accuracy, as the run's `scores.json` holds them.
 * `dicts` holds the newest backend's result per dictionary; `backends` keeps
 * every backend's. Each entry can carry its reference levels — the
 * random-direction and neuron baselines' scores under the same backend — and
 * a plain-words verdict ({@linkcode attachReferences}).
 *
 * @module
 */
import type { DictKind, DictScore, ScoreReference, ScoresJson } from "@saelab/runs";
import { bootstrapMean, type MeanInterval } from "./stats.ts";
import { currentBackendName, TOKEN_LOOKUP, TOKEN_LOOKUP_DESCRIPTION } from "./token_lookup.ts";
import type { FeatureScore } from "./types.ts";

/** A reference level: another dictionary's mean score with its interval. */
export type { ScoreReference } from "@saelab/runs";

/** The reference levels of a score: the random-direction and neuron baselines' (null where not scored). */
export interface ScoreReferences {
  /** Random unit directions. */
  random: ScoreReference | null;
  /** The neuron (standard) basis. */
  neurons: ScoreReference | null;
}

/** A dictionary's entry in `scores.json`: the runs type plus the other summaries. */
export interface DictScoreDetail extends DictScore {
  /** Mean top-only score with its interval. */
  topOnly: MeanInterval;
  /** Mean random-only score with its interval. */
  randomOnly: MeanInterval;
  /** Detection accuracy and AUC means with intervals, when a detector ran. */
  detection?: { accuracy: MeanInterval; auc: MeanInterval };
  /** Features that could not be scored (too few fragments or an unusable answer). */
  failed: number;
  /** Features that were eligible for sampling. */
  eligible?: number;
}

/** `scores.json` as this package writes it. */
export interface ScoresFile extends ScoresJson {
  /** The shown entry per dictionary (entries written before a field existed lack it). */
  dicts: Record<string, DictScore & Partial<Omit<DictScoreDetail, keyof DictScore>>>;
  /** Every backend's results, by backend then dictionary. */
  backends?: Record<string, Record<string, DictScoreDetail>>;
}

/**
 * Summarise one dictionary's feature scores.
 *
 * @param scores Feature scores of one dictionary and one backend.
 * @param info Kind, method, backend name, eligible count; `resamples` and `seed` of the bootstrap.
 * @returns The entry for `scores.json` (features without a score are counted in `failed`, not averaged).
 * @example
 * ```ts
 * import { summarizeScores } from "@saelab/autointerp";
 * const s = summarizeScores([0.2, 0.4, 0.6].map((score, index) => ({ dict: "pca", index, backend: "token-lookup",
 *   explanation: "x", score, topScore: score, randomScore: null, detection: null })),
 *   { kind: "baseline", method: "pca", backend: "token-lookup" });
 * if (Math.abs(s.mean - 0.4) > 1e-12 || s.n !== 3) throw new Error();
 * ```
 */
export function summarizeScores(
  scores: readonly FeatureScore[],
  info: { kind: DictKind; method: string; backend: string; eligible?: number; resamples?: number; seed?: number },
): DictScoreDetail {
  const boot = (values: number[]) => bootstrapMean(values, { resamples: info.resamples, seed: info.seed });
  const pick = (f: (s: FeatureScore) => number | null | undefined) =>
    scores.map(f).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  const all = boot(pick((s) => s.score));
  const acc = pick((s) => s.detection?.accuracy), auc = pick((s) => s.detection?.auc);
  const fuzz = pick((s) => s.fuzzing?.balancedAccuracy);
  const measures = describeScore(info.backend);
  return {
    kind: info.kind,
    method: info.method,
    mean: all.mean,
    ci95: all.ci95,
    n: all.n,
    backend: info.backend,
    topOnly: boot(pick((s) => s.topScore)),
    randomOnly: boot(pick((s) => s.randomScore)),
    ...(acc.length ? { detection: { accuracy: boot(acc), auc: boot(auc) } } : {}),
    ...(fuzz.length ? { fuzzing: { balancedAccuracy: boot(fuzz) } } : {}),
    ...(measures ? { measures } : {}),
    failed: scores.filter((s) => s.score === null).length,
    ...(info.eligible !== undefined ? { eligible: info.eligible } : {}),
  };
}

/**
 * Merge dictionary entries into the contents of `scores.json`: each becomes the shown entry of its dictionary
 * and is kept under its backend; then every entry gets its backend's references and verdict
 * ({@linkcode attachReferences} over all of that backend's dictionaries, old and new).
 *
 * @param previous The file as it was, with current backend names (`undefined` when there is none).
 * @param entries Entries by dictionary name (one backend each).
 * @returns The merged file (a new object; `previous` is not changed).
 * @example
 * ```ts
 * import { mergeScoreData, summarizeScores } from "@saelab/autointerp";
 * const pca = summarizeScores([], { kind: "baseline", method: "pca", backend: "token-lookup" });
 * const file = mergeScoreData(undefined, { pca });
 * if (file.backends!["token-lookup"].pca.verdict !== "not scored") throw new Error();
 * ```
 */
export function mergeScoreData(
  previous: ScoresFile | undefined,
  entries: Readonly<Record<string, DictScoreDetail>>,
): ScoresFile {
  const dicts: ScoresFile["dicts"] = { ...previous?.dicts };
  const backends: NonNullable<ScoresFile["backends"]> = { ...previous?.backends };
  for (const [name, entry] of Object.entries(entries)) {
    dicts[name] = entry;
    backends[entry.backend] = { ...backends[entry.backend], [name]: entry };
  }
  // every entry carries its backend's random-direction and neuron scores as references
  for (const [backend, byDict] of Object.entries(backends)) backends[backend] = attachReferences(byDict);
  for (const [name, entry] of Object.entries(dicts)) {
    const withRefs = backends[entry.backend]?.[name];
    if (withRefs) dicts[name] = withRefs;
  }
  return { ...previous, dicts, backends };
}

/** The LLM simulation score, in plain words. */
export const SIMULATION_DESCRIPTION =
  "Simulation score (Bills et al. 2023): correlation of a language model's per-token predictions, made from the " +
  "feature's explanation alone, with the feature's true activations on held-out fragments.";

/**
 * What a backend's score measures, in plain words.
 *
 * @param backend Backend name (old names of the token-lookup backend are understood).
 * @returns {@linkcode TOKEN_LOOKUP_DESCRIPTION} for the token-lookup backend, {@linkcode SIMULATION_DESCRIPTION}
 *   for an LLM backend (`openai:…`), `undefined` otherwise.
 * @example
 * ```ts
 * import { describeScore, TOKEN_LOOKUP_DESCRIPTION } from "@saelab/autointerp";
 * if (describeScore("offline") !== TOKEN_LOOKUP_DESCRIPTION) throw new Error();
 * ```
 */
export function describeScore(backend: string): string | undefined {
  const name = currentBackendName(backend);
  if (name === TOKEN_LOOKUP) return TOKEN_LOOKUP_DESCRIPTION;
  if (name.startsWith("openai:")) return SIMULATION_DESCRIPTION;
  return undefined;
}

/** Options of {@linkcode attachReferences}. */
export interface ReferenceOptions {
  /** The random-direction dictionary. Default: the entry whose `method` is `"random"`. */
  random?: string;
  /** The neuron-basis dictionary. Default: the entry whose `method` is `"neurons"`. */
  neurons?: string;
}

/**
 * Attach to every dictionary's summary the random-direction and neuron baselines' scores as references, and a
 * verdict in plain words: a dictionary whose 95% interval overlaps the random baseline's is "no better than
 * random directions"; one above it is compared with the neurons the same way. Summaries should come from one
 * backend (the references are looked up among the given ones).
 *
 * @param summaries Per-dictionary summaries of one backend, by dictionary name.
 * @param options Which dictionaries are the references (by default found by `method`).
 * @returns New summaries with `references` and `verdict`; the input is not changed.
 * @example
 * ```ts
 * import { attachReferences, type DictScoreDetail } from "@saelab/autointerp";
 * const entry = (method: string, ci95: [number, number]) => ({ kind: "baseline", method, backend: "b",
 *   mean: (ci95[0] + ci95[1]) / 2, ci95, n: 50 }) as DictScoreDetail;
 * const out = attachReferences({ random: entry("random", [0.4, 0.5]), neurons: entry("neurons", [0.45, 0.55]),
 *   r1: entry("sae", [0.48, 0.6]), r2: entry("sae", [0.7, 0.8]) });
 * if (out.r1.verdict !== "no better than random directions") throw new Error(out.r1.verdict);
 * if (out.r2.verdict !== "better than random directions and than neurons") throw new Error(out.r2.verdict);
 * if (out.r2.references!.random!.mean !== 0.45) throw new Error();
 * ```
 */
export function attachReferences(
  summaries: Readonly<Record<string, DictScoreDetail>>,
  options: ReferenceOptions = {},
): Record<string, DictScoreDetail> {
  const find = (name: string | undefined, method: string): ScoreReference | null => {
    const key = name ?? Object.keys(summaries).sort().find((k) => summaries[k].method === method);
    const s = key === undefined ? undefined : summaries[key];
    if (!s || !(s.n > 0)) return null;
    return { dict: key!, mean: s.mean, ci95: [s.ci95[0], s.ci95[1]], n: s.n };
  };
  const references: ScoreReferences = {
    random: find(options.random, "random"),
    neurons: find(options.neurons, "neurons"),
  };
  const out: Record<string, DictScoreDetail> = {};
  for (const [name, s] of Object.entries(summaries)) {
    out[name] = { ...s, references, verdict: verdict(name, s, references) };
  }
  return out;
}

function verdict(name: string, s: DictScoreDetail, refs: ScoreReferences): string {
  if (!(s.n > 0)) return "not scored";
  if (refs.random?.dict === name) return "the random-direction reference";
  if (!refs.random) return "no random-direction reference to compare with";
  const vs = (r: ScoreReference) => (s.ci95[1] < r.ci95[0] ? -1 : s.ci95[0] > r.ci95[1] ? 1 : 0);
  const random = vs(refs.random);
  if (random < 0) return "worse than random directions";
  if (random === 0) return "no better than random directions";
  if (refs.neurons?.dict === name) return "better than random directions (the neuron reference)";
  if (!refs.neurons) return "better than random directions (no neuron reference)";
  const neurons = vs(refs.neurons);
  if (neurons < 0) return "better than random directions, worse than neurons";
  if (neurons === 0) return "better than random directions, no better than neurons";
  return "better than random directions and than neurons";
}
