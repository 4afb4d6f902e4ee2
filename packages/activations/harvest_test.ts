import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import {
  loadDocuments,
  makeWindows,
  memorySource,
  splitOf,
  tokenizeDocuments,
  type TokenWindows,
} from "@saelab/corpus";
import {
  allocRows,
  harvest,
  type HarvestOptions,
  type Manifest,
  openStore,
  planHarvest,
  type RowBlock,
} from "@saelab/activations";
import { fakeActivation, fakeModel } from "./_testing.ts";

const gpu = await createGpu();
const D = 6;
const T = 8;
const HOOK = "blocks.1.hook_resid_post";

const chars = { encode: (t: string) => Array.from(t, (c) => c.charCodeAt(0) % 50) };
const texts: Record<string, string> = {};
for (let i = 0; i < 14; i++) texts[`doc${i}`] = `Document ${i}: ` + "the quick brown fox jumps. ".repeat(1 + (i % 4));
const docs = await loadDocuments([memorySource("mem", texts)]);
const windows: TokenWindows = makeWindows(tokenizeDocuments(docs, chars, { separator: 0 }), {
  contextLength: T,
  stride: 6,
}).shuffle(3);
const base = { hook: HOOK, batchSize: 4, chunkRows: 40, heldOutFraction: 0.3, splitSeed: 1 } as const;

/** Run `fn` with `count` fresh temporary folders, removed afterwards whatever happens. */
async function withTempDirs(count: number, fn: (...dirs: string[]) => Promise<void>): Promise<void> {
  const dirs: string[] = [];
  try {
    for (let i = 0; i < count; i++) dirs.push(await Deno.makeTempDir({ prefix: "acts-" }));
    await fn(...dirs);
  } finally {
    for (const dir of dirs) {
      await Deno.remove(dir, { recursive: true }).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e; // a test may remove a folder itself
      });
    }
  }
}

async function allRows(dir: string, split: "train" | "heldout"): Promise<RowBlock> {
  const store = await openStore(dir);
  const n = store.rows(split);
  return n === 0 ? allocRows(0, store.d) : await store.getRows(0, n, { split });
}

/** Expected activation of every owned (document, position), computed from the windows on the CPU. */
function expectedRows(w: TokenWindows, layer: number): Map<string, { x: Float32Array; token: number }> {
  const out = new Map<string, { x: Float32Array; token: number }>();
  for (let i = 0; i < w.count; i++) {
    const win = w.get(i);
    for (let t = win.first; t < T; t++) {
      const x = Float32Array.from({ length: D }, (_, k) => fakeActivation(win.ids, t, k, layer));
      out.set(`${win.doc}:${win.start + t}`, { x, token: win.ids[t] });
    }
  }
  return out;
}

Deno.test("harvest stores each owned position once, with its activation and ids, split by document", () =>
  withTempDirs(1, async (dir) => {
    const model = fakeModel(gpu, { d: D, numLayers: 3 });
    const { manifest } = await harvest(model, windows, { ...base, dir });
    assert.equal(manifest.complete, true);
    assert.equal(manifest.d, D);
    assert.equal(manifest.layer, 1);
    assert.equal(manifest.rows.train + manifest.rows.heldout, windows.ownedTokens);
    assert.ok(manifest.chunks.length > 2 && manifest.heldOutChunks.length > 0, "several chunks of each split");
    assert.ok(manifest.chunks.every((c) => c.rows <= base.chunkRows + T));
    const expected = expectedRows(windows, 1);
    const seen = new Set<string>();
    for (const split of ["train", "heldout"] as const) {
      const r = await allRows(dir, split);
      for (let i = 0; i < r.rows; i++) {
        const key = `${r.doc[i]}:${r.pos[i]}`;
        assert.ok(!seen.has(key), `${key} stored twice`);
        seen.add(key);
        const want = expected.get(key);
        assert.ok(want, `${key} is not an owned position`);
        assert.equal(r.token[i], want.token);
        assert.deepEqual(r.x.subarray(i * D, (i + 1) * D), want.x, `row ${key}`);
        assert.equal(splitOf(manifest.documents[r.doc[i]], { heldOutFraction: 0.3, seed: 1 }), split);
      }
    }
    assert.equal(seen.size, expected.size);
  }));

