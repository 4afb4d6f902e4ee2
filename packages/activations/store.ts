/**
 * Reading an activation store: the manifest, chunk access checked against it,
 * random access to rows, and the batch iterators of `batches.ts`.
 *
 * @module
 */
import {
  type ActivationBatch,
  sequentialBatches,
  shuffledBatches,
  shuffledBatchesSync,
  type ShuffleOptions,
} from "./batches.ts";
import { allocRows, decodeChunk, readChunkBytes, readChunkBytesSync, type RowBlock, StoreError } from "./chunks.ts";
import { type ChunkEntry, type Manifest, MANIFEST_FILE, readManifest, type StoreSplit } from "./manifest.ts";

/** Options for {@linkcode openStore}. */
export interface OpenStoreOptions {
  /** Check each chunk's SHA-256 when it is read. Default: true. */
  verify?: boolean;
  /** Decoded chunks kept for random access. Default: 2. */
  cacheChunks?: number;
  /** Accept a store whose harvest has not finished (rows committed so far). Default: false. */
  allowIncomplete?: boolean;
}

/** An opened activation store. Rows of each split are numbered `0 … rows − 1` in chunk order. */
export class ActivationStore {
  /** The store folder. */
  readonly dir: string;
  /** Its manifest. */
  readonly manifest: Manifest;
  readonly #verify: boolean;
  readonly #cacheSize: number;
  readonly #starts: Record<StoreSplit, Float64Array>;
  #cache = new Map<string, RowBlock>();

  /** @internal Use {@linkcode openStore}. */
  constructor(dir: string, manifest: Manifest, options: OpenStoreOptions) {
    this.dir = dir;
    this.manifest = manifest;
    this.#verify = options.verify ?? true;
    this.#cacheSize = Math.max(1, options.cacheChunks ?? 2);
    const starts = (list: ChunkEntry[]) => {
      const s = new Float64Array(list.length + 1);
      list.forEach((c, i) => (s[i + 1] = s[i] + c.rows));
      return s;
    };
    this.#starts = { train: starts(manifest.chunks), heldout: starts(manifest.heldOutChunks) };
  }

  /** Width of a row. */
  get d(): number {
    return this.manifest.d;
  }

  /** Document ids; `doc` values index this list. */
  get documents(): readonly string[] {
    return this.manifest.documents;
  }

  /**
   * Number of rows in a split.
   *
   * @param split `"train"` (default) or `"heldout"`.
   * @returns The row count.
   */
  rows(split: StoreSplit = "train"): number {
    return this.#starts[split][this.#starts[split].length - 1];
  }

  /**
   * The chunk entries of a split.
   *
   * @param split `"train"` (default) or `"heldout"`.
   * @returns The manifest entries, in order.
   */
  chunks(split: StoreSplit = "train"): readonly ChunkEntry[] {
    return split === "train" ? this.manifest.chunks : this.manifest.heldOutChunks;
  }

