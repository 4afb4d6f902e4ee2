import assert from "node:assert/strict";
import { join } from "node:path";
import { fileSource, openSafetensors, writeSafetensors } from "./file.ts";
import { blobSource, type ByteSource, openSafetensorsFrom } from "./reader.ts";
import { serializeSafetensors } from "./serialize.ts";
import { list, withDir } from "./_test_util.ts";

/** Wrap a source and record every range read from it. */
function counting(source: ByteSource): { source: ByteSource; reads: [number, number][] } {
  const reads: [number, number][] = [];
  return {
    reads,
    source: { ...source, read: (o, n) => (reads.push([o, n]), source.read(o, n)), close: () => source.close?.() },
  };
}

Deno.test("writeSafetensors → openSafetensors: values, metadata, `using`", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "m.safetensors");
    const w = Float32Array.from({ length: 12 }, (_, i) => i / 8 - 0.7); // [3, 4]
    await writeSafetensors(path, {
      w: { dtype: "F32", shape: [3, 4], data: w },
      h: { dtype: "F16", shape: [3, 4], data: w },
      ids: { dtype: "I64", shape: [2], data: [5, 6] },
    }, { metadata: { format: "pt" } });
    assert.deepEqual(await list(dir), ["m.safetensors"]);
    {
      using f = await openSafetensors(path);
      assert.deepEqual(f.names, ["h", "ids", "w"]);
      assert.deepEqual(f.metadata, { format: "pt" });
      assert.deepEqual(f.info("w"), { dtype: "F32", shape: [3, 4], byteLength: 48, dataOffsets: [40, 88], file: path });
      assert.deepEqual(await f.getFloat32("w"), w);
      const h = await f.getFloat32("h");
      for (let i = 0; i < w.length; i++) assert.ok(Math.abs(h[i] - w[i]) <= 2 ** -11 * Math.abs(w[i]), `h[${i}]`);
      assert.deepEqual(await f.getInt32("ids"), new Int32Array([5, 6]));
    }
    // The bytes on disk are exactly what serializeSafetensors gives.
    assert.deepEqual(
      await Deno.readFile(path),
      serializeSafetensors({
        w: { dtype: "F32", shape: [3, 4], data: w },
        h: { dtype: "F16", shape: [3, 4], data: w },
        ids: { dtype: "I64", shape: [2], data: [5, 6] },
      }, { metadata: { format: "pt" } }),
    );
  });
});

Deno.test("lazy: opening reads only the header, get reads only that tensor's byte range", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "m.safetensors");
    const big = new Float32Array(50_000).map((_, i) => Math.sin(i)); // [50000]
    await writeSafetensors(path, {
      big: { dtype: "F32", shape: [50_000], data: big },
      small: { dtype: "I32", shape: [2], data: [1, 2] },
    });
    const { source, reads } = counting(await fileSource(path));
    using f = await openSafetensorsFrom(source);
    const headerBytes = f.dataStart;
    assert.equal(reads.reduce((a, [, n]) => a + n, 0), headerBytes);
    assert.deepEqual(await f.getInt32("small"), new Int32Array([1, 2]));
    assert.deepEqual(reads.at(-1), [headerBytes + 200_000, 8]);
    assert.equal(reads.reduce((a, [, n]) => a + n, 0), headerBytes + 8);
  });
});

Deno.test("lazy: one small tensor from a 300 MB (sparse) file without loading the rest", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "huge.safetensors");
    const bigBytes = 300_000_000;
    const json = JSON.stringify({
      big: { dtype: "U8", shape: [bigBytes], data_offsets: [0, bigBytes] },
      small: { dtype: "F32", shape: [3], data_offsets: [bigBytes, bigBytes + 12] },
    });
    const prefix = new Uint8Array(8 + json.length);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
    prefix.set(new TextEncoder().encode(json), 8);
    const small = new Uint8Array(new Float32Array([0.25, -8, 1e-3]).buffer);
    using file = await Deno.open(path, { write: true, create: true });
    await file.write(prefix);
    await file.truncate(prefix.length + bigBytes);
    await file.seek(prefix.length + bigBytes, Deno.SeekMode.Start);
    await file.write(small);
    const before = Deno.memoryUsage().rss;
    using f = await openSafetensors(path);
    assert.equal(f.info("big").byteLength, bigBytes);
    assert.deepEqual(await f.getFloat32("small"), new Float32Array([0.25, -8, 1e-3]));
    const grown = Deno.memoryUsage().rss - before;
    assert.ok(grown < 100_000_000, `reading one tensor grew the process by ${grown} bytes`);
  });
});

Deno.test("concurrent gets on one file return the right tensors", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "m.safetensors");
    const tensors = Object.fromEntries(
      Array.from(
        { length: 20 },
        (_, k) => [`t${k}`, { dtype: "F32" as const, shape: [k + 1], data: new Float32Array(k + 1).fill(k) }],
      ),
    );
    await writeSafetensors(path, tensors);
    using f = await openSafetensors(path);
    const got = await Promise.all(f.names.map((n) => f.getFloat32(n)));
    for (const [i, n] of f.names.entries()) assert.deepEqual(got[i], tensors[n].data, n);
  });
});

Deno.test("atomic write: a failure leaves the existing file intact and no temporary files", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "m.safetensors");
    await writeSafetensors(path, { a: { dtype: "F32", shape: [2], data: [1, 2] } });
    const original = await Deno.readFile(path);
    // Refused before anything is written: a bad shape.
    await assert.rejects(writeSafetensors(path, { a: { dtype: "F32", shape: [3], data: [1, 2] } }), RangeError);
    // Refused while writing: the last tensor (in name order) holds a value I64 cannot take,
    // after a large first tensor has already gone to the temporary file.
    await assert.rejects(
      writeSafetensors(path, {
        a: { dtype: "F32", shape: [100_000], data: new Float32Array(100_000) },
        z: { dtype: "I64", shape: [2], data: [1, 0.5] },
      }),
      (e) => e instanceof RangeError && /"z" as I64: element 1 \(0.5\)/.test(e.message),
    );
    assert.deepEqual(await list(dir), ["m.safetensors"]);
    assert.deepEqual(await Deno.readFile(path), original);
    // A successful write replaces it, again leaving nothing else behind.
    await writeSafetensors(path, { b: { dtype: "BF16", shape: [1], data: [3] } });
    assert.deepEqual(await list(dir), ["m.safetensors"]);
    using f = await openSafetensors(path);
    assert.deepEqual(await f.getFloat32("b"), new Float32Array([3]));
  });
});

Deno.test("blobSource: lazy reads from a Blob (the browser path)", async () => {
  const bytes = serializeSafetensors({
    a: { dtype: "F16", shape: [2], data: [0.5, -1] },
    b: { dtype: "U8", shape: [3], data: [1, 2, 3] },
  });
  const { source, reads } = counting(blobSource(new Blob([bytes]), "drop.safetensors"));
  using f = await openSafetensorsFrom(source);
  assert.equal(f.file, "drop.safetensors");
  assert.deepEqual((await f.get("b")).data, new Uint8Array([1, 2, 3]));
  assert.deepEqual(reads.at(-1), [f.dataStart + 4, 3]);
  assert.deepEqual(await f.getFloat32("a"), new Float32Array([0.5, -1]));
  await assert.rejects(
    openSafetensorsFrom(blobSource(new Blob([bytes.subarray(0, 20)]))),
    /Cannot read <blob>: header length/,
  );
});
