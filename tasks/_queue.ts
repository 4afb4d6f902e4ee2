/**
 * Work beyond one process: the main job's sweep members as jobs on a BullMQ queue in Redis
 * (`deno task train --queue redis://HOST:PORT`), run by any number of `deno task worker` processes that
 * see the same runs folder (a shared file system path). The harvest's shards (`_queue_harvest.ts`) and the
 * toy sweep's members (`_queue_toy.ts`) are jobs on the same queue, followed by the same
 * {@linkcode followJobs}; `docs/SCALE.md` says what moves where.
 *
 * The coordinator (the `train` command) holds the run's lock, enqueues one job per member (job id
 * `<run>:train:<member>`, so enqueueing twice is a no-op), follows them, and when every member's part is
 * done merges the parts into the run's one training state and `metrics.jsonl` — then the stages after
 * training run in the coordinator as they do in one process. A part is a member trained on its own
 * (`SweepPart` in `_train.ts`) in `runs/<id>/queue/<member>/`: its training state and metrics rows, and
 * `done.json` once it reached the run's steps. Its member's SAELens folder is written where the whole
 * sweep writes it.
 *
 * What makes it safe:
 * - **Disk is the truth, the queue is a hint.** The coordinator polls each part's `done.json`; a job it
 *   cannot find (Redis restarted without persistence, or a job removed) is enqueued again, so a Redis
 *   restart mid-run only costs the jobs' progress since their last checkpoint.
 * - **One writer per part.** A job takes the part's lock (`_lock.ts`, the run lock's mechanism) and waits
 *   while another live process holds it; a killed worker's lock is stale (its process is gone) and is
 *   taken over. A job handed to a second worker by BullMQ's stalled-job check resumes from the part's
 *   last checkpoint.
 * - **Same numbers as one process.** Member i starts from the weights it has in the whole sweep
 *   (seed + i), every part reads the same shuffled batches, and each member's arithmetic on the GPU does
 *   not depend on which other members share its group, so the SAEs are the bytes the in-process run
 *   writes (checked by `queue_test.ts`).
 * - **Failures end the stage.** A job that fails {@linkcode JOB_ATTEMPTS} times fails the training stage
 *   with its error; a rerun retries it. Ctrl-C on the coordinator leaves the jobs running; a rerun follows
 *   them again.
 *
 * @module
 */
import { Queue, type QueueOptions } from "bullmq";
import { RUN_FILES, writeTextAtomic } from "@saelab/runs";
import { type SaeSpec, specName } from "@saelab/sae";
import { loadTrainState, saveTrainState, type TrainState } from "./_checkpoint.ts";
import type { PipelineConfig } from "./_config.ts";
import type { RunHandle } from "./_run.ts";
import type { StageReporter } from "./_runtime.ts";
import { UsageError } from "./_schema.ts";
import { memberSpecs, PART_METRICS, readMetricRows, STATE_FILE } from "./_train.ts";

/** Name of the BullMQ queue every coordinator and worker of this project uses. */
export const QUEUE_NAME = "saelab";

/** Attempts of a job before its stage fails (BullMQ `attempts`). */
export const JOB_ATTEMPTS = 3;

/** Folder of the parts inside a run folder. */
export const PARTS_DIR = "queue";

/** File that marks a part finished. */
export const PART_DONE = "done.json";

/** BullMQ connection options (ioredis), from a `--queue` URL. */
export type QueueConnection = NonNullable<QueueOptions["connection"]>;

/**
 * The Redis connection a `--queue` URL names.
 *
 * @param url `redis://[user:password@]HOST:PORT[/DB]`.
 * @returns ioredis options for BullMQ (no retry limit per request, as BullMQ's workers need).
 * @throws {UsageError} When the URL is not a redis:// URL with a host and port.
 * @example
 * ```ts
 * import { queueConnection } from "./_queue.ts";
 * const c = queueConnection("redis://127.0.0.1:6390/2") as { host: string; port: number; db: number };
 * if (c.host !== "127.0.0.1" || c.port !== 6390 || c.db !== 2) throw new Error();
 * ```
 */
