/**
 * Batches of stored rows. The shuffled iterator visits chunks in a seeded
 * random order and mixes rows through a bounded shuffle buffer: while the
 * buffer is full, each incoming row replaces a randomly chosen buffered row,
 * which goes into the batch; at the end the buffer is drained in random order.
 * Every row enters the buffer once and leaves it once, so an epoch yields
 * each row exactly once, and memory stays at the buffer plus the chunks being read.
 *
 * @module
 */
import { hashString, seededRandom, shuffleInPlace } from "@saelab/corpus";
import { allocRows, type RowBlock } from "./chunks.ts";
import type { ChunkEntry, StoreSplit } from "./manifest.ts";

/** A batch of rows, ready to upload: `x` is `[rows, d]`. */
export interface ActivationBatch extends RowBlock {
  /** Row number of each row within its split `[rows]`. */
  row: Int32Array;
  /** Epoch the batch belongs to (0-based). */
  epoch: number;
}

/** Options of the shuffled iterators. */
export interface ShuffleOptions {
  /** Rows per batch. */
  batchSize: number;
  /** Seed of the chunk order and the shuffle buffer. Default: 0. */
  seed?: number;
  /** Rows the shuffle buffer holds (memory: `bufferRows · d · 4` bytes). Default: 65536. */
  bufferRows?: number;
  /** Passes over the rows; `Infinity` for an endless stream. Default: 1. */
  epochs?: number;
  /** Leave out each epoch's last, smaller batch. Default: false. */
  dropLast?: boolean;
  /** Which rows. Default: `"train"`. */
  split?: StoreSplit;
  /** Chunks read ahead by the async iterator. Default: 1. */
  prefetch?: number;
}

/** The parts of a store the iterators read. */
export interface RowSource {
  /** Width of a row. */
  readonly d: number;
  /** Chunk entries of a split. */
  chunks(split: StoreSplit): readonly ChunkEntry[];
  /** Read one chunk. */
  readChunk(split: StoreSplit, index: number): Promise<RowBlock>;
  /** Read one chunk synchronously. */
  readChunkSync(split: StoreSplit, index: number): RowBlock;
}

/**
 * Shuffled batches, reading chunks synchronously.
 *
 * @param source The store.
 * @param options Batch size, seed, buffer size, epochs.
 * @returns The batches.
 */
export function* shuffledBatchesSync(source: RowSource, options: ShuffleOptions): Generator<ActivationBatch> {
  const o = checkShuffle(source, options);
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const plan = epochPlan(source, o, epoch);
    if (plan.order.length === 0) return;
    for (const c of plan.order) yield* plan.shuffler.feed(source.readChunkSync(o.split, c), plan.starts[c]);
    yield* plan.shuffler.drain();
  }
}

/**
 * Shuffled batches, reading the next chunks in the background while the current one is consumed.
 * Yields exactly the batches of {@linkcode shuffledBatchesSync} with the same options.
 *
 * @param source The store.
 * @param options Batch size, seed, buffer size, epochs, read-ahead.
 * @returns The batches.
 */
export async function* shuffledBatches(source: RowSource, options: ShuffleOptions): AsyncGenerator<ActivationBatch> {
  const o = checkShuffle(source, options);
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const plan = epochPlan(source, o, epoch);
    if (plan.order.length === 0) return;
    const queue: Promise<RowBlock>[] = [];
    let next = 0;
    const fill = () => {
      while (queue.length <= o.prefetch && next < plan.order.length) {
        const p = source.readChunk(o.split, plan.order[next++]);
        p.catch(() => {}); // surfaced when awaited; silences reads left behind by an early break
        queue.push(p);
      }
    };
    for (let k = 0; k < plan.order.length; k++) {
      fill();
      const block = await queue.shift()!;
      fill();
      yield* plan.shuffler.feed(block, plan.starts[plan.order[k]]);
    }
    yield* plan.shuffler.drain();
  }
}

