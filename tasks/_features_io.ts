/**
 * The feature files of a run, `features/<dict>/index.json`, `features/<dict>/<i>.json` and
 * `features/<dict>/stats.json`: written from a dictionary's samples and scores, and read back so that
 * rescoring skips the GPU; and `features/<dict>/atlas/<shard>.json`, every feature's atlas entry. Their contents are `@saelab/autointerp`'s ({@linkcode featureFiles}); results
 * stored under an old name of the token-lookup backend are read back under its current name.
 *
 * @module
 */
import { join } from "node:path";
import {
  type DictAtlas,
  type DictSamples,
  featureFiles,
  type FeatureFilesOptions,
  type FeatureStats,
  samplesFromFiles,
  type StoredDetail,
  type StoredIndex,
  type StoredSamples,
} from "@saelab/autointerp";
import { ATLAS_SHARD_SIZE, type AtlasShard, currentNames, RUN_FILES, writeTextAtomic } from "@saelab/runs";

/** File name of the feature statistics inside `features/<dict>/`. */
export const STATS_FILE = "stats.json";

/**
 * Write a dictionary's feature files, merging new scores into the per-backend results given as `previous`; the
 * details of features outside this sample (left by an earlier one) are removed after the new index is written.
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
  // details of an earlier, different sample would show features as scored that this sample left out
  const kept = new Set(details.map((d) => `${d.index}.json`));
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && /^\d+\.json$/.test(e.name) && !kept.has(e.name)) await Deno.remove(join(dir, e.name));
  }
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

/**
 * Write a dictionary's atlas as shards of {@linkcode ATLAS_SHARD_SIZE} features, activations to 4 significant
 * digits.
 *
 * @param featuresDir `runs/<id>/features`.
 * @param atlas The dictionary's atlas.
 * @returns The shard size written.
 * @example
 * ```ts ignore
 * await writeAtlasFiles("runs/r1/features", atlas);
 * ```
 */
export async function writeAtlasFiles(featuresDir: string, atlas: DictAtlas): Promise<number> {
  const dir = join(featuresDir, atlas.dict, RUN_FILES.atlas);
  await Deno.mkdir(dir, { recursive: true });
  const r = (v: number) => (v === 0 ? 0 : Number(v.toPrecision(4)));
  const entries = atlas.entries.map((e) => ({
    ...e,
    density: r(e.density),
    maxActivation: r(e.maxActivation),
    meanActivation: r(e.meanActivation),
    histogram: { ...e.histogram, edges: e.histogram.edges.map(r) },
    top: e.top.map((f) => ({ ...f, acts: f.acts.map(r) })),
    intervals: e.intervals.map((q) => ({
      ...q,
      low: r(q.low),
      high: r(q.high),
      share: r(q.share),
      fragments: q.fragments.map((f) => ({ ...f, acts: f.acts.map(r) })),
    })),
    topTokens: e.topTokens.map((t) => ({ ...t, max: r(t.max) })),
  }));
  const writes: Promise<void>[] = [];
  for (let first = 0; first < entries.length; first += ATLAS_SHARD_SIZE) {
    const shard: AtlasShard = { dict: atlas.dict, first, features: entries.slice(first, first + ATLAS_SHARD_SIZE) };
    writes.push(writeTextAtomic(join(dir, `${first / ATLAS_SHARD_SIZE}.json`), JSON.stringify(shard)));
  }
  await Promise.all(writes);
  return ATLAS_SHARD_SIZE;
}

/**
 * The top tokens and atlas shard size a dictionary's stored index records, so a rescoring that keeps the atlas
 * keeps them in the index it rewrites.
 *
 * @param featuresDir `runs/<id>/features`.
 * @param dict Dictionary name.
 * @returns Top tokens by feature and the shard size, or `null` when the index records no atlas.
 * @example
 * ```ts ignore
 * const kept = await storedAtlas("runs/r1/features", "pca");
 * ```
 */
export async function storedAtlas(
  featuresDir: string,
  dict: string,
): Promise<{ topTokens: Map<number, string[]>; atlasShard: number } | null> {
  try {
    const index = JSON.parse(await Deno.readTextFile(join(featuresDir, dict, RUN_FILES.featureIndex))) as StoredIndex;
    if (!index.atlasShard || !Array.isArray(index.features)) return null;
    const topTokens = new Map(index.features.flatMap((f) => (f.topTokens ? [[f.index, f.topTokens]] : [])));
    return { topTokens, atlasShard: index.atlasShard };
  } catch {
    return null;
  }
}
