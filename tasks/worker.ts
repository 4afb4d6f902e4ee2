/**
 * `deno task worker --queue redis://HOST:PORT [--concurrency N]`: run the jobs a coordinator
 * (`deno task train --queue …`) puts on the project's BullMQ queue, until Ctrl-C. Every worker must see
 * the runs folder at the path the job names (a shared file system). A job trains one part of a run's
 * sweep (`SweepPart` in `_train.ts`) and checkpoints it in the run folder, so a job handed to another
 * worker — after this one was killed, once BullMQ's stalled-job check sees its lock expire — resumes
 * where this one stopped. See `_queue.ts` for what is safe and why.
 *
 * @module
 */
import * as v from "valibot";
import { DelayedError, type Job, Worker } from "bullmq";
import { openStore } from "@saelab/activations";
import { STORE_DIR } from "./_dict_stage.ts";
import type { PipelineConfig } from "./_config.ts";
import { acquireRunLock, releaseRunLock, RunLockedError } from "./_lock.ts";
import {
  markPartDone,
  partDone,
  PARTS_DIR,
  QUEUE_NAME,
  queueConnection,
  type TrainJobData,
  type TrainJobResult,
} from "./_queue.ts";
import { jobRun } from "./_run.ts";
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

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => (signal.removeEventListener("abort", stop), resolve()), ms);
    const stop = () => (clearTimeout(t), reject(signal.reason));
    signal.addEventListener("abort", stop, { once: true });
  });

/** Take a part's lock, waiting while another job (here or in a live process) holds it. */
async function lockPart(ctx: RunContext, dir: string, part: string): Promise<void> {
  const key = `${dir}/${part}`;
  for (;;) {
    if (!busy.has(key)) {
      try {
        await acquireRunLock(dir, part, { log: ctx.log });
        busy.add(key);
        return;
      } catch (e) {
        if (!(e instanceof RunLockedError)) throw e;
      }
    }
    await sleep(500, ctx.signal);
  }
}

/** Train one part of a run's sweep (see `_queue.ts`). */
async function trainJob(ctx: RunContext, job: Job<TrainJobData, TrainJobResult>): Promise<TrainJobResult> {
  const { runsDir, runId, members } = job.data;
  const run = await jobRun({ ...ctx, runsDir }, runId);
  const config = run.json.config as unknown as PipelineConfig & { context: number };
  const part = members.join("+");
  const partsDir = run.path(PARTS_DIR);
  const dir = run.path(PARTS_DIR, part);
  await Deno.mkdir(dir, { recursive: true });
  await lockPart(ctx, partsDir, part);
  try {
    if (await partDone(run, part, config.steps)) return { step: config.steps };
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
  } finally {
    busy.delete(`${partsDir}/${part}`);
    await releaseRunLock(partsDir, part);
  }
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
    const worker = new Worker<TrainJobData, TrainJobResult>(
      QUEUE_NAME,
      async (job, token) => {
        log.info(`worker: job ${job.id} (attempt ${job.attemptsMade + 1})`);
        try {
          if (job.name !== "train") throw new Error(`worker: unknown job type ${JSON.stringify(job.name)}`);
          return await trainJob(ctx, job);
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
    return { message: `worker: ${finished} job${finished === 1 ? "" : "s"} done` };
  },
});