Deno.test("a harvest aborted midway and run again gives exactly the rows of an uninterrupted one", () =>
  withTempDirs(2, async (full, cut) => {
    for (const maxTokens of [undefined, 150]) {
      const options: HarvestOptions = { ...base, maxTokens, dir: full };
      const reference = await harvest(fakeModel(gpu, { d: D, numLayers: 3 }), windows, { ...options, overwrite: true });
      const controller = new AbortController();
      let batches = 0;
      const model = fakeModel(gpu, { d: D, numLayers: 3 });
      await assert.rejects(
        harvest(model, windows, {
          ...options,
          dir: cut,
          signal: controller.signal,
          onProgress: () => ++batches === 6 && controller.abort(),
        }),
        (e: Error) => e.name === "AbortError",
      );
      const partial: Manifest = JSON.parse(await Deno.readTextFile(`${cut}/manifest.json`));
      assert.equal(partial.complete, false);
      assert.ok(partial.windowsDone > 0 && partial.windowsDone < windows.count);
      // what a kill between writing a chunk and committing it leaves behind
      const next = `train-${String(partial.chunks.length).padStart(6, "0")}.safetensors`;
      await Deno.writeTextFile(`${cut}/${next}`, "half-written");
      await Deno.writeTextFile(`${cut}/.${next}.1a2b3c4d.tmp`, "partial");
      await Deno.writeTextFile(`${cut}/notes.txt`, "not ours");

      const again = fakeModel(gpu, { d: D, numLayers: 3 });
      const resumed = await harvest(again, windows, { ...options, dir: cut });
      assert.equal(resumed.resumedAt, partial.windowsDone);
      assert.equal(again.windows, windows.count - partial.windowsDone - (maxTokens ? countAfter(options) : 0));
      assert.deepEqual(resumed.manifest.chunks, reference.manifest.chunks); // same rows, sizes and SHA-256
      assert.deepEqual(resumed.manifest.heldOutChunks, reference.manifest.heldOutChunks);
      assert.deepEqual(resumed.manifest.rows, reference.manifest.rows);
      for (const split of ["train", "heldout"] as const) {
        assert.deepEqual(await allRows(cut, split), await allRows(full, split));
      }
      const names = [...Deno.readDirSync(cut)].map((e) => e.name);
      assert.ok(!names.some((n) => n.endsWith(".tmp")), "temporary file removed");
      assert.ok(names.includes("notes.txt"), "unrelated files are left alone");
      if (maxTokens) assert.equal(reference.manifest.rows.train + reference.manifest.rows.heldout, maxTokens);

      const noop = fakeModel(gpu, { d: D, numLayers: 3 });
      const finished = await harvest(noop, windows, { ...options, dir: cut });
      assert.equal(noop.forwards, 0, "a complete store is not harvested again");
      assert.equal(finished.rowsWritten, 0);
      await Deno.remove(cut, { recursive: true });
      await Deno.mkdir(cut);
    }
  }));

/** Windows after the one where `maxTokens` is reached (never run). */
function countAfter(options: HarvestOptions): number {
  let rows = 0;
  for (let w = 0; w < windows.count; w++) {
    rows += T - windows.first[w];
    if (rows >= options.maxTokens!) return windows.count - w - 1;
  }
  return 0;
}

Deno.test("resuming into a store made with other settings is refused", () =>
  withTempDirs(1, async (dir) => {
    const model = fakeModel(gpu, { d: D, numLayers: 3 });
    await harvest(model, windows, { ...base, dir });
    await assert.rejects(
      harvest(model, windows, { ...base, dir, hook: "blocks.0.hook_resid_post" }),
      (e: Error) => e instanceof TypeError && /other settings \(hook differ\)/.test(e.message),
    );
    await assert.rejects(harvest(model, windows.take(5), { ...base, dir }), /windows, windowsSha256 differ/);
    await assert.rejects(harvest(model, windows, { ...base, dir, dtype: "f16" }), /dtype differ/);
    const redone = await harvest(model, windows, { ...base, dir, dtype: "f16", overwrite: true });
    assert.equal(redone.manifest.dtype, "f16");
    assert.equal(redone.resumedAt, 0);
    await assert.rejects(
      harvest(model, windows, { ...base, dir: `${dir}/x`, hook: "blocks.3.hook_resid_post" }),
      RangeError,
    );
    await assert.rejects(harvest(model, windows, { ...base, dir, batchSize: 0 }), /batchSize 0/);
  }));

Deno.test("an f16 store reads back within f16 rounding of the f32 store", () =>
  withTempDirs(2, async (a, b) => {
    const model = fakeModel(gpu, { d: D, numLayers: 3 });
    const r32 = await harvest(model, windows, { ...base, dir: a });
    const r16 = await harvest(model, windows, { ...base, dir: b, dtype: "f16" });
    assert.deepEqual(r16.manifest.rows, r32.manifest.rows);
    const bytes = (m: Manifest) => m.chunks.reduce((n, c) => n + c.bytes, 0);
    assert.ok(bytes(r16.manifest) < 0.8 * bytes(r32.manifest));
    for (const split of ["train", "heldout"] as const) {
      const x32 = await allRows(a, split);
      const x16 = await allRows(b, split);
      assert.deepEqual([x16.doc, x16.pos, x16.token], [x32.doc, x32.pos, x32.token]);
      let worst = 0;
      for (let i = 0; i < x32.x.length; i++) {
        // round to nearest f16: relative error ≤ 2^-11 for normal values, absolute ≤ 2^-25 for subnormals
        const bound = 2 ** -11 * Math.abs(x32.x[i]) + 2 ** -25;
        worst = Math.max(worst, Math.abs(x16.x[i] - x32.x[i]) / bound);
      }
      assert.ok(worst <= 1, `worst error is ${worst} times the f16 bound`);
      assert.ok(worst > 0, "f16 rows differ from f32 ones somewhere");
    }
  }));

