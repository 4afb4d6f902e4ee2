/**
 * Harvest one hook's activations over token windows into a chunked on-disk
 * store. Rows go to a training or a held-out buffer by document; when a
 * buffer reaches the chunk size, every non-empty buffer is written as a chunk
 * and then the manifest records them with the number of windows done. A
 * killed harvest resumes from the manifest: chunk files it does not list are
 * discarded and their windows run again, so no row is lost or duplicated.
 *
 * @module
 */
import { splitOf, type TokenWindows } from "@saelab/corpus";
import { writeChunk } from "./chunks.ts";
import { type ChunkEntry, type Manifest, readManifest, type StoreDType, writeManifest } from "./manifest.ts";
import { checkOptions, checkSettings, harvestConfig, newManifest, RowBuffer } from "./_harvest_parts.ts";
import { type HookedModel, hookLayer, readHook } from "./model.ts";
import { cleanStoreFolder } from "./_clean.ts";

/** Progress of a harvest, reported after each batch. */
export interface HarvestProgress {
  /** Windows processed (including those done before a resume). */
  windowsDone: number;
  /** Windows in the harvest. */
  windows: number;
  /** Rows harvested so far, both splits (including rows committed before a resume). */
  rows: number;
  /** Rows the harvest will produce in all. */
  rowsTotal: number;
  /** Window index at which this call started (0 unless resumed). */
  resumedAt: number;
}

/** Options for {@linkcode harvest}. */
export interface HarvestOptions {
  /** Hook point, TransformerLens name (`blocks.2.hook_resid_post`). */
  hook: string;
  /** Store folder (created if needed). */
  dir: string;
  /** Windows per forward pass. Default: 8. */
  batchSize?: number;
  /** Stop after this many rows (tokens), both splits together. Default: all windows. */
  maxTokens?: number;
  /** Element type of stored activations. Default: `"f32"`. */
  dtype?: StoreDType;
  /** Fraction of documents whose rows are held out (by document id hash). Default: 0.1. */
  heldOutFraction?: number;
  /** Seed of the held-out choice. Default: 0. */
  splitSeed?: number;
  /** Rows per chunk; bounds memory. Default: as many as fit in `chunkBytes`. */
  chunkRows?: number;
  /** Target chunk size on disk when `chunkRows` is not given. Default: 32 MiB. */
  chunkBytes?: number;
  /** Model name recorded in the manifest (and part of the settings a resume must match). Default: `"model"`. */
  modelName?: string;
  /** Discard an existing store in `dir` instead of resuming it. Default: false. */
  overwrite?: boolean;
  /** Called after each batch. */
  onProgress?: (progress: HarvestProgress) => void;
  /** Stops the harvest between batches; what was committed stays and a later call resumes. */
  signal?: AbortSignal;
}

/** What {@linkcode harvest} did. */
export interface HarvestResult {
  /** The store folder. */
  dir: string;
  /** The final manifest. */
  manifest: Manifest;
  /** Window index at which this call started. */
  resumedAt: number;
  /** Rows this call wrote. */
  rowsWritten: number;
}

/**
 * Run the model over the windows (stopping after the hook's block) and store the hook's activation
 * for every position each window owns, with its (document, position, token) ids.
 *
 * @param model The model.
 * @param windows Token windows, in the order to harvest them (shuffle them first for a mixed store).
 * @param options Hook, folder, batch size, limits, dtype, held-out fraction, progress, abort signal.
 * @returns The manifest and what this call did.
 * @throws {TypeError} When `dir` holds a store made with other settings.
 * @example
 * ```ts ignore
 * import { harvest } from "@saelab/activations";
 * const { manifest } = await harvest(model, windows, {
 *   hook: "blocks.2.hook_resid_post", dir: "runs/x/acts", maxTokens: 200_000, dtype: "f16",
 * });
 * console.log(manifest.rows);
 * ```
 */
