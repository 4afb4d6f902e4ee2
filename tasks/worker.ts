/**
 * `deno task worker --queue redis://HOST:PORT [--concurrency N]`: run the jobs a coordinator
 * (`deno task train --queue …`, `harvest --queue …`, `toy --queue …`) puts on the project's BullMQ queue,
 * until Ctrl-C. Every worker must see the runs folder at the path the job names (a shared file system).
 * A `train` job trains one part of a
 * run's sweep (`SweepPart` in `_train.ts`) and checkpoints it in the run folder, so a job handed to another
 * worker — after this one was killed, once BullMQ's stalled-job check sees its lock expire — resumes
 * where this one stopped. A `harvest` job harvests one shard of a run's store (`_queue_harvest.ts`),
 * with the model and windows loaded from the run's stored configuration, and goes on after the shard's
 * last written range. A `toy` job trains members of a run's toy sweep (`_queue_toy.ts`) from the run's
 * stored settings and the toy data's seed, and writes each member's weights and measures as its part; a
 * toy job handed to another worker trains its members again from step 0. See `_queue.ts` for what is safe
 * and why.
 *
 * @module
 */
import * as v from "valibot";
import { DelayedError, type Job, Worker } from "bullmq";
import { harvestRange, openStore, planStore, type RangeChunks } from "@saelab/activations";
import { toySweepPlan, trainToyMembers } from "@saelab/sae";
import { STORE_DIR } from "./_dict_stage.ts";
import type { PipelineConfig } from "./_config.ts";
import { acquireRunLock, releaseRunLock, RunLockedError } from "./_lock.ts";
import {
  markPartDone,
  PART_DONE,
  partDone,
  PARTS_DIR,
  QUEUE_NAME,
  queueConnection,
  sleep,
  type TrainJobData,
  type TrainJobResult,
} from "./_queue.ts";
import {
  type HarvestJobData,
  type HarvestJobResult,
  harvestOptions,
  readShardRanges,
  SHARD_RANGES,
  shardName,
  writeShardRanges,
} from "./_queue_harvest.ts";
import { loadInputs, type PipelineInputs } from "./_setup.ts";
import {
  toyConfigHash,
  type ToyJobData,
  type ToyJobResult,
  toyPartDone,
  toyPartName,
  writeToyPart,
} from "./_queue_toy.ts";
import { jobRun, type RunHandle } from "./_run.ts";
import { type ToyConfig, toySweepOptions } from "./toy.ts";
import { defineStage, type RunContext } from "./_runtime.ts";
import { int, num, type OptionsSchema, text, UsageError } from "./_schema.ts";
import { trainSweep } from "./_train.ts";

/** The options of `worker`. */
export const workerSchema = v.strictObject({
  queue: text("Redis URL of the queue, redis://HOST:PORT[/DB] (required; the coordinator's --queue)"),
  concurrency: int("jobs this worker runs at once; they share its GPU", { default: 1, min: 1 }),
  lockSeconds: num(
    "seconds a job's lock lasts unless renewed (BullMQ lockDuration, default 30): a killed worker's job goes to " +
      "another worker about this long after it died",
    { default: 30, positive: true },
  ),
  jobs: int("stop after this many jobs (default: run until Ctrl-C)", { min: 1 }),
}) satisfies OptionsSchema;

/** Parts this process works on (a second job of the same part waits for the first). */
const busy = new Set<string>();

/**
 * Run `fn` holding a part's lock (in `queue/` of the run), waiting while another job (here or in a live
 * process) holds it; the part's folder is made first.
 */
async function withPart<T>(ctx: RunContext, run: RunHandle, part: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const partsDir = run.path(PARTS_DIR);
  const dir = run.path(PARTS_DIR, part);
  await Deno.mkdir(dir, { recursive: true });
  const key = `${partsDir}/${part}`;
  for (;;) {
    if (!busy.has(key)) {
      try {
        await acquireRunLock(partsDir, part, { log: ctx.log });
        busy.add(key);
        break;
      } catch (e) {
        if (!(e instanceof RunLockedError)) throw e;
      }
    }
    await sleep(500, ctx.signal);
  }
  try {
    return await fn(dir);
  } finally {
    busy.delete(key);
    await releaseRunLock(partsDir, part);
  }
}

