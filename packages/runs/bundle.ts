/**
 * Everything the run page shows, read in one call.
 *
 * @module
 */
import { RUN_FILES, validateId } from "./paths.ts";
import {
  type DictEntry,
  type FileResult,
  listDicts,
  type MetricsResult,
  readJson,
  readMetrics,
  readRun,
  readToy,
} from "./read.ts";
import type { RunSummary } from "./read.ts";
import type { CircuitsJson, PatchJson, ScoresJson, ToyJson } from "./result_types.ts";

/** A run with its metrics, dictionaries and results. */
export interface RunBundle {
  /** `run.json` and member count. */
  summary: RunSummary;
  /** Training curves. */
  metrics: MetricsResult;
  /** SAEs then baselines. */
  dicts: DictEntry[];
  /** `scores.json`. */
  scores: FileResult<ScoresJson>;
  /** `patch.json`. */
  patch: FileResult<PatchJson>;
  /** `circuits.json`. */
  circuits: FileResult<CircuitsJson>;
  /** `toy.json` (the ground-truth toy sweep). */
  toy: FileResult<ToyJson>;
}

/**
 * Read a whole run for display. Parts not written yet are `missing`; nothing throws for bad data.
 *
 * @param runsDir The runs folder.
 * @param id Run id (a bad id throws `TypeError`).
 * @returns The bundle, or `null` when the run folder does not exist.
 * @example
 * ```ts ignore
 * const b = await loadRun("runs", "demo");
 * ```
 */
export async function loadRun(runsDir: string, id: string): Promise<RunBundle | null> {
  validateId(id);
  const summary = await readRun(runsDir, id);
  if (summary === null) return null;
  const [metrics, dicts, scores, patch, circuits, toy] = await Promise.all([
    readMetrics(runsDir, id),
    listDicts(runsDir, id),
    readJson<ScoresJson>(runsDir, [id, RUN_FILES.scores], { kind: "scores" }),
    readJson<PatchJson>(runsDir, [id, RUN_FILES.patch], { kind: "patch" }),
    readJson<CircuitsJson>(runsDir, [id, RUN_FILES.circuits], { kind: "circuits" }),
    readToy(runsDir, id),
  ]);
  return { summary, metrics, dicts, scores, patch, circuits, toy };
}
