/**
 * The plan of a harvest: where its commit points fall and which chunk files each stretch of windows
 * between two of them writes. Rows go to a training or a held-out buffer by document, and a chunk is
 * cut at the end of the window that fills a buffer to the chunk size — so the commit points follow from
 * the windows alone (their documents and owned positions), never from activations, and can be known
 * before the model runs. {@linkcode harvestRange} harvests one stretch (a range) into its chunk files;
 * the sequential harvest, a repair and queue shards all run through it, so they write the same bytes.
 *
 * @module
 */
import { splitOf, type TokenWindows } from "@saelab/corpus";
import { writeChunk } from "./chunks.ts";
import type { ChunkEntry, StoreSplit } from "./manifest.ts";
import { type HookedModel, readHook } from "./model.ts";
import { RowBuffer } from "./_harvest_parts.ts";

/** One chunk file a range writes. */
export interface PlannedChunk {
  /** File name in the store folder (`train-000003.safetensors`). */
  file: string;
  /** Index within its split. */
  index: number;
  /** Rows it holds. */
  rows: number;
}

/** The windows between two commit points, and the chunks their rows make. */
export interface HarvestRange {
  /** First window. */
  from: number;
  /** One past the last window (the commit point: the manifest's `windowsDone` once committed). */
  to: number;
  /** Positions of window `to - 1` taken: `[first, lastEnd)` (less than the context when the row cap cuts it). */
  lastEnd: number;
  /** Rows of windows before `from`, both splits. */
  rowsBefore: number;
  /** Rows of this range, both splits. */
  rows: number;
  /** The chunk each split's rows make (absent when the range has none of that split). */
  chunks: Partial<Record<StoreSplit, PlannedChunk>>;
}

/** Every range of a harvest, in window order. */
export interface HarvestPlan {
  /** Rows per chunk. */
  chunkRows: number;
  /** Rows the harvest stores in all. */
  rowsTotal: number;
  /** Per document: 1 when its rows are held out. */
  heldOut: Uint8Array;
  /** The ranges; the last one ends the harvest. */
  ranges: HarvestRange[];
}

/** The name of chunk `index` of a split. */
export function chunkFile(split: StoreSplit, index: number): string {
  return `${split}-${String(index).padStart(6, "0")}.safetensors`;
}

/**
 * The ranges between a harvest's commit points and the chunk files each writes.
 *
 * @param windows The windows, in harvest order.
 * @param options Rows per chunk, the row cap (default: every window), the held-out fraction (default 0.1)
 *   and the seed of the held-out choice (default 0).
 * @returns The plan (no ranges when there are no windows).
 * @example
 * ```ts
 * import { loadDocuments, makeWindows, memorySource, tokenizeDocuments } from "@saelab/corpus";
 * import { planHarvest } from "@saelab/activations";
 * const chars = { encode: (t: string) => Array.from(t, (c) => c.charCodeAt(0) % 50) };
 * const docs = await loadDocuments([memorySource("m", { a: "one two three four five six", b: "seven eight nine" })]);
 * const windows = makeWindows(tokenizeDocuments(docs, chars, { separator: 0 }), { contextLength: 8, stride: 8 });
 * const plan = planHarvest(windows, { chunkRows: 10, heldOutFraction: 0 });
 * if (plan.ranges.at(-1)!.to !== windows.count) throw new Error("the last range ends the harvest");
 * if (plan.ranges.reduce((n, r) => n + r.rows, 0) !== plan.rowsTotal) throw new Error("ranges cover every row");
 * ```
 */
export function planHarvest(
  windows: TokenWindows,
  options: { chunkRows: number; maxTokens?: number; heldOutFraction?: number; splitSeed?: number },
): HarvestPlan {
  const T = windows.contextLength;
  const { chunkRows } = options;
  const maxTokens = options.maxTokens ?? Infinity;
  const heldOut = Uint8Array.from(
    windows.documents,
    (doc) =>
      splitOf(doc.id, { heldOutFraction: options.heldOutFraction ?? 0.1, seed: options.splitSeed ?? 0 }) === "heldout"
        ? 1
        : 0,
  );
  const ranges: HarvestRange[] = [];
  const buffered = { train: 0, heldout: 0 };
  const count = { train: 0, heldout: 0 };
  let rows = 0, from = 0, fromRows = 0, lastEnd = T;
  const commit = (to: number) => {
    const chunks: HarvestRange["chunks"] = {};
    for (const split of ["train", "heldout"] as const) {
      if (buffered[split] === 0) continue;
      chunks[split] = { file: chunkFile(split, count[split]), index: count[split]++, rows: buffered[split] };
      buffered[split] = 0;
    }
    ranges.push({ from, to, lastEnd, rowsBefore: fromRows, rows: rows - fromRows, chunks });
    from = to;
    fromRows = rows;
  };
  let done = 0;
  for (let win = 0; win < windows.count && rows < maxTokens; win++) {
    const split = heldOut[windows.doc[win]] ? "heldout" : "train";
    const first = windows.first[win];
    lastEnd = Math.min(T, first + (maxTokens - rows));
    buffered[split] += lastEnd - first;
    rows += lastEnd - first;
    done = win + 1;
    if (buffered[split] >= chunkRows && rows < maxTokens && win + 1 < windows.count) commit(win + 1);
  }
  if (done > from) commit(done);
  return { chunkRows, rowsTotal: rows, heldOut, ranges };
}