/** Train one part of a run's sweep (see `_queue.ts`). */
async function trainJob(ctx: RunContext, job: Job<TrainJobData, TrainJobResult>): Promise<TrainJobResult> {
  const { runsDir, runId, members } = job.data;
  const run = await jobRun({ ...ctx, runsDir }, runId);
  const config = run.json.config as unknown as PipelineConfig & { context: number };
  return await withPart(ctx, run, members.join("+"), async (dir) => {
    if (await partDone(run, members.join("+"), config.steps)) return { step: config.steps };
    const store = await openStore(run.path(STORE_DIR));
    let reported = 0;
    const out = await trainSweep(run, store, {
      config,
      gpu: await ctx.gpu(),
      info: {
        hook: run.json.hook,
        layer: config.layer ?? 0,
        model: run.json.model.name,
        contextLength: config.context,
      },
      part: { dir, members },
      stage: {
        update: ({ done }) => {
          if (done === undefined || performance.now() - reported < 1000) return;
          reported = performance.now();
          job.updateProgress(done).catch(() => {}); // progress is a hint; the part's files are the truth
        },
      },
    });
    out.trainer.dispose();
    if (out.steps >= config.steps) await markPartDone(dir, out.steps);
    return { step: out.steps };
  });
}

/** The model and windows of the last run whose shards this process harvested (loading them is slow). */
let inputs: { key: string; inputs: Promise<PipelineInputs> } | null = null;

function runInputs(ctx: RunContext, key: string, config: PipelineConfig): Promise<PipelineInputs> {
  if (inputs?.key !== key) {
    inputs?.inputs.then((i) => i.dispose(), () => {});
    inputs = { key, inputs: loadInputs(ctx, config) };
    inputs.inputs.catch(() => (inputs = null));
  }
  return inputs.inputs;
}

/** Harvest one shard of a run's store (see `_queue_harvest.ts`). */
async function harvestJob(ctx: RunContext, job: Job<HarvestJobData, HarvestJobResult>): Promise<HarvestJobResult> {
  const { runsDir, runId, ranges: [from, to], configHash } = job.data;
  const run = await jobRun({ ...ctx, runsDir }, runId);
  const config = run.json.config as unknown as PipelineConfig;
  const storeDir = run.path(STORE_DIR);
  await Deno.mkdir(storeDir, { recursive: true });
  return await withPart(ctx, run, shardName([from, to]), async (dir) => {
    const done = await readShardRanges(`${dir}/${PART_DONE}`, { store: storeDir, configHash });
    const rowsIn = (ranges: readonly RangeChunks[]) =>
      ranges.reduce((n, r) => n + Object.values(r.chunks).reduce((m, c) => m + c!.rows, 0), 0);
    if (done) return { rows: rowsIn(done) }; // a job enqueued again after Redis lost it
    const p = await runInputs(ctx, `${runsDir}/${runId}`, config);
    const options = harvestOptions({ ...p, config }, storeDir, ctx.signal);
    const store = await planStore(p.model, p.windows.harvest, options);
    if (store.configHash !== configHash) {
      throw new Error(
        `worker: the windows or settings this worker prepared for run ${runId} differ from the coordinator's ` +
          `(settings hash ${store.configHash.slice(0, 12)}, not ${configHash.slice(0, 12)}): does it see the same ` +
          `corpus and model?`,
      );
    }
    // the ranges a killed job of this shard wrote, from its first on
    const written: RangeChunks[] = [];
    for (const r of (await readShardRanges(`${dir}/${SHARD_RANGES}`, { store: storeDir, configHash })) ?? []) {
      if (r.range !== from + written.length || r.range >= to) break;
      written.push(r);
    }
    let taken = rowsIn(written), reported = 0;
    for (let i = from + written.length; i < to; i++) {
      written.push(
        await harvestRange(p.model, p.windows.harvest, {
          ...options,
          plan: store.plan,
          range: i,
          onBatch: (n) => {
            taken += n;
            if (performance.now() - reported < 1000) return;
            reported = performance.now();
            job.updateProgress(taken).catch(() => {}); // progress is a hint; the shard's files are the truth
          },
        }),
      );
      await writeShardRanges(`${dir}/${SHARD_RANGES}`, { configHash, ranges: written });
    }
    await writeShardRanges(`${dir}/${PART_DONE}`, { configHash, ranges: written });
    return { rows: rowsIn(written) };
  });
}

