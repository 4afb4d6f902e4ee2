/**
 * Finding and repairing bad chunks of a finished store. {@linkcode findBadChunks} checks chunk files
 * against the manifest (present, size, SHA-256, shapes) and lists every one that fails, by file;
 * {@linkcode reharvestChunks} runs the model again over exactly the windows whose rows a bad chunk held
 * and rewrites only that chunk. Which windows those are follows from the harvest's own rule (a chunk is
 * cut at the end of the window that fills a buffer), so stores written before this module repair too.
 *
 * @module
 */
import { splitOf, type TokenWindows } from "@saelab/corpus";
import { decodeChunk, readChunkBytes, StoreError, writeChunk } from "./chunks.ts";
import { type ChunkEntry, type Manifest, readManifest, type StoreSplit, writeManifest } from "./manifest.ts";
import { checkOptions, checkSettings, harvestConfig, RowBuffer } from "./_harvest_parts.ts";
import type { HarvestOptions } from "./harvest.ts";
import { type HookedModel, readHook } from "./model.ts";

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

/** The windows `[from, to)` whose rows a chunk holds. */
interface ChunkWindows {
  from: number;
  to: number;
  rows: number;
}

/** Replay the harvest's chunking rule: which windows each chunk of each split holds, and where each window ends. */
function chunkLayout(
  windows: TokenWindows,
  o: { T: number; chunkRows: number; maxTokens: number; heldOut: Uint8Array },
): { train: ChunkWindows[]; heldout: ChunkWindows[]; last: Int32Array } {
  const layout = { train: [] as ChunkWindows[], heldout: [] as ChunkWindows[], last: new Int32Array(windows.count) };
  const buffered = { train: 0, heldout: 0 };
  let rows = 0, start = 0, done = 0;
  const commit = (to: number) => {
    for (const split of ["train", "heldout"] as const) {
      if (buffered[split] > 0) layout[split].push({ from: start, to, rows: buffered[split] });
      buffered[split] = 0;
    }
    start = to;
  };
  for (let win = 0; win < windows.count && rows < o.maxTokens; win++) {
    const split = o.heldOut[windows.doc[win]] ? "heldout" : "train";
    const first = windows.first[win];
    const last = Math.min(o.T, first + (o.maxTokens - rows));
    layout.last[win] = last;
    buffered[split] += last - first;
    rows += last - first;
    done = win + 1;
    if (buffered[split] >= o.chunkRows && rows < o.maxTokens && win + 1 < windows.count) commit(win + 1);
  }
  commit(done);
  return layout;
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
  const { dir, T } = o;
  const manifest: Manifest | null = await readManifest(dir);
  if (!manifest?.complete) {
    throw new StoreError(`Cannot repair the activation store in ${dir}: its harvest has not finished`, dir);
  }
  checkSettings(manifest, { ...harvestConfig(model, windows, o), dir, what: "repair" });
  const width = manifest.d;
  const chunkRows = o.chunkRows ?? Math.max(1, Math.floor(o.chunkBytes / (width * (o.dtype === "f16" ? 2 : 4))));
  const heldOut = Uint8Array.from(
    windows.documents,
    (doc) => splitOf(doc.id, { heldOutFraction: o.heldOutFraction, seed: o.splitSeed }) === "heldout" ? 1 : 0,
  );
  const layout = chunkLayout(windows, { T, chunkRows, maxTokens: o.maxTokens, heldOut });
  for (const split of ["train", "heldout"] as const) {
    const list = split === "train" ? manifest.chunks : manifest.heldOutChunks;
    const same = list.length === layout[split].length && list.every((c, i) => c.rows === layout[split][i].rows);
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
    const { from, to, rows } = layout[bad.split][bad.index];
    const buf = new RowBuffer(rows, width);
    for (let w = from; w < to; w += o.batchSize) {
      const n = Math.min(o.batchSize, to - w);
      const ids = windows.batch(w, n); // [n, T]
      const { data } = await readHook(model, ids, { batch: n, contextLength: T, hook: o.hook });
      for (let b = 0; b < n; b++) {
        const win = w + b;
        if ((heldOut[windows.doc[win]] ? "heldout" : "train") !== bad.split) continue;
        for (let t = windows.first[win]; t < layout.last[win]; t++) {
          const at = b * T + t;
          buf.push(data.subarray(at * width, (at + 1) * width), windows.doc[win], windows.start[win] + t, ids[at]);
        }
      }
    }
    const entry: ChunkEntry = await writeChunk(`${dir}/${bad.file}`, buf, { dtype: o.dtype, split: bad.split });
    list[bad.index] = entry;
    await writeManifest(dir, manifest);
    done.push(bad);
  }
  return done;
}