export async function harvest(
  model: HookedModel,
  windows: TokenWindows,
  options: HarvestOptions,
): Promise<HarvestResult> {
  const o = checkOptions(model, windows, options);
  const { dir, T } = o;
  await Deno.mkdir(dir, { recursive: true });
  const { config, configHash } = harvestConfig(model, windows, o);
  let manifest = o.overwrite ? null : await readManifest(dir);
  if (manifest) checkSettings(manifest, { config, configHash, dir, what: "resume" });
  await cleanStoreFolder(dir, manifest, { all: o.overwrite });
  if (manifest?.complete) return { dir, manifest, resumedAt: manifest.windowsDone, rowsWritten: 0 };

  hookLayer(o.hook, model.config.numLayers); // a block the model lacks fails here, before any work
  const heldOut = Uint8Array.from(
    windows.documents,
    (doc) => splitOf(doc.id, { heldOutFraction: o.heldOutFraction, seed: o.splitSeed }) === "heldout" ? 1 : 0,
  );
  const owned = (w: number) => T - windows.first[w];
  let rowsTotal = 0;
  for (let w = 0; w < windows.count; w++) rowsTotal += owned(w);
  rowsTotal = Math.min(rowsTotal, o.maxTokens);

  const resumedAt = manifest?.windowsDone ?? 0;
  let rows = 0; // rows of windows [0, w), both splits, as an uninterrupted harvest counts them
  for (let w = 0; w < resumedAt; w++) rows += owned(w);
  rows = Math.min(rows, o.maxTokens);
  let rowsWritten = 0;
  let buffers: Record<"train" | "heldout", RowBuffer> | null = null;
  let chunkRows = 0;
  let done = resumedAt; // windows whose rows are all taken

  const commit = async (windowsDone: number, complete: boolean) => {
    const m = manifest!;
    for (const split of ["train", "heldout"] as const) {
      const buf = buffers![split];
      if (buf.rows === 0) continue;
      const list = split === "train" ? m.chunks : m.heldOutChunks;
      const file = `${split}-${String(list.length).padStart(6, "0")}.safetensors`;
      const entry: ChunkEntry = await writeChunk(`${dir}/${file}`, buf, { dtype: o.dtype, split });
      list.push(entry);
      m.rows[split] += buf.rows;
      rowsWritten += buf.rows;
      buf.rows = 0;
    }
    m.windowsDone = windowsDone;
    m.complete = complete;
    await writeManifest(dir, m);
  };

  // The next batch runs on the GPU while this one's rows are stored.
  const run = (w: number) => {
    const n = Math.min(o.batchSize, windows.count - w);
    const ids = windows.batch(w, n); // [n, T]
    const result = readHook(model, ids, { batch: n, contextLength: T, hook: o.hook }).then((r) => ({ ...r, ids, n }));
    result.catch(() => {}); // surfaced when awaited
    return result;
  };
  const rowsUpTo = (w: number) => { // rows of windows [0, w), capped
    let r = rows;
    for (let i = done; i < w && r < o.maxTokens; i++) r += owned(i);
    return Math.min(r, o.maxTokens);
  };
  let next = resumedAt < windows.count && rows < o.maxTokens ? run(resumedAt) : null;
  try {
    for (let w = resumedAt; next !== null; w += o.batchSize) {
      o.signal?.throwIfAborted();
      const { data, width, ids, n } = await next;
      next = w + n < windows.count && rowsUpTo(w + n) < o.maxTokens ? run(w + n) : null;
      o.signal?.throwIfAborted();
      if (!manifest) manifest = newManifest(o, { config, configHash, width, windows });
      if (width !== manifest.d) {
        throw new RangeError(
          `Cannot harvest ${o.hook}: its width is ${width} but the store holds rows of ${manifest.d}`,
        );
      }
      if (!buffers) {
        chunkRows = o.chunkRows ?? Math.max(1, Math.floor(o.chunkBytes / (width * (o.dtype === "f16" ? 2 : 4))));
        buffers = { train: new RowBuffer(chunkRows + T, width), heldout: new RowBuffer(chunkRows + T, width) };
      }
      for (let b = 0; b < n && rows < o.maxTokens; b++) {
        const win = w + b;
        const doc = windows.doc[win];
        const buf = buffers[heldOut[doc] ? "heldout" : "train"];
        const first = windows.first[win];
        const last = Math.min(T, first + (o.maxTokens - rows)); // positions [first, last)
        for (let t = first; t < last; t++) {
          const at = b * T + t;
          buf.push(data.subarray(at * width, (at + 1) * width), doc, windows.start[win] + t, ids[at]);
        }
        rows += last - first;
        done = win + 1;
        if (buf.rows >= chunkRows && rows < o.maxTokens && win + 1 < windows.count) await commit(win + 1, false);
      }
      o.onProgress?.({ windowsDone: w + n, windows: windows.count, rows, rowsTotal, resumedAt });
    }
  } finally {
    await (next as Promise<unknown> | null)?.catch(() => {}); // let an abandoned batch finish before returning
  }
  if (!manifest || !buffers) throw new RangeError(`Cannot harvest ${o.hook}: there are no windows to run`);
  await commit(done, true);
  return { dir, manifest, resumedAt, rowsWritten };
}
