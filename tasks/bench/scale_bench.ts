/**
 * `deno task bench:scale`: harvest and training throughput of the main job in one process and on a BullMQ
 * queue with 1 and 2 `deno task worker` processes on this machine (a Redis started for the bench, small
 * sizes). Prints one JSON object; the load average beside the figures says how busy the machine was (the
 * workers share its CPUs and GPU, so 2 workers on one machine measure the queue's overhead, not scaling).
 * Needs `redis-server`.
 *
 * @module
 */
import { loadavg } from "node:os";
import { createGpu } from "@saelab/gpu";
import { readRun } from "@saelab/runs";
import { train } from "../train.ts";
import { deps, QUEUE_SWEEP, REDIS, withRedis, withWorkers } from "../_queue_testing.ts";

if (!REDIS) {
  console.error("bench:scale: redis-server is not installed (apt-get install redis-server)");
  Deno.exit(1);
}
const gpu = await createGpu();
const config = {
  ...QUEUE_SWEEP,
  tokens: 8192,
  heldOutFraction: 0.2,
  harvestBatch: 8,
  chunkRows: 512,
  shardRows: 2048,
  steps: 60,
  batchSize: 64,
  checkpointSeconds: 5,
  skip: ["baselines", "score", "spliced"],
};
const members = config.kinds.length * config.ratios.length * config.l1.length;

function measure(workers: number, redisUrl: string) {
  return withWorkers({ url: redisUrl, count: workers, prefix: "scale-bench-" }, async ({ dir, workers: procs }) => {
    for (const p of procs) {
      for (let i = 0; i < 600 && !p.output().includes("waiting for jobs"); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const load = loadavg()[0];
    await train({ ...config, run: "bench", ...(workers > 0 ? { queue: redisUrl } : {}) }, deps(dir), { gpu });
    const run = (await readRun(dir, "bench"))!.run!;
    const t = run.timings ?? {};
    const harvestSeconds = t.harvest ?? NaN, trainSeconds = t.train ?? NaN;
    return {
      workers: workers === 0 ? "in-process (reference)" : workers,
      loadAverage1mBefore: Number(load.toFixed(2)),
      harvest: {
        rows: config.tokens,
        seconds: Number(harvestSeconds.toFixed(2)),
        rowsPerSecond: Math.round(config.tokens / harvestSeconds),
      },
      train: {
        memberSteps: members * config.steps,
        seconds: Number(trainSeconds.toFixed(2)),
        memberStepsPerSecond: Number((members * config.steps / trainSeconds).toFixed(1)),
        vectorsPerSecond: Math.round(members * config.steps * config.batchSize / trainSeconds),
      },
    };
  });
}

await withRedis(async (redis) => {
  const results = [];
  for (const n of [0, 1, 2]) results.push(await measure(n, redis.url));
  console.log(JSON.stringify(
    {
      bench: "scale",
      what: "harvest rows/s and training member-steps/s of the main job: in one process (the reference) and on a " +
        "queue with 1 and 2 worker processes on this one machine (they share its CPUs and GPU)",
      machine: { cpus: navigator.hardwareConcurrency, loadAverage1m5m15m: loadavg().map((x) => Number(x.toFixed(2))) },
      sizes: {
        tokens: config.tokens,
        members,
        steps: config.steps,
        batchSize: config.batchSize,
        chunkRows: config.chunkRows,
      },
      results,
    },
    null,
    1,
  ));
}).finally(() => gpu.destroy());
