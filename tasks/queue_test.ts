/**
 * The main job's sweep on a BullMQ queue: a coordinator (`train --queue`) and two `deno task worker`
 * processes on a Redis started for the test, one worker killed mid-job — and the SAEs equal, byte for
 * byte, those of the same run in one process. Needs `redis-server` (Debian's `redis-server`; `.ci/run`
 * installs it); without it these tests are skipped and say so.
 */
import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { readRun, RUN_FILES } from "@saelab/runs";
import { PARTS_DIR } from "./_queue.ts";
import { readMetricRows } from "./_train.ts";
import { train } from "./train.ts";
import { assertSameBytes, deps, exists, killBusyWorker, QUEUE_SWEEP, queueTest } from "./_queue_testing.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

const config = {
  ...QUEUE_SWEEP,
  tokens: 2048,
  heldOutFraction: 0.3,
  steps: 80,
  batchSize: 32,
  logEvery: 5,
  checkpointSeconds: 0.2,
  skip: ["baselines", "score"],
};

/** The pid holding a part's lock once the part has a checkpoint, or null. */
async function busyWorker(runDir: string): Promise<number | null> {
  let parts: Deno.DirEntry[];
  try {
    parts = await Array.fromAsync(Deno.readDir(`${runDir}/${PARTS_DIR}`));
  } catch {
    return null; // not made yet
  }
  for (const e of parts) {
    const dir = `${runDir}/${PARTS_DIR}/${e.name}`;
    if (!(await exists(`${dir}/train-state.safetensors`)) || (await exists(`${dir}/done.json`))) continue;
    try {
      return JSON.parse(await Deno.readTextFile(`${dir}/run.lock`)).pid;
    } catch { /* released meanwhile */ }
  }
  return null;
}

queueTest(
  "a sweep trained by two queue workers, one killed mid-job, equals the same sweep trained in one process",
  2,
  async ({ dir, workers, redis }) => {
    await train({ ...config, run: "one" }, deps(dir), { gpu });
    const coordinator = train({ ...config, run: "queued", queue: redis.url }, deps(dir), { gpu });
    const watch = killBusyWorker(workers, { busy: () => busyWorker(`${dir}/queued`), pollMs: 50, tries: 1200 });
    await coordinator;
    const killed = await watch;
    assert.ok(killed !== null, "a worker was killed while it held a part");
    const run = (await readRun(dir, "queued"))!.run!;
    assert.equal(run.status, "done");
    assert.equal(run.stages.train.status, "done");
    const one = (await readRun(dir, "one"))!.run!;
    const members = (await Array.fromAsync(Deno.readDir(`${dir}/one/${RUN_FILES.saes}`))).map((e) => e.name).sort();
    assert.equal(members.length, 4);
    for (const m of members) {
      const file = `${RUN_FILES.saes}/${m}/sae_weights.safetensors`;
      await assertSameBytes(`${dir}/queued/${file}`, `${dir}/one/${file}`, `${m}: ${file}`);
      const evalOf = async (id: string) =>
        JSON.parse(await Deno.readTextFile(`${dir}/${id}/${RUN_FILES.saes}/${m}/${RUN_FILES.eval}`));
      const [a, b] = [await evalOf("one"), await evalOf("queued")];
      assert.equal(b.fvu, a.fvu, `${m} fvu`);
      assert.equal(b.l0, a.l0, `${m} l0`);
    }
    const rows = (id: string) => readMetricRows(`${dir}/${id}/${RUN_FILES.metrics}`);
    assert.deepEqual(await rows("queued"), await rows("one"), "metrics rows, in the order one process logs them");
    assert.equal(Object.keys(one.stages).join(), Object.keys(run.stages).join());
  },
);

queueTest(
  "a queue job that fails 3 times fails the train stage with its error, and a rerun retries it",
  1,
  async ({ dir, redis }) => {
    const small = { ...config, kinds: ["untied"], ratios: [1], steps: 10, run: "bad", queue: redis.url };
    // the member's part folder is a file: every attempt of its job fails to create it
    await Deno.mkdir(`${dir}/bad/${PARTS_DIR}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/bad/${PARTS_DIR}/untied_r1_a1.0e-3`, "not a folder");
    await assert.rejects(() => train(small, deps(dir), { gpu }), (e: Error) => {
      assert.match(e.message, /queue job of member untied_r1_a1\.0e-3 failed 3 times: .*untied_r1_a1\.0e-3/);
      return true;
    });
    const run = (await readRun(dir, "bad"))!.run!;
    assert.equal(run.stages.train.status, "failed");
    assert.match(run.error!, /failed 3 times/);
    await Deno.remove(`${dir}/bad/${PARTS_DIR}/untied_r1_a1.0e-3`);
    await train(small, deps(dir), { gpu });
    assert.equal((await readRun(dir, "bad"))!.run!.status, "done");
  },
);

queueTest(
  "Ctrl-C on the coordinator leaves the run interrupted and the jobs running; a rerun follows them to the end",
  1,
  async ({ dir, redis }) => {
    const small = { ...config, kinds: ["untied"], ratios: [1, 2], steps: 120 };
    await train({ ...small, run: "one" }, deps(dir), { gpu });
    const stop = new AbortController();
    const first = train({ ...small, run: "cut", queue: redis.url }, deps(dir, stop.signal), { gpu });
    for (let i = 0; i < 2400 && (await busyWorker(`${dir}/cut`)) === null; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    stop.abort(new DOMException("Interrupted", "AbortError"));
    await assert.rejects(first);
    const cut = (await readRun(dir, "cut"))!.run!;
    assert.equal(cut.status, "interrupted");
    assert.equal(cut.stages.train.status, "interrupted");
    await train({ ...small, run: "cut", queue: redis.url }, deps(dir), { gpu });
    assert.equal((await readRun(dir, "cut"))!.run!.status, "done");
    for (const m of ["untied_r1_a1.0e-3", "untied_r2_a1.0e-3"]) {
      const file = `${RUN_FILES.saes}/${m}/sae_weights.safetensors`;
      await assertSameBytes(`${dir}/cut/${file}`, `${dir}/one/${file}`, `${m}: ${file}`);
    }
  },
);
