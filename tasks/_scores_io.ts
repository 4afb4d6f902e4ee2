/**
 * The run's `scores.json`: dictionary entries merged into it ({@linkcode mergeScoreData}) and written atomically.
 * Entries stored under an old name of the token-lookup backend are read back under its current name.
 *
 * @module
 */
import { join } from "node:path";
import { type DictScoreDetail, mergeScoreData, type ScoresFile } from "@saelab/autointerp";
import { currentNames, RUN_FILES, writeJsonAtomic } from "@saelab/runs";

/**
 * Merge dictionary entries into `runs/<id>/scores.json` (atomically): each becomes the shown entry of its
 * dictionary and is kept under its backend, and every entry gets its backend's references and verdict. A
 * missing or unreadable file starts afresh.
 *
 * @param runDir The run folder.
 * @param entries Entries by dictionary name (one backend each).
 * @returns The file written.
 * @example
 * ```ts ignore
 * await mergeScores("runs/r1", { pca: summarizeScores(scores, { kind: "baseline", method: "pca", backend: "token-lookup" }) });
 * ```
 */
export async function mergeScores(
  runDir: string,
  entries: Readonly<Record<string, DictScoreDetail>>,
): Promise<ScoresFile> {
  const path = join(runDir, RUN_FILES.scores);
  let previous: ScoresFile | undefined;
  try {
    const old = JSON.parse(await Deno.readTextFile(path));
    if (old && typeof old === "object" && old.dicts && typeof old.dicts === "object") {
      previous = currentNames("scores", old) as ScoresFile;
    }
  } catch {
    // a missing or unreadable file starts afresh
  }
  const file = mergeScoreData(previous, entries);
  await writeJsonAtomic(path, file);
  return file;
}
