/**
 * The toy sweep on a BullMQ queue: `toy --queue` with two `deno task worker` processes, one killed
 * mid-job, writes the `toy.json` of the same sweep in one process, byte for byte, and its parts hold the
 * members' weights of the whole sweep; a job that fails 3 times fails the toy stage with its error; Ctrl-C
 * on the coordinator and a Redis restart mid-run are resumed; a bad `--queue` is a usage error. Needs
 * `redis-server` for the queue tests; without it they are skipped and say so.
 */
import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { readRun, RUN_FILES } from "@saelab/runs";
import { loadTrainState, STATE_FILE, toySweepPlan, trainToyMembers } from "@saelab/sae";
import { withTempDir } from "@saelab/runs/testing";
import { PART_DONE, PARTS_DIR } from "./_queue.ts";
import { toyPartName } from "./_queue_toy.ts";
import { runStage, UsageError } from "./_runtime.ts";
import { type ToyConfig, toySchema, toyStage, toySweepOptions } from "./toy.ts";
import { parseOptions } from "./_schema.ts";
import { assertSameBytes, deps, exists, killBusyWorker, queueTest } from "./_queue_testing.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

/** Four members (R 1, 2 × two α) of d 8, long enough that a worker is caught mid-job. */
const config = { d: 8, ratios: [1, 2], l1: [1e-3, 1e-2], steps: 400, batchSize: 32, seed: 7 };

/** The pid of a worker that holds a toy part not yet done, or null. */
async function midJob(runDir: string): Promise<number | null> {
  const parts = await Array.fromAsync(Deno.readDir(`${runDir}/${PARTS_DIR}`)).catch(() => []);
  for (const e of parts) {
    const dir = `${runDir}/${PARTS_DIR}/${e.name}`;
    if (!e.name.startsWith("toy-") || (await exists(`${dir}/${PART_DONE}`))) continue;
    try {
      return JSON.parse(await Deno.readTextFile(`${dir}/run.lock`)).pid;
    } catch { /* not taken yet, or released meanwhile */ }
  }
  return null;
}

queueTest(
  "a toy sweep by two queue workers, one killed mid-job, writes the toy.json of one process and the sweep's weights",
  2,
  async ({ dir, workers, redis }) => {
    await runStage(toyStage, { ...config, run: "one" }, { deps: deps(dir), gpu });
    const coordinator = runStage(toyStage, { ...config, run: "queued", queue: redis.url }, { deps: deps(dir), gpu });
    let finished = false;
    coordinator.finally(() => (finished = true)).catch(() => {});
    const watch = killBusyWorker(workers, { busy: () => midJob(`${dir}/queued`), pollMs: 20, stop: () => finished });
    await coordinator;
    const killed = await watch;
    assert.ok(killed !== null, "a worker was killed while it held a toy member");
    const run = (await readRun(dir, "queued"))!.run!;
    assert.equal(run.status, "done");
    assert.equal(run.stages.toy.status, "done");
    await assertSameBytes(`${dir}/queued/${RUN_FILES.toy}`, `${dir}/one/${RUN_FILES.toy}`, RUN_FILES.toy);

    // each part holds the weights its member has in the whole sweep trained in one call
    const sweep = toySweepOptions(parseOptions(toySchema, config) as ToyConfig);
    const plan = toySweepPlan(sweep);
    const whole = await trainToyMembers(gpu, sweep);
    for (const [i, name] of plan.names.entries()) {
      const file = `${dir}/queued/${PARTS_DIR}/${toyPartName([name])}/${STATE_FILE}`;
      const state = (await loadTrainState(file, { specs: [plan.specs[i]], names: [name] }))!;
      assert.equal(state.step, config.steps);
      const bytes = (w: typeof state.weights[0]) => [w.encoder, w.encoderBias, w.decoder!].map((a) => [...a]);
      assert.deepEqual(bytes(state.weights[0]), bytes(whole.members[i].weights), `${name}: weights`);
    }
  },
);

