/**
 * The comparison behind the paper's Figure 2: per dictionary, the mean score
 * over its scored features with a percentile-bootstrap 95% interval, and the
 * same for the top-only and random-only scores and for detection accuracy and
 * AUC, written to the run's `scores.json`. `dicts` holds the newest backend's
 * result per dictionary; `backends` keeps every backend's.
 *
 * @module
 */
import { join } from "node:path";
import { type DictKind, type DictScore, RUN_FILES, type ScoresJson, writeJsonAtomic } from "@saelab/runs";
import { bootstrapMean, type MeanInterval } from "./stats.ts";
import type { FeatureScore } from "./types.ts";

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
 * const s = summarizeScores([0.2, 0.4, 0.6].map((score, index) => ({ dict: "pca", index, backend: "offline",
 *   explanation: "x", score, topScore: score, randomScore: null, detection: null })),
 *   { kind: "baseline", method: "pca", backend: "offline" });
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
    failed: scores.filter((s) => s.score === null).length,
    ...(info.eligible !== undefined ? { eligible: info.eligible } : {}),
  };
}

/**
 * Merge dictionary entries into `runs/<id>/scores.json` (atomically): each becomes the shown entry of its
 * dictionary and is kept under its backend.
 *
 * @param runDir The run folder.
 * @param entries Entries by dictionary name (one backend each).
 * @returns The file written.
 * @example
 * ```ts ignore
 * import { mergeScores } from "@saelab/autointerp";
 * await mergeScores("runs/r1", { pca: summarizeScores(scores, { kind: "baseline", method: "pca", backend: "offline" }) });
 * ```
 */
export async function mergeScores(runDir: string, entries: Record<string, DictScoreDetail>): Promise<ScoresFile> {
  const path = join(runDir, RUN_FILES.scores);
  let file: ScoresFile = { dicts: {} };
  try {
    const old = JSON.parse(await Deno.readTextFile(path));
    if (old && typeof old === "object" && old.dicts && typeof old.dicts === "object") file = old;
  } catch {
    // a missing or unreadable file starts afresh
  }
  file.backends ??= {};
  for (const [name, entry] of Object.entries(entries)) {
    file.dicts[name] = entry;
    (file.backends[entry.backend] ??= {})[name] = entry;
  }
  await writeJsonAtomic(path, file);
  return file;
}