/** The chunk entries one range wrote, and the width of its rows. */
export interface RangeChunks {
  /** Index of the range in its plan. */
  range: number;
  /** Width of a row. */
  d: number;
  /** The entries (file, rows, bytes, SHA-256) per split, as the manifest lists them. */
  chunks: Partial<Record<StoreSplit, ChunkEntry>>;
}

/**
 * Harvest one range of a plan into its chunk files in `dir` (each written atomically under its planned
 * name). Windows run in batches of `batchSize` from the range's first window, and the next batch runs on
 * the GPU while this one's rows are stored, so the bytes depend only on the range.
 *
 * @param model The model.
 * @param windows The windows the plan was made for.
 * @param options The plan, the range's index, the hook, store folder, batch size, element type, the splits to
 *   write (default both), a callback after each batch with the rows it took, and an abort signal.
 * @returns The chunk entries written.
 * @example
 * ```ts ignore
 * const plan = planHarvest(windows, { chunkRows: 8192 });
 * const r = await harvestRange(model, windows, { plan, range: 0, hook, dir, batchSize: 16, dtype: "f32" });
 * ```
 */
export async function harvestRange(
  model: HookedModel,
  windows: TokenWindows,
  options: {
    plan: HarvestPlan;
    range: number;
    hook: string;
    dir: string;
    batchSize: number;
    dtype: "f32" | "f16";
    splits?: readonly StoreSplit[];
    onBatch?: (rows: number) => void;
    signal?: AbortSignal;
  },
): Promise<RangeChunks> {
  const { plan, hook, batchSize } = options;
  const range = plan.ranges[options.range];
  if (!range) throw new RangeError(`Cannot harvest range ${options.range}: the plan has ${plan.ranges.length}`);
  const T = windows.contextLength;
  const splits = options.splits ?? ["train", "heldout"];
  type Batch = { data: Float32Array; width: number; ids: Int32Array; n: number };
  const run = (w: number): Promise<Batch> => {
    const n = Math.min(batchSize, range.to - w);
    const ids = windows.batch(w, n); // [n, T]
    const result = readHook(model, ids, { batch: n, contextLength: T, hook }).then((r) => ({ ...r, ids, n }));
    result.catch(() => {}); // surfaced when awaited
    return result;
  };
  const buffers: Partial<Record<StoreSplit, RowBuffer>> = {};
  let d = 0;
  let next: Promise<Batch> | null = run(range.from);
  try {
    for (let w = range.from; next !== null; w += batchSize) {
      options.signal?.throwIfAborted();
      const { data, width, ids, n }: Batch = await next;
      next = w + n < range.to ? run(w + n) : null;
      options.signal?.throwIfAborted();
      d = width;
      let taken = 0;
      for (let b = 0; b < n; b++) {
        const win = w + b;
        const doc = windows.doc[win];
        const split = plan.heldOut[doc] ? "heldout" : "train";
        const first = windows.first[win];
        const last = win === range.to - 1 ? range.lastEnd : T; // positions [first, last)
        taken += last - first;
        if (!splits.includes(split)) continue;
        const buf = buffers[split] ??= new RowBuffer(range.chunks[split]!.rows, width);
        for (let t = first; t < last; t++) {
          const at = b * T + t;
          buf.push(data.subarray(at * width, (at + 1) * width), doc, windows.start[win] + t, ids[at]);
        }
      }
      options.onBatch?.(taken);
    }
  } finally {
    await (next as Promise<unknown> | null)?.catch(() => {}); // let an abandoned batch finish before returning
  }
  const chunks: RangeChunks["chunks"] = {};
  for (const split of splits) {
    const buf = buffers[split];
    if (!buf) continue;
    chunks[split] = await writeChunk(`${options.dir}/${range.chunks[split]!.file}`, buf, {
      dtype: options.dtype,
      split,
    });
  }
  return { range: options.range, d, chunks };
}
