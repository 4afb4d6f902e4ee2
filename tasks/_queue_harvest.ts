/**
 * The harvest as queue jobs (`deno task harvest --queue …`, and the harvest step of `train --queue`): the
 * plan's ranges (`@saelab/activations` `planHarvest`: the windows between two commit points) grouped into
 * shards of consecutive ranges, one job per shard (`<run>:harvest:<from>-<to>`, ranges `[from, to)`).
 * A worker loads the model and windows from the run's stored configuration, harvests each range of its
 * shard into the store folder under the range's planned chunk names (written atomically), and records the
 * ranges' chunk entries in `queue/harvest-<from>-<to>/`: `ranges.json` after each range (a shard handed to
 * another worker goes on after its last range) and `done.json` once all are written. When every shard is
 * done the coordinator commits them all in one manifest write — so a store is either the manifest before
 * or the whole harvest, and chunk files no manifest lists are never read. The chunks are the bytes the
 * sequential harvest writes: both run the same ranges with the same batches.
 *
 * @module
 */
import { assembleManifest, type HarvestPlan, planStore, type RangeChunks, writeManifest } from "@saelab/activations";
import { writeTextAtomic } from "@saelab/runs";
import { STORE_DIR } from "./_dict_stage.ts";
import { followJobs, PART_DONE, PARTS_DIR, type QueuedPart } from "./_queue.ts";
import type { StageReporter } from "./_runtime.ts";
import type { Pipeline, PipelineInputs } from "./_setup.ts";
import type { PipelineConfig } from "./_config.ts";

/** Rows per chunk unless `--chunk-rows` says: a Ctrl-C loses at most this many rows of work. */
export const CHUNK_ROWS = 8192;

/** Shards of a queue harvest when `--shard-rows` is not given. */
export const DEFAULT_SHARDS = 4;

/** File of a shard's part folder with the ranges it has written so far. */
export const SHARD_RANGES = "ranges.json";

/** What a harvest job carries. */
export interface HarvestJobData {
  /** Absolute path of the runs folder (the same path on every worker). */
  runsDir: string;
  /** The run. */
  runId: string;
  /** The shard's ranges `[from, to)` of the plan. */
  ranges: [number, number];
  /** The coordinator's hash of the harvest's settings and windows (a worker with other windows refuses). */
  configHash: string;
}

/** What a harvest job returns. */
export interface HarvestJobResult {
  /** Rows the shard holds. */
  rows: number;
}

/** The folder name of a shard's part. */
export function shardName(ranges: readonly [number, number]): string {
  return `harvest-${ranges[0]}-${ranges[1]}`;
}

/**
 * The harvest's settings for `@saelab/activations` (the same for a harvest, a repair and a shard).
 *
 * @param p The configuration, the hook and the model record.
 * @param dir The store folder.
 * @param signal Stops the harvest between batches.
 * @returns The options of `harvest`.
 */
export function harvestOptions(
  p: { config: PipelineConfig; hook: string; source: PipelineInputs["source"] },
  dir: string,
  signal?: AbortSignal,
) {
  const { config } = p;
  return {
    hook: p.hook,
    dir,
    batchSize: config.harvestBatch,
    maxTokens: config.tokens,
    dtype: config.dtype,
    heldOutFraction: config.heldOutFraction,
    splitSeed: 0,
    chunkRows: config.chunkRows ?? CHUNK_ROWS,
    modelName: p.source.info.name,
    signal,
  };
}

/**
 * Group a plan's ranges from `start` into shards of consecutive ranges of about `shardRows` rows each.
 *
 * @param plan The plan.
 * @param options The first range to harvest and the rows per shard (default: a quarter of what is left).
 * @returns The shards' ranges `[from, to)`, in order.
 * @example
 * ```ts
 * import { planShards } from "./_queue_harvest.ts";
 * const range = (rows: number) => ({ from: 0, to: 0, lastEnd: 0, rowsBefore: 0, rows, chunks: {} });
 * const plan = { chunkRows: 1, rowsTotal: 50, heldOut: new Uint8Array(), ranges: [10, 10, 10, 10, 10].map(range) };
 * if (JSON.stringify(planShards(plan, { start: 1, shardRows: 20 })) !== "[[1,3],[3,5]]") throw new Error();
 * ```
 */
export function planShards(plan: HarvestPlan, options: { start: number; shardRows?: number }): [number, number][] {
  const { ranges } = plan;
  const left = ranges.slice(options.start).reduce((n, r) => n + r.rows, 0);
  const per = options.shardRows ?? Math.ceil(left / DEFAULT_SHARDS);
  const shards: [number, number][] = [];
  let from = options.start, rows = 0;
  for (let i = options.start; i < ranges.length; i++) {
    rows += ranges[i].rows;
    if (rows >= per || i === ranges.length - 1) {
      shards.push([from, i + 1]);
      from = i + 1;
      rows = 0;
    }
  }
  return shards;
}

