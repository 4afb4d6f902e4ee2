/**
 * Reading one feature's atlas entry out of its shard (`features/<dict>/atlas/<shard>.json`).
 *
 * @module
 */
import type { AtlasEntry, AtlasShard } from "./atlas_types.ts";
import { ATLAS_SHARD_SIZE, RUN_FILES, validateId } from "./paths.ts";
import { type FileResult, readJson } from "./read.ts";

/**
 * Read feature `index`'s atlas entry.
 *
 * @param runsDir The runs folder.
 * @param id Run id.
 * @param options Dictionary name, feature index (a non-negative integer) and the shard size the index records
 *   (default {@linkcode ATLAS_SHARD_SIZE}).
 * @returns The entry; `missing` when the shard or the entry is absent; `invalid` with reasons.
 * @throws {RangeError} When the index is not a non-negative integer.
 * @example
 * ```ts ignore
 * const a = await readFeatureAtlas("runs", "demo", { dict: "r4_a1e-3", index: 700 });
 * ```
 */
export async function readFeatureAtlas(
  runsDir: string,
  id: string,
  options: { dict: string; index: number; shardSize?: number },
): Promise<FileResult<AtlasEntry>> {
  const { index } = options;
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new RangeError(`Invalid feature index ${index}: expected a non-negative integer`);
  }
  const size = options.shardSize ?? ATLAS_SHARD_SIZE;
  const shard = Math.floor(index / size);
  const names = [validateId(id), RUN_FILES.features, validateId(options.dict, "dictionary name"), RUN_FILES.atlas];
  const file = await readJson<AtlasShard>(runsDir, [...names, `${shard}.json`], { kind: "atlasShard" });
  if (file.status !== "ok") return file;
  const entry = file.value.features[index - file.value.first];
  if (!entry) return { status: "missing" };
  if (entry.index !== index) {
    return { status: "invalid", problems: [`atlas/${shard}.json holds feature ${entry.index} where ${index} belongs`] };
  }
  return { status: "ok", value: entry };
}