queueTest(
  "a toy job that fails 3 times fails the toy stage with its error, and a rerun retries it",
  1,
  async ({ dir, redis }) => {
    const small = { ...config, ratios: [1], l1: [1e-3], steps: 10, run: "bad", queue: redis.url };
    // the member's part folder is a file: every attempt of its job fails to create it
    await Deno.mkdir(`${dir}/bad/${PARTS_DIR}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/bad/${PARTS_DIR}/toy-untied_r1_a1.0e-3`, "not a folder");
    await assert.rejects(() => runStage(toyStage, small, { deps: deps(dir), gpu }), (e: Error) => {
      assert.match(
        e.message,
        /toy: the queue job of member untied_r1_a1\.0e-3 failed 3 times: .*toy-untied_r1_a1\.0e-3/,
      );
      return true;
    });
    const run = (await readRun(dir, "bad"))!.run!;
    assert.equal(run.stages.toy.status, "failed");
    assert.match(run.error!, /failed 3 times/);
    await Deno.remove(`${dir}/bad/${PARTS_DIR}/toy-untied_r1_a1.0e-3`);
    await runStage(toyStage, small, { deps: deps(dir), gpu });
    assert.equal((await readRun(dir, "bad"))!.run!.stages.toy.status, "done");
  },
);

queueTest(
  "Ctrl-C on a toy coordinator leaves the run interrupted; a rerun keeps the members done and finishes",
  1,
  async ({ dir, redis }) => {
    const two = { ...config, l1: [1e-3] };
    await runStage(toyStage, { ...two, run: "one" }, { deps: deps(dir), gpu });
    const stop = new AbortController();
    const cut = { ...two, run: "cut", queue: redis.url };
    const first = runStage(toyStage, cut, { deps: deps(dir, stop.signal), gpu });
    const doneFile = (name: string) => `${dir}/cut/${PARTS_DIR}/${toyPartName([name])}/${PART_DONE}`;
    const names = toySweepPlan(toySweepOptions(parseOptions(toySchema, two) as ToyConfig)).names;
    for (let i = 0; i < 2400 && !(await exists(doneFile(names[0]))); i++) await new Promise((r) => setTimeout(r, 25));
    stop.abort(new DOMException("Interrupted", "AbortError"));
    await assert.rejects(first);
    const run = (await readRun(dir, "cut"))!.run!;
    assert.equal(run.status, "interrupted");
    assert.equal(run.stages.toy.status, "interrupted");
    const before = (await Deno.stat(doneFile(names[0]))).mtime!.getTime();
    await runStage(toyStage, cut, { deps: deps(dir), gpu });
    assert.equal((await readRun(dir, "cut"))!.run!.stages.toy.status, "done");
    assert.equal((await Deno.stat(doneFile(names[0]))).mtime!.getTime(), before, "a member done is not trained again");
    await assertSameBytes(`${dir}/cut/${RUN_FILES.toy}`, `${dir}/one/${RUN_FILES.toy}`, RUN_FILES.toy);
  },
);

queueTest(
  "a Redis restarted mid-toy (its jobs lost) is refilled by the toy coordinator, which writes the same toy.json",
  1,
  async ({ dir, redis }) => {
    await runStage(toyStage, { ...config, run: "one" }, { deps: deps(dir), gpu });
    const coordinator = runStage(toyStage, { ...config, run: "lost", queue: redis.url }, { deps: deps(dir), gpu });
    let finished = false, restarted = false;
    coordinator.finally(() => (finished = true)).catch(() => {});
    while (!finished && !restarted) {
      if ((await midJob(`${dir}/lost`)) !== null) {
        await redis.restart();
        restarted = true;
      } else await new Promise((r) => setTimeout(r, 20));
    }
    await coordinator;
    assert.ok(restarted, "Redis was restarted while a member trained");
    await assertSameBytes(`${dir}/lost/${RUN_FILES.toy}`, `${dir}/one/${RUN_FILES.toy}`, RUN_FILES.toy);
  },
);

Deno.test("toy: a bad --queue and --resample on the queue are usage errors naming the flag, before any run", async () => {
  await withTempDir(async (runsDir) => {
    const refuse = (extra: Record<string, unknown>, flag: RegExp) =>
      assert.rejects(() => runStage(toyStage, { ...config, ...extra }, { deps: deps(runsDir), gpu }), (e: Error) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.match(e.message, flag);
        return true;
      });
    await refuse({ queue: "http://127.0.0.1:6379" }, /Invalid --queue: "http:\/\/127\.0\.0\.1:6379" is not redis/);
    await refuse({ queue: "redis://127.0.0.1:1", resample: true }, /Invalid --resample with --queue/);
    assert.deepEqual([...Deno.readDirSync(runsDir)], []);
    const main = new URL("../apps/cli/main.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "toy", "--queue", "not a url", "--runs", runsDir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, err);
    assert.match(err, /Invalid --queue: "not a url" is not a URL/);
    assert.deepEqual([...Deno.readDirSync(runsDir)], []);
  });
});
