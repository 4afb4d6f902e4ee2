import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { loadDocuments, makeWindows, memorySource, tokenizeDocuments, type TokenWindows } from "@saelab/corpus";
import {
  assembleManifest,
  harvest,
  harvestRange,
  openStore,
  planHarvest,
  planStore,
  type RangeChunks,
  readManifest,
} from "@saelab/activations";
import { fakeModel } from "./_testing.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());
const chars = { encode: (t: string) => Array.from(t, (c) => c.charCodeAt(0) % 50) };
const texts: Record<string, string> = {};
for (let i = 0; i < 16; i++) texts[`doc${i}`] = `Document ${i}: ` + "a lazy dog sleeps. ".repeat(1 + (i % 5));
const windows: TokenWindows = makeWindows(
  tokenizeDocuments(await loadDocuments([memorySource("mem", texts)]), chars, { separator: 0 }),
  { contextLength: 8, stride: 5 },
).shuffle(7);

Deno.test("the plan's ranges cover every window once and cut chunks where the buffers fill", () => {
  const maxTokens = windows.ownedTokens - 3;
  const plan = planHarvest(windows, { chunkRows: 30, heldOutFraction: 0.3, splitSeed: 2, maxTokens });
  assert.ok(plan.ranges.length >= 3, `${plan.ranges.length} ranges`);
  assert.equal(plan.rowsTotal, maxTokens);
  let from = 0, rows = 0;
  const next = { train: 0, heldout: 0 };
  for (const r of plan.ranges) {
    assert.equal(r.from, from);
    assert.equal(r.rowsBefore, rows);
    let own = 0;
    for (let w = r.from; w < r.to; w++) own += (w === r.to - 1 ? r.lastEnd : 8) - windows.first[w];
    assert.equal(own, r.rows);
    for (const split of ["train", "heldout"] as const) {
      const c = r.chunks[split];
      if (!c) continue;
      assert.equal(c.index, next[split]++);
      assert.equal(c.file, `${split}-${String(c.index).padStart(6, "0")}.safetensors`);
    }
    const total = (r.chunks.train?.rows ?? 0) + (r.chunks.heldout?.rows ?? 0);
    assert.equal(total, r.rows);
    if (r !== plan.ranges.at(-1)) assert.ok(r.chunks.train!.rows >= 30 || r.chunks.heldout!.rows >= 30);
    from = r.to;
    rows += r.rows;
  }
  assert.ok(plan.ranges.at(-1)!.lastEnd < 8, "the row cap cuts the last window");
});

Deno.test("ranges harvested out of order and assembled give the sequential harvest's bytes and manifest", async () => {
  const [one, shards] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    const options = { hook: "blocks.1.hook_resid_post", batchSize: 3, chunkRows: 30, heldOutFraction: 0.3 };
    const reference = await harvest(fakeModel(gpu, { d: 5, numLayers: 2 }), windows, { ...options, dir: one });
    const model = fakeModel(gpu, { d: 5, numLayers: 2 });
    const store = await planStore(model, windows, { ...options, dir: shards });
    assert.equal(store.start, 0);
    assert.equal(store.manifest, null);
    const order = store.plan.ranges.map((_, i) => i).reverse();
    const done: RangeChunks[] = [];
    for (const range of order) {
      done.push(await harvestRange(model, windows, { ...options, dir: shards, plan: store.plan, range, dtype: "f32" }));
    }
    assert.equal(model.windows, windows.count, "each window ran once");
    const manifest = assembleManifest(store.base, { plan: store.plan, ranges: done, dir: shards });
    assert.deepEqual(manifest, reference.manifest);
    for (const c of [...manifest.chunks, ...manifest.heldOutChunks]) {
      assert.deepEqual(await Deno.readFile(`${shards}/${c.file}`), await Deno.readFile(`${one}/${c.file}`), c.file);
    }
    // a range missing from the middle cannot be committed
    assert.throws(
      () => assembleManifest(store.base, { plan: store.plan, ranges: done.filter((d) => d.range !== 1), dir: shards }),
      /range 2 does not start at window/,
    );
    // a store committed up to a range resumes after it
    const partial = assembleManifest(store.base, {
      plan: store.plan,
      ranges: done.filter((d) => d.range < 2),
      dir: "x",
    });
    await Deno.writeTextFile(`${shards}/manifest.json`, JSON.stringify(partial));
    const again = await planStore(model, windows, { ...options, dir: shards });
    assert.equal(again.start, 2);
    assert.deepEqual(await readManifest(shards), partial);
    await Deno.writeTextFile(`${shards}/manifest.json`, JSON.stringify(manifest));
    await (await openStore(shards)).verify();
  } finally {
    await Deno.remove(one, { recursive: true });
    await Deno.remove(shards, { recursive: true });
  }
});