Deno.test("a missing, truncated or altered chunk gives a clear error", () =>
  withTempDirs(1, async (dir) => {
    const model = fakeModel(gpu, { d: D, numLayers: 3 });
    const { manifest } = await harvest(model, windows, { ...base, dir });
    const [c0, c1, c2] = manifest.chunks.map((c) => `${dir}/${c.file}`);
    const store = await openStore(dir);
    await store.verify();

    const bytes = await Deno.readFile(c0);
    bytes[bytes.length - 3] ^= 0x40;
    await Deno.writeFile(c0, bytes);
    await assert.rejects(store.readChunk("train", 0), /chunk train-000000\.safetensors .*SHA-256 differs/);
    await assert.rejects(store.verify(), { name: "StoreError" });
    const unchecked = await openStore(dir, { verify: false });
    await unchecked.readChunk("train", 0); // same size, so only the hash could tell

    await Deno.writeFile(c1, (await Deno.readFile(c1)).subarray(0, 100));
    await assert.rejects(openStore(dir), /train-000001\.safetensors has 100 bytes but the manifest says/);
    await assert.rejects(store.readChunk("train", 1), /has 100 bytes/);

    await Deno.remove(c2);
    await assert.rejects(store.readChunk("train", 2), /train-000002\.safetensors .*the file is missing/);

    await Deno.remove(`${dir}/manifest.json`);
    await assert.rejects(openStore(dir), /has no manifest\.json/);
    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify({ ...manifest, complete: false }));
    await assert.rejects(openStore(dir), /harvest stopped at window/);
    await Deno.writeTextFile(`${dir}/manifest.json`, "{");
    await assert.rejects(openStore(dir), /not valid JSON/);
  }));

Deno.test("progress is reported after each batch", () =>
  withTempDirs(1, async (dir) => {
    const seen: number[] = [];
    const model = fakeModel(gpu, { d: D, numLayers: 2 });
    await harvest(model, windows, {
      ...base,
      dir,
      hook: "blocks.0.hook_resid_post",
      onProgress: (p) => seen.push(p.rows),
    });
    assert.equal(seen.length, model.forwards, "one report per forward pass");
    const plan = planHarvest(windows, base); // batches start at each commit point
    assert.equal(seen.length, plan.ranges.reduce((n, r) => n + Math.ceil((r.to - r.from) / base.batchSize), 0));
    assert.equal(seen.at(-1), windows.ownedTokens);
    assert.ok(seen.every((r, i) => i === 0 || r > seen[i - 1]));
  }));

Deno.test("a store's shuffled batches cover each stored row once and match random access", () =>
  withTempDirs(1, async (dir) => {
    await harvest(fakeModel(gpu, { d: D, numLayers: 3 }), windows, { ...base, dir, dtype: "f16" });
    const store = await openStore(dir);
    const all = await store.getRows(0, store.rows("train"));
    const opts = { batchSize: 17, bufferRows: 50, seed: 2, prefetch: 2 };
    const batches = await Array.fromAsync(store.batches(opts));
    assert.deepEqual(batches, [...store.batchesSync(opts)]);
    const seen = new Uint8Array(store.rows());
    for (const b of batches) {
      for (let i = 0; i < b.rows; i++) {
        const r = b.row[i];
        seen[r]++;
        assert.deepEqual(b.x.subarray(i * D, (i + 1) * D), all.x.subarray(r * D, (r + 1) * D));
        assert.deepEqual([b.doc[i], b.pos[i], b.token[i]], [all.doc[r], all.pos[r], all.token[r]]);
      }
    }
    assert.ok(seen.every((c) => c === 1));
    const one = await store.getRows(store.rows() - 1, 5);
    assert.equal(one.rows, 1);
    await assert.rejects(store.getRows(store.rows(), 1), RangeError);
    const held = await Array.fromAsync(store.sequential({ batchSize: 7 }));
    assert.deepEqual(held.flatMap((b) => [...b.pos]), [
      ...(await store.getRows(0, store.rows("heldout"), { split: "heldout" })).pos,
    ]);
  }));

Deno.test("harvest: the GPU context is released", () => {
  gpu.destroy();
});