export function queueConnection(url: string): QueueConnection {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`Invalid --queue: ${JSON.stringify(url)} is not a URL; expected redis://HOST:PORT`);
  }
  const port = Number(u.port || "6379");
  if (u.protocol !== "redis:" || !u.hostname || !Number.isInteger(port)) {
    throw new UsageError(`Invalid --queue: ${JSON.stringify(url)} is not redis://HOST:PORT`);
  }
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) {
    throw new UsageError(`Invalid --queue: database ${u.pathname.slice(1)} in ${url}`);
  }
  return {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    maxRetriesPerRequest: null,
  };
}

/** What a training job carries. */
export interface TrainJobData {
  /** Absolute path of the runs folder (the same path on every worker). */
  runsDir: string;
  /** The run. */
  runId: string;
  /** The part's members, in member order (today one per job). */
  members: string[];
}

/** What a training job returns. */
export interface TrainJobResult {
  /** Steps the part has taken. */
  step: number;
}

/** The BullMQ job id of a member's part (unique per run and member, so a second add is a no-op). */
export function trainJobId(runId: string, part: string): string {
  return `${runId}:train:${part}`;
}

/**
 * Whether a part reached the run's steps (its `done.json`).
 *
 * @param run The run.
 * @param part The part's name.
 * @param steps The run's steps.
 * @returns True when done.
 */
export async function partDone(run: RunHandle, part: string, steps: number): Promise<boolean> {
  try {
    const done = JSON.parse(await Deno.readTextFile(run.path(PARTS_DIR, part, PART_DONE)));
    return typeof done?.step === "number" && done.step >= steps;
  } catch {
    return false;
  }
}

/**
 * Mark a part done.
 *
 * @param dir The part's folder.
 * @param step Its steps.
 * @returns Nothing.
 */
export async function markPartDone(dir: string, step: number): Promise<void> {
  await writeTextAtomic(`${dir}/${PART_DONE}`, JSON.stringify({ step }) + "\n");
}

/** Wait `ms`, or until `signal` aborts (then reject with its reason). */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => (signal.removeEventListener("abort", stop), resolve()), ms);
    const stop = () => (clearTimeout(t), reject(signal.reason));
    signal.addEventListener("abort", stop, { once: true });
  });

/** One job a coordinator follows: a part of a stage, done once its files on disk say so. */
export interface QueuedPart<D> {
  /** The part's name (its folder in `queue/`). */
  name: string;
  /** What it is, for messages (`member untied_r1`, `shard 0-3`). */
  what: string;
  /** The BullMQ job id (unique per run and part). */
  jobId: string;
  /** The job's data. */
  data: D;
  /** The part's size in the progress bar's unit (the job's numeric progress counts up to it). */
  total: number;
  /** Whether the part's files say it is done (the truth; the queue is a hint). */
  done(): Promise<boolean>;
}

/**
 * Enqueue one job per part and follow them until every part is done: a job Redis lost (restarted without
 * persistence, or removed) is enqueued again, a job that failed {@linkcode JOB_ATTEMPTS} times fails the
 * stage, and one progress bar adds up every worker's progress.
 *
 * @param run The run (its lock held by this process).
 * @param options The job name (`train`, `harvest`, `toy`), the parts, the queue URL, the progress bar's label and
 *   unit, the stage reporter and its unit, what to say when a job completed but its part is not done, and how often to
 *   poll (default 500 ms).
 * @returns Nothing; afterwards every part is done.
 * @throws {Error} When a job failed {@linkcode JOB_ATTEMPTS} times, or completed without its part done.
 * @example
 * ```ts ignore
 * await followJobs(run, { job: "harvest", parts, url, label: "harvest (queue)", unit: "tok", incomplete });
 * ```
 */
