/**
 * The feature files of a run, `features/<dict>/index.json`, `features/<dict>/<i>.json` and
 * `features/<dict>/stats.json`: written from a dictionary's samples and scores, and read back so that
 * rescoring skips the GPU. Their contents are `@saelab/autointerp`'s ({@linkcode featureFiles}); results
 * stored under an old name of the token-lookup backend are read back under its current name.
 *
 * @module
 */
import { join } from "node:path";
import {
  type DictSamples,
  featureFiles,
  type FeatureFilesOptions,
  type FeatureStats,
  samplesFromFiles,
  type StoredDetail,
  type StoredIndex,
  type StoredSamples,
} from "@saelab/autointerp";
import { currentNames, RUN_FILES, writeTextAtomic } from "@saelab/runs";

/** File name of the feature statistics inside `features/<dict>/`. */
export const STATS_FILE = "stats.json";

/**
 * Write a dictionary's feature files, merging new scores into the per-backend results given as `previous`.
 *
 * @param featuresDir `runs/<id>/features`.
 * @param samples The dictionary's summaries and samples.
 * @param options Scores (of one backend), sampling settings, earlier results by feature, logit effects by feature.
 * @returns Nothing.
 * @example
 * ```ts ignore
 * await writeFeatureFiles("runs/r1/features", samples, { scores, sampling: { seed: 0 } });
 * ```
 */
export async function writeFeatureFiles(
  featuresDir: string,
  samples: DictSamples,
  options: FeatureFilesOptions = {},
): Promise<void> {
  const dir = join(featuresDir, samples.dict);
  const { index, stats, details } = featureFiles(samples, options);
  await Deno.mkdir(dir, { recursive: true });
  for (let i = 0; i < details.length; i += 32) {
    await Promise.all(
      details.slice(i, i + 32).map((d) => writeTextAtomic(join(dir, `${d.index}.json`), JSON.stringify(d))),
    );
  }
  await writeTextAtomic(join(dir, STATS_FILE), JSON.stringify(stats));
  await writeTextAtomic(join(dir, RUN_FILES.featureIndex), JSON.stringify(index));
}

/**
 * Read back what {@linkcode writeFeatureFiles} wrote: the samples (for rescoring without the GPU), the sampling
 * settings, and the stored results by feature.
 *
 * @param featuresDir `runs/<id>/features`.
 * @param dict Dictionary name.
 * @returns The samples and settings, or `null` when a file is missing or unreadable or the index lists no samples.
 * @example
 * ```ts ignore
 * const stored = await readFeatureFiles("runs/r1/features", "pca");
 * ```
 */
export async function readFeatureFiles(featuresDir: string, dict: string): Promise<StoredSamples | null> {
  const dir = join(featuresDir, dict);
  const read = async <T>(name: string): Promise<T | null> => {
    try {
      return JSON.parse(await Deno.readTextFile(join(dir, name)));
    } catch {
      return null;
    }
  };
  const index = await read<StoredIndex>(RUN_FILES.featureIndex);
  if (!index || !Array.isArray(index.sampled) || !index.sampling) return null;
  const details: StoredDetail[] = [];
  for (const i of index.sampled) {
    const d = await read<StoredDetail>(`${i}.json`);
    if (!d || typeof d !== "object") return null;
    details.push(currentNames("featureDetail", d) as StoredDetail);
  }
  const stats = await read<FeatureStats>(STATS_FILE);
  if (!stats || typeof stats !== "object") return null;
  return samplesFromFiles(dict, { index, stats, details });
}
