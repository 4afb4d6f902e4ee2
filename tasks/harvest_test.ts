import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { findBadChunks } from "@saelab/activations";
import { readRun, type StageDeps } from "@saelab/runs";
import { run as harvestRun, STORE_DIR } from "./harvest.ts";

const gpu = await createGpu();
const config = { run: "h1", tokens: 2048, corpusTokens: 30_000, context: 32, heldOutFraction: 0.3 };

function deps(runsDir: string): StageDeps & { messages: string[] } {
  const messages: string[] = [];
  const log = { info: (m: string) => messages.push(m), warn: (m: string) => messages.push(m), debug: () => {} };
  return { runsDir, messages, progress: () => {}, signal: new AbortController().signal, log, verbose: false };
}

Deno.test("a corrupted held-out chunk is found before the store is used, and --reharvest harvests only it again", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const d = deps(dir);
    await harvestRun(config, d, { gpu });
    const store = `${dir}/h1/${STORE_DIR}`;
    const file = `${store}/heldout-000000.safetensors`;
    const good = await Deno.readFile(file);
    const bad = good.slice();
    bad[bad.length - 5] ^= 0x40; // same size, other content
    await Deno.writeFile(file, bad);

    await assert.rejects(() => harvestRun(config, d, { gpu }), (e: Error) => {
      assert.equal(e.name, "StoreError");
      assert.match(e.message, /held-out chunk failed its check: heldout-000000\.safetensors \(its SHA-256 differs/);
      assert.match(e.message, /rerun with --run h1 --reharvest to harvest only the bad chunks again$/);
      assert.doesNotMatch(e.message, /rerun to retry/);
      return true;
    });
    let r = (await readRun(dir, "h1"))!.run!;
    assert.equal(r.status, "failed");
    assert.equal(r.stages.harvest.status, "failed");
    await assert.rejects(() => Deno.stat(`${dir}/h1/run.lock`), Deno.errors.NotFound);

    const train = await Deno.readFile(`${store}/train-000000.safetensors`);
    const again = deps(dir);
    await harvestRun({ ...config, reharvest: true }, again, { gpu });
    assert.ok(
      again.messages.some((m) => m.startsWith("harvest: harvesting 1 bad chunk again: heldout-000000.safetensors")),
    );
    assert.deepEqual(await findBadChunks(store), []);
    assert.deepEqual(await Deno.readFile(file), good, "the same rows as the first harvest");
    assert.deepEqual(await Deno.readFile(`${store}/train-000000.safetensors`), train, "good chunks are left alone");
    r = (await readRun(dir, "h1"))!.run!;
    assert.equal(r.status, "done");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

globalThis.addEventListener("unload", () => gpu.destroy());
