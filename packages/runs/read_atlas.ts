/**
 * Reading one feature's atlas entry out of its shard (`features/<dict>/atlas/<shard>.json`).
 *
 * @module
 */
import type { AtlasEntry, AtlasShard } from "./atlas_types.ts";
import { ATLAS_SHARD_SIZE, RUN_FILES, validateId } from "./paths.ts";
import { type FileResult, readJson } from "./read.ts";

/**
 * Read atlas shard `shard` of a dictionary.
 *
 * @param runsDir The runs folder.
 * @param id Run id.
 * @param options Dictionary name and shard number.
 * @returns The shard, `missing` or `invalid`.
 * @example
 * ```ts ignore
 * const s = await readAtlasShard("runs", "demo", { dict: "r4_a3e-3", shard: 0 });
 * ```
 */
export function readAtlasShard(
  runsDir: string,
  id: string,
  options: { dict: string; shard: number },
): Promise<FileResult<AtlasShard>> {
  const names = [validateId(id), RUN_FILES.features, validateId(options.dict, "dictionary name"), RUN_FILES.atlas];
  return readJson<AtlasShard>(runsDir, [...names, `${options.shard}.json`], { kind: "atlasShard" });
}

/**
 * Feature `index`'s entry in the shard that should hold it.
 *
 * @param file The shard as read.
 * @param index Feature index.
 * @returns The entry; `missing` when the shard or the entry is absent; `invalid` when the shard is, or holds
 *   another feature where this one belongs.
 * @example
 * ```ts
 * import { pickAtlasEntry } from "@saelab/runs";
 * pickAtlasEntry({ status: "missing" }, 3).status; // "missing"
 * ```
 */
export function pickAtlasEntry(file: FileResult<AtlasShard>, index: number): FileResult<AtlasEntry> {
  if (file.status !== "ok") return file;
  const entry = file.value.features[index - file.value.first];
  if (!entry) return { status: "missing" };
  if (entry.index !== index) {
    return {
      status: "invalid",
      problems: [`the atlas shard from ${file.value.first} holds feature ${entry.index} where ${index} belongs`],
    };
  }
  return { status: "ok", value: entry };
}

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
 * const a = await readFeatureAtlas("runs", "demo", { dict: "r4_a3e-3", index: 700 });
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
  const shard = Math.floor(index / (options.shardSize ?? ATLAS_SHARD_SIZE));
  return pickAtlasEntry(await readAtlasShard(runsDir, id, { dict: options.dict, shard }), index);
}
