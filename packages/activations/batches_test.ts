import assert from "node:assert/strict";
import {
  type ActivationBatch,
  type ChunkEntry,
  type RowBlock,
  type RowSource,
  sequentialBatches,
  shuffledBatches,
  shuffledBatchesSync,
  type StoreSplit,
} from "@saelab/activations";

const D = 3;

/** An in-memory store whose row r has x = [r, r + 0.25, r + 0.5] and ids derived from r. */
function memoryStore(chunkRows: number[]): RowSource & { reads: number; inFlight: number; maxInFlight: number } {
  const blocks: RowBlock[] = [];
  let r0 = 0;
  for (const n of chunkRows) {
    const x = new Float32Array(n * D);
    for (let i = 0; i < n; i++) for (let k = 0; k < D; k++) x[i * D + k] = r0 + i + 0.25 * k;
    const ids = (f: (r: number) => number) => Int32Array.from({ length: n }, (_, i) => f(r0 + i));
    blocks.push({ rows: n, d: D, x, doc: ids((r) => r % 7), pos: ids((r) => 3 * r), token: ids((r) => r ^ 5) });
    r0 += n;
  }
  const entries: ChunkEntry[] = blocks.map((b, i) => ({ file: `c${i}`, rows: b.rows, bytes: 0, sha256: "" }));
  const src = {
    d: D,
    reads: 0,
    inFlight: 0,
    maxInFlight: 0,
    chunks: (split: StoreSplit) => (split === "train" ? entries : entries.slice(0, 1)),
    readChunkSync(_split: StoreSplit, i: number) {
      src.reads++;
      return blocks[i];
    },
    async readChunk(_split: StoreSplit, i: number) {
      src.inFlight++;
      src.maxInFlight = Math.max(src.maxInFlight, src.inFlight);
      await new Promise((r) => setTimeout(r, 1));
      src.inFlight--;
      return src.readChunkSync("train", i);
    },
  };
  return src;
}

const sizes = [40, 13, 40, 1, 27, 40, 40, 9];
const total = sizes.reduce((a, b) => a + b, 0);

function checkRows(b: ActivationBatch): void {
  for (let i = 0; i < b.rows; i++) {
    const r = b.row[i];
    assert.deepEqual([...b.x.subarray(i * D, i * D + D)], [r, r + 0.25, r + 0.5]);
    assert.deepEqual([b.doc[i], b.pos[i], b.token[i]], [r % 7, 3 * r, r ^ 5]);
  }
}

for (const bufferRows of [1, 16, 100, 1000]) {
  Deno.test(`an epoch yields every row exactly once (buffer of ${bufferRows} rows)`, () => {
    const batches = [...shuffledBatchesSync(memoryStore(sizes), { batchSize: 32, bufferRows, epochs: 3, seed: 4 })];
    for (let epoch = 0; epoch < 3; epoch++) {
      const mine = batches.filter((b) => b.epoch === epoch);
      const count = new Uint8Array(total);
      for (const b of mine) {
        checkRows(b);
        for (const r of b.row) count[r]++;
      }
      assert.ok(count.every((c) => c === 1), `epoch ${epoch}: some row seen ${Math.max(...count)} or 0 times`);
      assert.ok(mine.slice(0, -1).every((b) => b.rows === 32 && b.x.length === 32 * D));
      assert.equal(mine.at(-1)!.rows, total % 32);
    }
  });
}

Deno.test("the order depends only on the seed, and changes between epochs", () => {
  const rows = (seed: number, epochs = 1) =>
    [...shuffledBatchesSync(memoryStore(sizes), { batchSize: 10, bufferRows: 50, seed, epochs })].flatMap((b) => [
      ...b.row,
    ]);
  assert.deepEqual(rows(1), rows(1));
  assert.notDeepEqual(rows(1), rows(2));
  const two = rows(1, 2);
  assert.deepEqual(two.slice(0, total), rows(1));
  assert.notDeepEqual(two.slice(total), two.slice(0, total));
  assert.notDeepEqual(rows(1), Array.from({ length: total }, (_, i) => i));
});

Deno.test("the shuffle buffer mixes rows from several chunks into one batch", () => {
  const first = shuffledBatchesSync(memoryStore(sizes), { batchSize: 20, bufferRows: 120, seed: 9 }).next().value!;
  const chunkOf = (r: number) => {
    let at = 0;
    for (let c = 0; c < sizes.length; c++) if (r < (at += sizes[c])) return c;
    return -1;
  };
  assert.ok(new Set([...first.row].map(chunkOf)).size >= 3);
});

Deno.test("the prefetching iterator yields the same batches and reads a bounded number of chunks ahead", async () => {
  for (const prefetch of [0, 1, 3]) {
    const opts = { batchSize: 16, bufferRows: 30, seed: 5, epochs: 2, prefetch };
    const want = [...shuffledBatchesSync(memoryStore(sizes), opts)];
    const src = memoryStore(sizes);
    const got = await Array.fromAsync(shuffledBatches(src, opts));
    assert.deepEqual(got, want);
    assert.ok(src.maxInFlight <= prefetch + 1, `prefetch ${prefetch}: ${src.maxInFlight} reads in flight`);
    if (prefetch > 0) assert.ok(src.maxInFlight > 1, "reads overlap");
  }
});

Deno.test("an endless stream can be left early; dropLast drops the short batch", async () => {
  let n = 0;
  for await (const b of shuffledBatches(memoryStore(sizes), { batchSize: 64, epochs: Infinity, prefetch: 2 })) {
    checkRows(b);
    if (++n === 20) break;
  }
  assert.equal(n, 20);
  const dropped = [...shuffledBatchesSync(memoryStore(sizes), { batchSize: 64, dropLast: true })];
  assert.equal(dropped.length, Math.floor(total / 64));
  assert.throws(() => shuffledBatchesSync(memoryStore(sizes), { batchSize: 0 }).next(), /batchSize 0/);
});

Deno.test("sequential batches keep stored order", async () => {
  const got = await Array.fromAsync(sequentialBatches(memoryStore(sizes), { batchSize: 25, split: "train" }));
  assert.deepEqual(got.flatMap((b) => [...b.row]), Array.from({ length: total }, (_, i) => i));
  got.forEach(checkRows);
  const held = await Array.fromAsync(sequentialBatches(memoryStore(sizes), { batchSize: 25 }));
  assert.equal(held.reduce((n, b) => n + b.rows, 0), sizes[0]);
});
