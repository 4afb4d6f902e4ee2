/**
 * Harvest one hook's activations over token windows into a chunked on-disk
 * store. Rows go to a training or a held-out buffer by document; when a
 * buffer reaches the chunk size, every non-empty buffer is written as a chunk
 * and then the manifest records them with the number of windows done. Those
 * commit points follow from the windows alone (`plan.ts`): the harvest runs
 * the plan's ranges one after another, each in batches from its first window.
 * A killed harvest resumes from the manifest: chunk files it does not list are
 * discarded and their windows run again, so no row is lost or duplicated.
 *
 * @module
 */
import type { TokenWindows } from "@saelab/corpus";
import { type Manifest, type StoreDType, writeManifest } from "./manifest.ts";
import { checkOptions } from "./_harvest_parts.ts";
import type { HookedModel } from "./model.ts";
import { cleanStoreFolder } from "./_clean.ts";
import { assembleManifest, planStore } from "./shards.ts";
import { harvestRange } from "./plan.ts";

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
  const { dir } = o;
  await Deno.mkdir(dir, { recursive: true });
  const store = await planStore(model, windows, options);
  const { plan } = store;
  await cleanStoreFolder(dir, store.manifest, { all: o.overwrite });
  if (store.manifest?.complete) {
    return { dir, manifest: store.manifest, resumedAt: store.manifest.windowsDone, rowsWritten: 0 };
  }
  if (plan.ranges.length === 0) throw new RangeError(`Cannot harvest ${o.hook}: there are no windows to run`);
  const resumedAt = store.manifest?.windowsDone ?? 0;
  let manifest = store.base;
  let rowsWritten = 0;
  for (let i = store.start; i < plan.ranges.length; i++) {
    const range = plan.ranges[i];
    let rows = range.rowsBefore, w = range.from;
    const done = await harvestRange(model, windows, {
      ...o,
      plan,
      range: i,
      onBatch: (taken) => {
        rows += taken;
        w = Math.min(range.to, w + o.batchSize);
        o.onProgress?.({ windowsDone: w, windows: windows.count, rows, rowsTotal: plan.rowsTotal, resumedAt });
      },
    });
    manifest = assembleManifest(manifest, { plan, ranges: [done], dir });
    await writeManifest(dir, manifest);
    rowsWritten += range.rows;
  }
  return { dir, manifest, resumedAt, rowsWritten };
}