/**
 * Rows of a split in stored order (no shuffling), in batches; for evaluation on held-out rows.
 *
 * @param source The store.
 * @param options Batch size and split (default `"heldout"`).
 * @returns The batches; the last may be smaller.
 */
export async function* sequentialBatches(
  source: RowSource,
  options: { batchSize: number; split?: StoreSplit },
): AsyncGenerator<ActivationBatch> {
  const o = checkShuffle(source, { ...options, split: options.split ?? "heldout" });
  const d = source.d;
  const chunks = source.chunks(o.split);
  let batch = emptyBatch(o.batchSize, d, 0);
  let row = 0;
  let pending = chunks.length > 0 ? source.readChunk(o.split, 0) : null;
  for (let c = 0; c < chunks.length; c++) {
    const block = await pending!;
    pending = c + 1 < chunks.length ? source.readChunk(o.split, c + 1) : null;
    pending?.catch(() => {});
    for (let r = 0; r < block.rows;) {
      const take = Math.min(block.rows - r, o.batchSize - batch.rows);
      const i = batch.rows;
      batch.x.set(block.x.subarray(r * d, (r + take) * d), i * d);
      batch.doc.set(block.doc.subarray(r, r + take), i);
      batch.pos.set(block.pos.subarray(r, r + take), i);
      batch.token.set(block.token.subarray(r, r + take), i);
      for (let k = 0; k < take; k++) batch.row[i + k] = row + r + k;
      batch.rows += take;
      r += take;
      if (batch.rows === o.batchSize) {
        yield batch;
        batch = emptyBatch(o.batchSize, d, 0);
      }
    }
    row += block.rows;
  }
  if (batch.rows > 0) yield trimBatch(batch);
}

function epochPlan(source: RowSource, o: ReturnType<typeof checkShuffle>, epoch: number) {
  const chunks = source.chunks(o.split);
  const random = seededRandom(hashString(`${o.seed}/${epoch}`));
  const order = shuffleInPlace(Array.from(chunks, (_, i) => i), random);
  const starts: number[] = [];
  let at = 0;
  for (const c of chunks) starts.push(at), at += c.rows;
  return { order, starts, shuffler: new Shuffler(source.d, o, { random, epoch }) };
}

/** The shuffle buffer of one epoch. */
class Shuffler {
  readonly #d: number;
  readonly #capacity: number;
  readonly #batchSize: number;
  readonly #dropLast: boolean;
  readonly #random: () => number;
  readonly #epoch: number;
  readonly #x: Float32Array; // [capacity, d]
  readonly #ids: Int32Array; // [capacity, 4]: doc, pos, token, row
  #filled = 0;
  #batch: ActivationBatch;

  constructor(d: number, o: { bufferRows: number; batchSize: number; dropLast: boolean }, at: {
    random: () => number;
    epoch: number;
  }) {
    this.#d = d;
    this.#capacity = o.bufferRows;
    this.#batchSize = o.batchSize;
    this.#dropLast = o.dropLast;
    this.#random = at.random;
    this.#epoch = at.epoch;
    this.#x = new Float32Array(o.bufferRows * d);
    this.#ids = new Int32Array(o.bufferRows * 4);
    this.#batch = this.#newBatch(o.batchSize);
  }

