import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { loadDocuments, makeWindows, memorySource, tokenizeDocuments, type TokenWindows } from "@saelab/corpus";
import { findBadChunks, harvest, openStore, reharvestChunks } from "@saelab/activations";
import { fakeModel } from "./_testing.ts";

const gpu = await createGpu();
const chars = { encode: (t: string) => Array.from(t, (c) => c.charCodeAt(0) % 50) };
const texts: Record<string, string> = {};
for (let i = 0; i < 14; i++) texts[`doc${i}`] = `Document ${i}: ` + "the quick brown fox jumps. ".repeat(1 + (i % 4));
const windows: TokenWindows = makeWindows(
  tokenizeDocuments(await loadDocuments([memorySource("mem", texts)]), chars, { separator: 0 }),
  { contextLength: 8, stride: 6 },
).shuffle(3);

Deno.test("a corrupted and a missing chunk are named, and re-harvesting redoes only their windows, row for row", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // a cap that cuts the last window short, so the replayed layout must end where the harvest did
    const options = {
      hook: "blocks.1.hook_resid_post",
      dir,
      batchSize: 4,
      chunkRows: 40,
      heldOutFraction: 0.3,
      splitSeed: 1,
      maxTokens: windows.ownedTokens - 5,
    };
    const { manifest } = await harvest(fakeModel(gpu, { d: 6, numLayers: 3 }), windows, options);
    assert.ok(manifest.chunks.length >= 3 && manifest.heldOutChunks.length >= 1);
    const files = [...manifest.chunks, ...manifest.heldOutChunks].map((c) => c.file);
    const before = new Map(await Promise.all(files.map(async (f) => [f, await Deno.readFile(`${dir}/${f}`)] as const)));
    assert.deepEqual(await findBadChunks(dir), []);

    const altered = manifest.chunks[1].file, gone = manifest.heldOutChunks[0].file;
    const bytes = before.get(altered)!.slice();
    bytes[bytes.length - 3] ^= 0xff;
    await Deno.writeFile(`${dir}/${altered}`, bytes);
    await Deno.remove(`${dir}/${gone}`);
    const bad = await findBadChunks(dir);
    assert.deepEqual(bad.map((b) => [b.split, b.index, b.file]), [["train", 1, altered], ["heldout", 0, gone]]);
    assert.match(bad[0].reason, /SHA-256 differs/);
    assert.match(bad[1].reason, /missing/);
    assert.deepEqual((await findBadChunks(dir, { splits: ["heldout"] })).map((b) => b.file), [gone]);

    const model = fakeModel(gpu, { d: 6, numLayers: 3 });
    const done = await reharvestChunks(model, windows, { ...options, bad });
    assert.deepEqual(done, bad);
    assert.ok(model.windows > 0 && model.windows < windows.count, `ran ${model.windows} of ${windows.count} windows`);
    assert.deepEqual(await findBadChunks(dir), []);
    for (const f of files) assert.deepEqual(await Deno.readFile(`${dir}/${f}`), before.get(f), f);
    const store = await openStore(dir);
    await store.verify();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a store harvested with other settings is not repaired", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const options = { hook: "blocks.1.hook_resid_post", dir, batchSize: 4, chunkRows: 40, heldOutFraction: 0.3 };
    await harvest(fakeModel(gpu, { d: 6, numLayers: 3 }), windows, options);
    await assert.rejects(
      () =>
        reharvestChunks(fakeModel(gpu, { d: 6, numLayers: 3 }), windows, { ...options, heldOutFraction: 0.5, bad: [] }),
      /Cannot repair the activation store in .*: it was harvested with other settings \(heldOutFraction differ\)/,
    );
    // the same settings with another chunk size do not reproduce its chunks
    await assert.rejects(
      () => reharvestChunks(fakeModel(gpu, { d: 6, numLayers: 3 }), windows, { ...options, chunkRows: 30, bad: [] }),
      /do not follow from these windows with 30 rows per chunk/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

globalThis.addEventListener("unload", () => gpu.destroy());
