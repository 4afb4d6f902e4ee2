/**
 * The harvest on a BullMQ queue: `harvest --queue` with two `deno task worker` processes, one killed
 * mid-shard, gives the chunk files and manifest of the same harvest in one process, byte for byte; and a
 * Redis restarted mid-run (no persistence: every job lost) is refilled by the coordinator, which finishes.
 * Needs `redis-server`; without it these tests are skipped and say so.
 */
import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { readRun } from "@saelab/runs";
import { PART_DONE, PARTS_DIR } from "./_queue.ts";
import { SHARD_RANGES } from "./_queue_harvest.ts";
import { STORE_DIR } from "./_dict_stage.ts";
import { run as harvest } from "./harvest.ts";
import { assertSameBytes, deps, exists, killBusyWorker, queueTest } from "./_queue_testing.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

const config = {
  tokens: 8192,
  corpusTokens: 30_000,
  context: 32,
  heldOutFraction: 0.3,
  harvestBatch: 4,
  chunkRows: 256,
  shardRows: 2048,
};

/** The pid of a worker that holds a shard with some ranges written and not all, or null. */
async function midShard(runDir: string): Promise<number | null> {
  const parts = await Array.fromAsync(Deno.readDir(`${runDir}/${PARTS_DIR}`)).catch(() => []);
  for (const e of parts) {
    const dir = `${runDir}/${PARTS_DIR}/${e.name}`;
    if (!e.name.startsWith("harvest-") || !(await exists(`${dir}/${SHARD_RANGES}`))) continue;
    if (await exists(`${dir}/${PART_DONE}`)) continue;
    try {
      return JSON.parse(await Deno.readTextFile(`${dir}/run.lock`)).pid;
    } catch { /* released meanwhile */ }
  }
  return null;
}

async function sameStore(dir: string, a: string, b: string): Promise<number> {
  const read = (id: string) => Deno.readTextFile(`${dir}/${id}/${STORE_DIR}/manifest.json`).then(JSON.parse);
  const [ma, mb] = [await read(a), await read(b)];
  assert.deepEqual(mb, ma, "manifests");
  assert.ok(ma.complete);
  const files = [...ma.chunks, ...ma.heldOutChunks].map((c: { file: string }) => c.file);
  for (const f of files) await assertSameBytes(`${dir}/${a}/${STORE_DIR}/${f}`, `${dir}/${b}/${STORE_DIR}/${f}`, f);
  return files.length;
}

queueTest(
  "a harvest by two queue workers, one killed mid-shard, has the chunks and manifest of one process's",
  2,
  async ({ dir, workers, redis }) => {
    await harvest({ ...config, run: "one" }, deps(dir), { gpu });
    const coordinator = harvest({ ...config, run: "queued", queue: redis.url }, deps(dir), { gpu });
    let finished = false;
    coordinator.finally(() => (finished = true)).catch(() => {});
    const busy = () => midShard(`${dir}/queued`);
    const watch = killBusyWorker(workers, { busy, pollMs: 20, stop: () => finished });
    await coordinator;
    const killed = await watch;
    assert.ok(killed !== null, "a worker was killed while it held a shard half written");
    assert.equal((await readRun(dir, "queued"))!.run!.stages.harvest.status, "done");
    const chunks = await sameStore(dir, "one", "queued");
    assert.ok(chunks >= 8, `${chunks} chunks`);
  },
);

queueTest(
  "a shard job that fails 3 times fails the harvest stage with its error, and a rerun retries it",
  1,
  async ({ dir, redis }) => {
    const small = { ...config, tokens: 1024, shardRows: 100_000, run: "bad", queue: redis.url };
    // the run's parts folder is a file: every attempt of a shard's job fails to create its folder in it
    await Deno.mkdir(`${dir}/bad`, { recursive: true });
    await Deno.writeTextFile(`${dir}/bad/${PARTS_DIR}`, "not a folder");
    await assert.rejects(() => harvest(small, deps(dir), { gpu }), (e: Error) => {
      assert.match(e.message, /harvest: the queue job of shard 0-\d+ .* failed 3 times: .*queue/);
      return true;
    });
    const run = (await readRun(dir, "bad"))!.run!;
    assert.equal(run.stages.harvest.status, "failed");
    await Deno.remove(`${dir}/bad/${PARTS_DIR}`);
    await harvest(small, deps(dir), { gpu });
    assert.equal((await readRun(dir, "bad"))!.run!.stages.harvest.status, "done");
  },
);

queueTest(
  "a Redis restarted mid-harvest (its jobs lost) is refilled by the coordinator, which finishes",
  1,
  async ({ dir, redis }) => {
    await harvest({ ...config, run: "one" }, deps(dir), { gpu });
    const coordinator = harvest({ ...config, run: "queued", queue: redis.url }, deps(dir), { gpu });
    let restarted = false, finished = false, doneBefore = 0;
    coordinator.finally(() => (finished = true)).catch(() => {});
    while (!finished && !restarted) {
      const parts = await Array.fromAsync(Deno.readDir(`${dir}/queued/${PARTS_DIR}`)).catch(() => []);
      if (parts.length > 0) {
        for (const e of parts) if (await exists(`${dir}/queued/${PARTS_DIR}/${e.name}/${PART_DONE}`)) doneBefore++;
        await redis.restart();
        restarted = true;
      } else await new Promise((r) => setTimeout(r, 20));
    }
    await coordinator;
    assert.ok(restarted, "Redis was restarted while the harvest ran");
    const shards = (await Array.fromAsync(Deno.readDir(`${dir}/queued/${PARTS_DIR}`))).length;
    assert.ok(shards >= 2 && doneBefore < shards, `${doneBefore} of ${shards} shards done before the restart`);
    await sameStore(dir, "one", "queued");
  },
);