/** Train one part of a run's toy sweep (see `_queue_toy.ts`). */
async function toyJob(ctx: RunContext, job: Job<ToyJobData, ToyJobResult>): Promise<ToyJobResult> {
  const { runsDir, runId, members, configHash } = job.data;
  const run = await jobRun({ ...ctx, runsDir }, runId);
  const config = run.json.config as unknown as ToyConfig;
  return await withPart(ctx, run, toyPartName(members), async (dir) => {
    if (await toyPartDone(dir, configHash)) return { members: members.length }; // enqueued again after Redis lost it
    let reported = 0;
    const sweep = toySweepOptions(config, {
      signal: ctx.signal,
      onProgress: (done) => {
        if (performance.now() - reported < 1000) return;
        reported = performance.now();
        job.updateProgress(done).catch(() => {}); // progress is a hint; the part's files are the truth
      },
    });
    if (toyConfigHash(sweep) !== configHash) {
      throw new Error(
        `worker: the toy settings of run ${runId} in its run.json differ from the coordinator's (settings hash ` +
          `${toyConfigHash(sweep).slice(0, 12)}, not ${configHash.slice(0, 12)}): was the run changed meanwhile?`,
      );
    }
    const names = toySweepPlan(sweep).names;
    const unknown = members.filter((m) => !names.includes(m));
    if (unknown.length > 0) throw new RangeError(`worker: ${unknown.join(", ")} is not a member of run ${runId}'s toy`);
    const trained = await trainToyMembers(await ctx.gpu(), {
      ...sweep,
      members: members.map((m) => names.indexOf(m)),
      optimizer: true,
    });
    await writeToyPart(dir, { configHash, steps: sweep.steps!, trained });
    return { members: members.length };
  });
}

/** The `worker` stage: run queue jobs until Ctrl-C (or `--jobs` of them). */
export const workerStage = defineStage({
  name: "worker",
  schema: workerSchema,
  async run(ctx, config) {
    if (!config.queue) throw new UsageError("Missing --queue: the Redis URL the coordinator enqueues on");
    const connection = queueConnection(config.queue);
    const { log } = ctx;
    await ctx.gpu(); // fail before taking a job when there is no adapter
    let finished = 0;
    let stopped!: () => void;
    const stop = new Promise<void>((resolve) => (stopped = resolve));
    ctx.signal.addEventListener("abort", () => stopped(), { once: true });
    const worker = new Worker<
      TrainJobData | HarvestJobData | ToyJobData,
      TrainJobResult | HarvestJobResult | ToyJobResult
    >(
      QUEUE_NAME,
      async (job, token) => {
        log.info(`worker: job ${job.id} (attempt ${job.attemptsMade + 1})`);
        try {
          if (job.name === "train") return await trainJob(ctx, job as Job<TrainJobData, TrainJobResult>);
          if (job.name === "harvest") return await harvestJob(ctx, job as Job<HarvestJobData, HarvestJobResult>);
          if (job.name === "toy") return await toyJob(ctx, job as Job<ToyJobData, ToyJobResult>);
          throw new Error(`worker: unknown job type ${JSON.stringify(job.name)}`);
        } catch (e) {
          if (ctx.signal.aborted && token) {
            // stopped by Ctrl-C: back to the queue without using up an attempt (the part is checkpointed)
            await job.moveToDelayed(Date.now(), token);
            throw new DelayedError();
          }
          throw e;
        }
      },
      {
        connection,
        concurrency: config.concurrency,
        lockDuration: config.lockSeconds * 1000,
        stalledInterval: Math.max(1000, (config.lockSeconds * 1000) / 2),
        maxStalledCount: 5,
      },
    );
    worker.on("error", (e) => log.debug(`worker: ${e.message}`)); // ioredis reconnects by itself
    worker.on("completed", (job) => {
      log.info(`worker: job ${job.id} done`);
      if (config.jobs !== undefined && ++finished >= config.jobs) stopped();
    });
    worker.on("failed", (job, e) => {
      if (!(e instanceof DelayedError)) log.warn(`worker: job ${job?.id} failed: ${e.message}`);
    });
    log.info(`worker: waiting for jobs on ${config.queue} (queue ${QUEUE_NAME}, concurrency ${config.concurrency})`);
    await stop;
    await worker.close();
    await inputs?.inputs.then((i) => i.dispose(), () => {});
    inputs = null;
    return { message: `worker: ${finished} job${finished === 1 ? "" : "s"} done` };
  },
});