/**
 * The ranges a shard's file lists whose chunk files are in the store with their sizes.
 *
 * @param file `ranges.json` or `done.json` of a shard.
 * @param options The store folder and the harvest's settings hash (a file of other settings counts as none).
 * @returns The ranges' chunk entries, or null when the file is missing, of other settings, or a chunk is gone.
 */
export async function readShardRanges(
  file: string,
  options: { store: string; configHash: string },
): Promise<RangeChunks[] | null> {
  let saved: { configHash?: string; ranges?: RangeChunks[] };
  try {
    saved = JSON.parse(await Deno.readTextFile(file));
  } catch {
    return null;
  }
  if (saved.configHash !== options.configHash || !Array.isArray(saved.ranges)) return null;
  for (const r of saved.ranges) {
    for (const entry of Object.values(r.chunks)) {
      const size = await Deno.stat(`${options.store}/${entry!.file}`).then((s) => s.size, () => -1);
      if (size !== entry!.bytes) return null;
    }
  }
  return saved.ranges;
}

/**
 * Record a shard's ranges (atomically).
 *
 * @param file `ranges.json` or `done.json` of the shard.
 * @param options The settings hash and the ranges' chunk entries.
 * @returns Nothing.
 */
export async function writeShardRanges(
  file: string,
  options: { configHash: string; ranges: readonly RangeChunks[] },
): Promise<void> {
  await writeTextAtomic(file, JSON.stringify({ configHash: options.configHash, ranges: options.ranges }) + "\n");
}

/**
 * Harvest the run's store on the queue: one job per shard, followed until every shard is done, then one
 * manifest with every range (see the module doc). A store the sequential harvest started goes on from its
 * last commit point.
 *
 * @param p The pipeline (the run's lock held by this process; the model and windows give the plan).
 * @param options The queue URL, rows per shard, the stage reporter, and how often to poll (default 500 ms).
 * @returns The rows harvested now (0 when the store was complete); afterwards the run's store is complete.
 * @throws {Error} When a shard's job failed `JOB_ATTEMPTS` times.
 * @example
 * ```ts ignore
 * await harvestOnQueue(p, { url: "redis://127.0.0.1:6379" });
 * ```
 */
export async function harvestOnQueue(
  p: Pipeline,
  options: { url: string; shardRows?: number; stage?: StageReporter; pollMs?: number },
): Promise<{ rows: number }> {
  const { run } = p;
  const dir = run.path(STORE_DIR);
  await Deno.mkdir(dir, { recursive: true });
  const store = await planStore(p.model, p.windows.harvest, harvestOptions(p, dir));
  if (store.manifest?.complete) return { rows: 0 };
  const { plan, configHash } = store;
  if (plan.ranges.length === 0) throw new RangeError(`Cannot harvest ${p.hook}: there are no windows to run`);
  const shards = planShards(plan, { start: store.start, shardRows: options.shardRows });
  const doneFile = (s: [number, number]) => run.path(PARTS_DIR, shardName(s), PART_DONE);
  const parts = shards.map((ranges): QueuedPart<HarvestJobData> => ({
    name: shardName(ranges),
    what: `shard ${ranges[0]}-${ranges[1]} (ranges of windows ${plan.ranges[ranges[0]].from}…)`,
    jobId: harvestJobId(run.id, ranges),
    data: { runsDir: run.deps.runsDir, runId: run.id, ranges, configHash },
    total: plan.ranges.slice(ranges[0], ranges[1]).reduce((n, r) => n + r.rows, 0),
    done: async () => (await readShardRanges(doneFile(ranges), { store: dir, configHash })) !== null,
  }));
  run.deps.log.info(
    `harvest: ${plan.rowsTotal} rows in ${plan.ranges.length} chunks' ranges as ${shards.length} queue jobs on ` +
      options.url,
  );
  await followJobs<HarvestJobData, HarvestJobResult>(run, {
    job: "harvest",
    parts,
    url: options.url,
    label: "harvest (queue)",
    unit: "tok",
    stageUnit: "tokens",
    stage: options.stage,
    pollMs: options.pollMs,
    incomplete: (part) => `harvest: the job of ${part.what} completed but its shard has no ${PART_DONE}`,
  });
  const ranges: RangeChunks[] = [];
  for (const s of shards) {
    const done = await readShardRanges(doneFile(s), { store: dir, configHash });
    if (!done) throw new Error(`Cannot commit the queue's harvest of run ${run.id}: ${doneFile(s)} is gone`);
    ranges.push(...done);
  }
  await writeManifest(dir, assembleManifest(store.base, { plan, ranges, dir }));
  return { rows: parts.reduce((n, p) => n + p.total, 0) };
}

/** The BullMQ job id of a shard (unique per run and shard, so a second add is a no-op). */
export function harvestJobId(runId: string, ranges: readonly [number, number]): string {
  return `${runId}:harvest:${ranges[0]}-${ranges[1]}`;
}