  /**
   * Read and check one chunk (no caching).
   *
   * @param split The split.
   * @param index Chunk index within the split.
   * @returns Its rows.
   * @throws {StoreError} When the file is missing or does not match the manifest.
   */
  async readChunk(split: StoreSplit, index: number): Promise<RowBlock> {
    const entry = this.#entry(split, index);
    return decodeChunk(await readChunkBytes(this.dir, entry), entry, this.#decodeOptions());
  }

  /**
   * Synchronous {@linkcode ActivationStore.readChunk}.
   *
   * @param split The split.
   * @param index Chunk index within the split.
   * @returns Its rows.
   */
  readChunkSync(split: StoreSplit, index: number): RowBlock {
    const entry = this.#entry(split, index);
    return decodeChunk(readChunkBytesSync(this.dir, entry), entry, this.#decodeOptions());
  }

  /**
   * Copy consecutive rows of a split (random access; the chunks involved are cached).
   *
   * @param start First row.
   * @param count Number of rows (clamped to the end).
   * @param options Which split.
   * @returns The rows `[count, d]` with their ids.
   */
  async getRows(start: number, count: number, options: { split?: StoreSplit } = {}): Promise<RowBlock> {
    const split = options.split ?? "train";
    const total = this.rows(split);
    if (!Number.isInteger(start) || start < 0 || start >= total) {
      throw new RangeError(`Cannot read row ${start} of the ${split} split: it has ${total} rows`);
    }
    const n = Math.min(count, total - start);
    const d = this.d;
    const out = allocRows(n, d); // x: [n, d]
    const starts = this.#starts[split];
    let i = 0;
    while (i < n) {
      const row = start + i;
      const c = upperBound(starts, row) - 1;
      const block = await this.#cached(split, c);
      const from = row - starts[c];
      const take = Math.min(n - i, block.rows - from);
      out.x.set(block.x.subarray(from * d, (from + take) * d), i * d);
      out.doc.set(block.doc.subarray(from, from + take), i);
      out.pos.set(block.pos.subarray(from, from + take), i);
      out.token.set(block.token.subarray(from, from + take), i);
      i += take;
    }
    return out;
  }

  /**
   * Shuffled batches with a bounded shuffle buffer, reading chunks ahead in the background.
   * One epoch yields every row of the split exactly once; the order depends only on the seed.
   *
   * @param options Batch size, seed, buffer rows, epochs, split, read-ahead.
   * @returns An async iterator of batches (`x: [rows, d]`).
   */
  batches(options: ShuffleOptions): AsyncGenerator<ActivationBatch> {
    return shuffledBatches(this, options);
  }

  /**
   * {@linkcode ActivationStore.batches} with synchronous reads: the same batches for the same options.
   *
   * @param options Batch size, seed, buffer rows, epochs, split.
   * @returns An iterator of batches.
   */
  batchesSync(options: ShuffleOptions): Generator<ActivationBatch> {
    return shuffledBatchesSync(this, options);
  }

  /**
   * Rows in stored order, held-out rows by default: for evaluation.
   *
   * @param options Batch size and split.
   * @returns An async iterator of batches.
   */
  sequential(options: { batchSize: number; split?: StoreSplit }): AsyncGenerator<ActivationBatch> {
    return sequentialBatches(this, options);
  }

  /**
   * Check every chunk of both splits: presence, size, SHA-256 and shapes.
   *
   * @throws {StoreError} At the first chunk that fails.
   */
  async verify(): Promise<void> {
    for (const split of ["train", "heldout"] as const) {
      for (let i = 0; i < this.chunks(split).length; i++) {
        const entry = this.#entry(split, i);
        decodeChunk(await readChunkBytes(this.dir, entry), entry, { ...this.#decodeOptions(), verify: true });
      }
    }
  }

  async #cached(split: StoreSplit, index: number): Promise<RowBlock> {
    const key = `${split}/${index}`;
    let block = this.#cache.get(key);
    if (block) {
      this.#cache.delete(key);
    } else {
      block = await this.readChunk(split, index);
      while (this.#cache.size >= this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
    }
    this.#cache.set(key, block);
    return block;
  }

  #entry(split: StoreSplit, index: number): ChunkEntry {
    const list = this.chunks(split);
    if (!Number.isInteger(index) || index < 0 || index >= list.length) {
      throw new RangeError(`Cannot read chunk ${index} of the ${split} split: it has ${list.length} chunks`);
    }
    return list[index];
  }

  #decodeOptions() {
    return { d: this.d, dir: this.dir, verify: this.#verify };
  }
}

/**
 * Open an activation store: read its manifest and check that every chunk file is there with the
 * size the manifest gives (contents are checked as chunks are read, or all at once with `verify()`).
 *
 * @param dir The store folder.
 * @param options Hash checking, cache size, incomplete stores.
 * @returns The store.
 * @throws {StoreError} When the manifest or a chunk file is missing or has the wrong size.
 * @example
 * ```ts ignore
 * import { openStore } from "@saelab/activations";
 * const store = await openStore("runs/x/acts");
 * console.log(store.d, store.rows("train"), store.rows("heldout"));
 * const first = await store.getRows(0, 4); // x: [4, d]
 * ```
 */
export async function openStore(dir: string, options: OpenStoreOptions = {}): Promise<ActivationStore> {
  const clean = dir.replace(/\/+$/, "");
  const manifest = await readManifest(clean);
  if (!manifest) {
    throw new StoreError(`Cannot open the activation store in ${clean}: it has no ${MANIFEST_FILE}`, MANIFEST_FILE);
  }
  if (!manifest.complete && !options.allowIncomplete) {
    throw new StoreError(
      `Cannot open the activation store in ${clean}: its harvest stopped at window ${manifest.windowsDone} of ` +
        `${manifest.windows}; run the harvest again to finish it (or pass allowIncomplete: true)`,
      MANIFEST_FILE,
    );
  }
  for (const entry of [...manifest.chunks, ...manifest.heldOutChunks]) {
    let size: number;
    try {
      size = (await Deno.stat(`${clean}/${entry.file}`)).size;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      throw new StoreError(
        `Cannot open the activation store in ${clean}: chunk ${entry.file} (${entry.rows} rows) is missing`,
        entry.file,
        { cause: e },
      );
    }
    if (size !== entry.bytes) {
      throw new StoreError(
        `Cannot open the activation store in ${clean}: chunk ${entry.file} has ${size} bytes but the manifest ` +
          `says ${entry.bytes} (truncated or replaced)`,
        entry.file,
      );
    }
  }
  return new ActivationStore(clean, manifest, options);
}

/** First index whose value is greater than `x` (`a` ascending). */
function upperBound(a: Float64Array, x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