export async function followJobs<D, R>(
  run: RunHandle,
  options: {
    job: string;
    parts: readonly QueuedPart<D>[];
    url: string;
    label: string;
    unit: string;
    stageUnit: string;
    stage?: StageReporter;
    incomplete: (part: QueuedPart<D>, result: R | undefined) => string;
    pollMs?: number;
  },
): Promise<void> {
  const { log, signal, progress } = run.deps;
  const { parts, job: jobName } = options;
  const queue = new Queue<D, R>(QUEUE_NAME, { connection: queueConnection(options.url) });
  queue.on("error", () => {}); // ioredis reconnects; the calls below wait for it
  try {
    const pending = new Set(parts);
    const doneOf = new Map<QueuedPart<D>, number>();
    const total = parts.reduce((n, p) => n + p.total, 0);
    let first = true;
    let lastLog = "";
    while (pending.size > 0) {
      signal.throwIfAborted();
      const counts = { active: 0, waiting: 0 };
      for (const part of [...pending]) {
        if (await part.done()) {
          pending.delete(part);
          doneOf.set(part, part.total);
          continue;
        }
        let job = await queue.getJob(part.jobId);
        const state = job ? await job.getState() : "missing";
        if (job && first && (state === "failed" || state === "completed")) {
          await job.remove(); // a rerun retries what failed before, or a part whose files were removed
          job = undefined;
        }
        if (!job || state === "unknown") {
          // deno-lint-ignore no-explicit-any
          await queue.add(jobName as any, part.data as any, {
            jobId: part.jobId,
            attempts: JOB_ATTEMPTS,
            backoff: { type: "fixed", delay: 1000 },
            removeOnComplete: false,
            removeOnFail: false,
          });
          counts.waiting++;
          continue;
        }
        if (state === "failed") {
          throw new Error(
            `${jobName}: the queue job of ${part.what} failed ${job.attemptsMade} times: ${job.failedReason}` +
              ` (the run is kept; rerun with --run ${run.id} --queue ${options.url} to retry it)`,
          );
        }
        if (state === "completed" && !(await part.done())) {
          const result = job.returnvalue;
          await job.remove();
          throw new Error(options.incomplete(part, result));
        }
        if (state === "active") counts.active++;
        else counts.waiting++;
        doneOf.set(part, typeof job.progress === "number" ? job.progress : doneOf.get(part) ?? 0);
      }
      first = false;
      const done = [...doneOf.values()].reduce((a, b) => a + b, 0);
      const info = `${parts.length - pending.size}/${parts.length} ${jobName} jobs done, ${counts.active} running, ` +
        `${counts.waiting} waiting`;
      progress({ label: options.label, done, total, unit: options.unit, info });
      options.stage?.update({ done, total, unit: options.stageUnit });
      if (info !== lastLog && counts.active + counts.waiting > 0 && pending.size > 0) {
        log.debug(`${jobName}: ${info}`);
        lastLog = info;
      }
      if (pending.size > 0) await sleep(options.pollMs ?? 500, signal);
    }
  } finally {
    await queue.close();
  }
}

/**
 * Train the run's sweep on the queue: one job per member, followed until every part is done, then the
 * parts merged into the run's training state and metrics (see the module doc).
 *
 * @param run The run (its lock held by this process).
 * @param options The configuration, the hook's width, the queue URL, the stage reporter, and how often to
 *   poll (default 500 ms).
 * @returns Nothing; afterwards the run's `train-state.safetensors` holds every member at the run's steps.
 * @throws {Error} When a job failed {@linkcode JOB_ATTEMPTS} times, or stopped before the run's steps.
 * @example
 * ```ts ignore
 * await trainOnQueue(run, { config, d: store.d, url: "redis://127.0.0.1:6379" });
 * ```
 */