  /** Take in a chunk's rows; yields the batches that fill up meanwhile. */
  *feed(block: RowBlock, firstRow: number): Generator<ActivationBatch> {
    const d = this.#d;
    for (let r = 0; r < block.rows; r++) {
      let slot: number;
      if (this.#filled < this.#capacity) {
        slot = this.#filled++;
      } else {
        slot = Math.floor(this.#random() * this.#capacity);
        if (this.#emit(slot)) yield this.#take();
      }
      copyRow(block.x, r * d, this.#x, slot * d, d);
      const ids = this.#ids;
      ids[4 * slot] = block.doc[r];
      ids[4 * slot + 1] = block.pos[r];
      ids[4 * slot + 2] = block.token[r];
      ids[4 * slot + 3] = firstRow + r;
    }
  }

  /** Empty the buffer in random order; yields the remaining batches. */
  *drain(): Generator<ActivationBatch> {
    const d = this.#d;
    while (this.#filled > 0) {
      const slot = Math.floor(this.#random() * this.#filled);
      const full = this.#emit(slot);
      const last = --this.#filled;
      if (slot !== last) {
        copyRow(this.#x, last * d, this.#x, slot * d, d);
        this.#ids.copyWithin(4 * slot, 4 * last, 4 * last + 4);
      }
      if (full) yield this.#take();
    }
    const b = this.#batch;
    if (b.rows > 0 && !this.#dropLast) yield trimBatch(b);
    this.#batch = this.#newBatch(this.#batchSize);
  }

  /** Copy a buffered row into the batch; true when the batch is full. */
  #emit(slot: number): boolean {
    const b = this.#batch;
    const i = b.rows++;
    copyRow(this.#x, slot * this.#d, b.x, i * this.#d, this.#d);
    b.doc[i] = this.#ids[4 * slot];
    b.pos[i] = this.#ids[4 * slot + 1];
    b.token[i] = this.#ids[4 * slot + 2];
    b.row[i] = this.#ids[4 * slot + 3];
    return b.rows === this.#batchSize;
  }

  #take(): ActivationBatch {
    const b = this.#batch;
    this.#batch = this.#newBatch(this.#batchSize);
    return b;
  }

  #newBatch(n: number): ActivationBatch {
    return emptyBatch(n, this.#d, this.#epoch);
  }
}

function emptyBatch(n: number, d: number, epoch: number): ActivationBatch {
  return { ...allocRows(n, d), rows: 0, row: new Int32Array(n), epoch }; // x: [n, d]
}

function copyRow(src: Float32Array, from: number, dst: Float32Array, to: number, d: number): void {
  if (d >= 64) {
    dst.set(src.subarray(from, from + d), to);
    return;
  }
  for (let k = 0; k < d; k++) dst[to + k] = src[from + k];
}

function trimBatch(b: ActivationBatch): ActivationBatch {
  const n = b.rows;
  return {
    rows: n,
    d: b.d,
    x: b.x.slice(0, n * b.d),
    doc: b.doc.slice(0, n),
    pos: b.pos.slice(0, n),
    token: b.token.slice(0, n),
    row: b.row.slice(0, n),
    epoch: b.epoch,
  };
}

function checkShuffle(source: RowSource, options: ShuffleOptions) {
  const fail = (why: string) => new RangeError(`Cannot iterate over stored activations: ${why}`);
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw fail(`batchSize ${batchSize} is not a whole number ≥ 1`);
  const bufferRows = options.bufferRows ?? 65536;
  if (!Number.isInteger(bufferRows) || bufferRows < 1) throw fail(`bufferRows ${bufferRows} is not a whole number ≥ 1`);
  const epochs = options.epochs ?? 1;
  if (!(epochs >= 0) || (Number.isFinite(epochs) && !Number.isInteger(epochs))) {
    throw fail(`epochs ${epochs} is not a whole number ≥ 0 or Infinity`);
  }
  const prefetch = options.prefetch ?? 1;
  if (!Number.isInteger(prefetch) || prefetch < 0) throw fail(`prefetch ${prefetch} is not a whole number ≥ 0`);
  const split = options.split ?? "train";
  if (split !== "train" && split !== "heldout") throw new TypeError(`Cannot iterate: unknown split ${split}`);
  const seed = options.seed ?? 0;
  if (!Number.isFinite(seed)) throw fail(`seed ${seed} is not a number`);
  return { batchSize, bufferRows, epochs, prefetch, split, seed, dropLast: options.dropLast ?? false, d: source.d };
}
