/**
 * Finding and repairing bad chunks of a finished store. {@linkcode findBadChunks} checks chunk files
 * against the manifest (present, size, SHA-256, shapes) and lists every one that fails, by file;
 * {@linkcode reharvestChunks} runs the model again over exactly the windows whose rows a bad chunk held
 * and rewrites only that chunk. Which windows those are follows from the harvest's own plan (`plan.ts`:
 * a chunk is cut at the end of the window that fills a buffer), and the chunk is harvested by the same
 * `harvestRange` that wrote it.
 *
 * @module
 */
import type { TokenWindows } from "@saelab/corpus";
import { decodeChunk, readChunkBytes, StoreError } from "./chunks.ts";
import { type Manifest, readManifest, type StoreSplit, writeManifest } from "./manifest.ts";
import { checkOptions, checkSettings, harvestConfig } from "./_harvest_parts.ts";
import type { HarvestOptions } from "./harvest.ts";
import type { HookedModel } from "./model.ts";
import { harvestRange, planHarvest } from "./plan.ts";

/** A chunk file that fails its check. */
export interface BadChunk {
  /** Its split. */
  split: StoreSplit;
  /** Its index within the split. */
  index: number;
  /** Its file name in the store folder. */
  file: string;
  /** What is wrong with it. */
  reason: string;
}

/**
 * Check the chunk files of a store against its manifest: each must be there, with its size, SHA-256
 * and shapes.
 *
 * @param dir The store folder.
 * @param options The splits to check (default both).
 * @returns Every chunk that fails, in split and chunk order (empty when all are good).
 * @throws {StoreError} When the folder has no manifest.
 * @example
 * ```ts ignore
 * const bad = await findBadChunks("runs/r1/activations", { splits: ["heldout"] });
 * ```
 */
export async function findBadChunks(dir: string, options: { splits?: StoreSplit[] } = {}): Promise<BadChunk[]> {
  const manifest = await readManifest(dir);
  if (!manifest) throw new StoreError(`Cannot check the activation store in ${dir}: it has no manifest.json`, dir);
  const bad: BadChunk[] = [];
  for (const split of options.splits ?? ["train", "heldout"]) {
    const list = split === "train" ? manifest.chunks : manifest.heldOutChunks;
    for (let index = 0; index < list.length; index++) {
      const entry = list[index];
      try {
        decodeChunk(await readChunkBytes(dir, entry), entry, { d: manifest.d, dir, verify: true });
      } catch (e) {
        if (!(e instanceof StoreError)) throw e;
        const at = e.message.indexOf(`${dir}: `);
        const reason = (at >= 0 ? e.message.slice(at + dir.length + 2) : e.message).split("; ")[0];
        bad.push({ split, index, file: entry.file, reason });
      }
    }
  }
  return bad;
}

/**
 * Harvest again only the rows of bad chunks of a finished store, with the settings it was harvested
 * with (the same options as {@linkcode harvest}), and rewrite those chunks and their manifest entries.
 *
 * @param model The model.
 * @param windows The windows the store was harvested from.
 * @param options The harvest's options, and the chunks to redo (from {@linkcode findBadChunks}).
 * @returns The chunks rewritten.
 * @throws {TypeError} When the store was harvested with other settings.
 * @throws {StoreError} When the store's chunks do not follow from these windows and settings.
 * @example
 * ```ts ignore
 * const bad = await findBadChunks(dir);
 * await reharvestChunks(model, windows, { hook, dir, chunkRows: 8192, bad });
 * ```
 */
export async function reharvestChunks(
  model: HookedModel,
  windows: TokenWindows,
  options: HarvestOptions & { bad: readonly BadChunk[] },
): Promise<BadChunk[]> {
  const o = checkOptions(model, windows, options);
  const { dir } = o;
  const manifest: Manifest | null = await readManifest(dir);
  if (!manifest?.complete) {
    throw new StoreError(`Cannot repair the activation store in ${dir}: its harvest has not finished`, dir);
  }
  checkSettings(manifest, { ...harvestConfig(model, windows, o), dir, what: "repair" });
  const width = manifest.d;
  const chunkRows = o.chunkRows ?? Math.max(1, Math.floor(o.chunkBytes / (width * (o.dtype === "f16" ? 2 : 4))));
  const plan = planHarvest(windows, { ...o, chunkRows });
  const rangeOf = { train: new Map<number, number>(), heldout: new Map<number, number>() };
  plan.ranges.forEach((r, i) => {
    for (const split of ["train", "heldout"] as const) {
      if (r.chunks[split]) rangeOf[split].set(r.chunks[split].index, i);
    }
  });
  for (const split of ["train", "heldout"] as const) {
    const list = split === "train" ? manifest.chunks : manifest.heldOutChunks;
    const same = list.length === rangeOf[split].size &&
      list.every((c, i) => c.rows === plan.ranges[rangeOf[split].get(i)!].chunks[split]!.rows);
    if (!same) {
      throw new StoreError(
        `Cannot repair the activation store in ${dir}: its ${split} chunks do not follow from these windows ` +
          `with ${chunkRows} rows per chunk; harvest again into a fresh run`,
        dir,
      );
    }
  }
  const done: BadChunk[] = [];
  for (const bad of options.bad) {
    o.signal?.throwIfAborted();
    const list = bad.split === "train" ? manifest.chunks : manifest.heldOutChunks;
    const range = rangeOf[bad.split].get(bad.index)!;
    const out = await harvestRange(model, windows, { ...o, plan, range, splits: [bad.split] });
    list[bad.index] = out.chunks[bad.split]!;
    await writeManifest(dir, manifest);
    done.push(bad);
  }
  return done;
}