export async function trainOnQueue(
  run: RunHandle,
  options: { config: PipelineConfig; d: number; url: string; stage?: StageReporter; pollMs?: number },
): Promise<void> {
  const { config, d } = options;
  const specs = memberSpecs(config, d);
  const names = specs.map(specName);
  queueConnection(options.url); // a bad URL fails before any work
  await splitRunState(run, specs);
  const parts = names.map((name): QueuedPart<TrainJobData> => ({
    name,
    what: `member ${name}`,
    jobId: trainJobId(run.id, name),
    data: { runsDir: run.deps.runsDir, runId: run.id, members: [name] },
    total: config.steps,
    done: () => partDone(run, name, config.steps),
  }));
  await followJobs<TrainJobData, TrainJobResult>(run, {
    job: "train",
    parts,
    url: options.url,
    label: "train (queue)",
    unit: "step",
    stageUnit: "member steps",
    stage: options.stage,
    pollMs: options.pollMs,
    incomplete: (part, result) =>
      `train: ${part.what} stopped at step ${result?.step ?? 0} of ${config.steps} (its job's time budget, ` +
      `--train-seconds ${config.trainSeconds}, ran out); rerun with --run ${run.id} to train on`,
  });
  await mergeParts(run, specs);
  run.deps.log.info(`train: ${names.length} members trained on the queue ${options.url}; parts merged`);
}

/**
 * Give each part the run's own state when a run trained in one process first (so that it can go on on the
 * queue): a part that has no state yet gets its member's slice of the run's state and metrics rows.
 */
async function splitRunState(run: RunHandle, specs: readonly SaeSpec[]): Promise<void> {
  const names = specs.map(specName);
  const whole = await loadTrainState(run.path(STATE_FILE), specs, names);
  if (!whole || whole.step === 0) return;
  const rows = await readMetricRows(run.path(RUN_FILES.metrics));
  for (let i = 0; i < names.length; i++) {
    const dir = run.path(PARTS_DIR, names[i]);
    if (await Deno.stat(`${dir}/${STATE_FILE}`).then(() => true, () => false)) continue;
    await Deno.mkdir(dir, { recursive: true });
    const own = rows.filter((r) => r.member === names[i]).map((r) => JSON.stringify(r) + "\n").join("");
    await writeTextAtomic(`${dir}/${PART_METRICS}`, own);
    await saveTrainState(`${dir}/${STATE_FILE}`, slice(whole, [i]));
  }
}

function slice(s: TrainState, members: readonly number[]): TrainState {
  return {
    step: s.step,
    scale: s.scale,
    names: members.map((i) => s.names[i]),
    weights: members.map((i) => s.weights[i]),
    m: members.map((i) => s.m[i]),
    v: members.map((i) => s.v[i]),
    ...(s.fired ? { fired: members.map((i) => s.fired![i]) } : {}),
  };
}

/**
 * The parts' states and metrics as the run's own: one training state with every member in member order,
 * and `metrics.jsonl` with every part's rows in the order one process logs them (by step, then member).
 */
async function mergeParts(run: RunHandle, specs: readonly SaeSpec[]): Promise<void> {
  const names = specs.map(specName);
  const states: TrainState[] = [];
  for (const [i, name] of names.entries()) {
    const s = await loadTrainState(run.path(PARTS_DIR, name, STATE_FILE), [specs[i]], [name]);
    if (!s) throw new Error(`Cannot merge the queue's parts of run ${run.id}: ${name} has no training state`);
    states.push(s);
  }
  const step = states[0].step;
  const odd = states.find((s) => s.step !== step || s.scale !== states[0].scale);
  if (odd) {
    throw new Error(
      `Cannot merge the queue's parts of run ${run.id}: ${odd.names[0]} is at step ${odd.step}, ${
        states[0].names[0]
      } at ${step}`,
    );
  }
  const cat = <T>(pick: (s: TrainState) => T[]) => states.flatMap(pick);
  const merged: TrainState = {
    step,
    scale: states[0].scale,
    names: [...names],
    weights: cat((s) => s.weights),
    m: cat((s) => s.m),
    v: cat((s) => s.v),
    ...(states.every((s) => s.fired) ? { fired: cat((s) => s.fired!) } : {}),
  };
  const order = new Map(names.map((n, i) => [n, i]));
  const rows = [];
  for (const name of names) rows.push(...await readMetricRows(run.path(PARTS_DIR, name, PART_METRICS)));
  rows.sort((a, b) => a.step - b.step || order.get(a.member)! - order.get(b.member)!);
  await writeTextAtomic(run.path(RUN_FILES.metrics), rows.map((r) => JSON.stringify(r) + "\n").join(""));
  await saveTrainState(run.path(STATE_FILE), merged);
}
