/**
 * Pipeline stage `harvest`: run the model over the corpus windows and store one hook's
 * activations in the run folder (`runs/<id>/activations/`, an `@saelab/activations` store with
 * rows of held-out documents apart). A rerun resumes from the last committed chunk; a finished
 * store is reused once its held-out chunks pass their check (before any training reads them), and
 * with `--reharvest` every chunk is checked and only those that fail are harvested again.
 *
 * Options: `harvestSchema` in `_config.ts` (`model`, `corpus`, `hook`, `layer`, `tokens`, `heldOutFraction`,
 * `harvestBatch`, `dtype`, `seed`, `run`, …). `deno task train` runs this stage first. With `--queue` the
 * harvest's shards are jobs for `deno task worker` processes (`_queue_harvest.ts`), and the store is the
 * same bytes.
 *
 * @module
 */
import {
  type ActivationStore,
  findBadChunks,
  harvest,
  openStore,
  readManifest,
  reharvestChunks,
  StoreError,
} from "@saelab/activations";
import type { Gpu } from "@saelab/gpu";
import type { StageDeps } from "@saelab/runs";
import { setRunStatus } from "@saelab/runs";
import { STORE_DIR } from "./_dict_stage.ts";
import { harvestSchema, resolveConfig } from "./_config.ts";
import { readRunJson, reharvestHint } from "./_run.ts";
import { defineStage, runPipeline, runStage, type StageReporter, type Step } from "./_runtime.ts";
import { type Pipeline, setupPipeline } from "./_setup.ts";
import { harvestOnQueue, harvestOptions as shardOptions } from "./_queue_harvest.ts";

export { STORE_DIR } from "./_dict_stage.ts";

/** The harvest's settings for `@saelab/activations` (the same for a harvest, a repair and a queue shard). */
const harvestOptions = (p: Pipeline, dir: string) => shardOptions(p, dir, p.run.deps.signal);

/**
 * Check a finished store before it is used: its held-out chunks (all chunks with `--reharvest`, which
 * then harvests the bad ones again).
 */
async function checkStore(p: Pipeline, dir: string): Promise<void> {
  const { log } = p.run.deps;
  const all = p.config.reharvest;
  const bad = await findBadChunks(dir, { splits: all ? ["train", "heldout"] : ["heldout"] });
  if (bad.length === 0) return;
  const list = bad.map((b) => `${b.file} (${b.reason})`).join(", ");
  if (!all) {
    throw new StoreError(
      `Cannot use the activation store in ${dir}: ${bad.length} held-out chunk${bad.length > 1 ? "s" : ""} ` +
        `failed ${bad.length > 1 ? "their" : "its"} check: ${list}; ${reharvestHint(p.run.id)}`,
      bad[0].file,
    );
  }
  log.info(`harvest: harvesting ${bad.length} bad chunk${bad.length > 1 ? "s" : ""} again: ${list}`);
  await reharvestChunks(p.model, p.windows.harvest, { ...harvestOptions(p, dir), bad });
}

/** What the steps of the main job share. */
export interface HarvestState {
  /** The pipeline. */
  p: Pipeline;
  /** The activation store, once harvested. */
  store?: ActivationStore;
}

/** Open a finished store of a run; a missing or resized chunk names what to do. */
async function openChecked(runId: string, dir: string): Promise<ActivationStore> {
  try {
    return await openStore(dir);
  } catch (e) {
    if (e instanceof StoreError && !e.message.includes("--reharvest")) e.message += `; ${reharvestHint(runId)}`;
    throw e;
  }
}

/** The `harvest` step: reuse the finished store of the run, else harvest (resuming from the last chunk). */
export const harvestStep: Step<HarvestState> = {
  name: "harvest",
  async reuse(state) {
    const { run } = state.p;
    if ((await readRunJson(run)).stages.harvest?.status !== "done") return false;
    const dir = run.path(STORE_DIR);
    if (!(await readManifest(dir).catch(() => null))?.complete) return false;
    await checkStore(state.p, dir);
    const store = await openChecked(run.id, dir);
    run.deps.log.info(`harvest: reusing ${store.rows("train")} + ${store.rows("heldout")} held-out rows`);
    state.store = store;
    return true;
  },
  async run(state, stage) {
    state.store = await harvestInto(state.p, stage);
  },
};

async function harvestInto(p: Pipeline, stage: StageReporter): Promise<ActivationStore> {
  const { run } = p;
  const dir = run.path(STORE_DIR);
  const started = performance.now();
  let rowsWritten = 0;
  if (p.config.queue) {
    ({ rows: rowsWritten } = await harvestOnQueue(p, { url: p.config.queue, shardRows: p.config.shardRows, stage }));
  } else {
    const result = await harvest(p.model, p.windows.harvest, {
      ...harvestOptions(p, dir),
      onProgress: (h) => {
        run.deps.progress({ label: "harvest", done: h.rows, total: h.rowsTotal, unit: "tok" });
        stage.update({ done: h.rows, total: h.rowsTotal, unit: "tokens" });
      },
    });
    rowsWritten = result.rowsWritten;
  }
  const m = (await readManifest(dir))!;
  const seconds = (performance.now() - started) / 1000;
  const rate = rowsWritten > 0 ? ` (${Math.round(rowsWritten / seconds)} tok/s)` : "";
  run.deps.log.info(
    `harvest: ${m.rows.train} training + ${m.rows.heldout} held-out rows of ${p.hook}, width ${m.d}${rate}` +
      (p.config.queue ? ` (queue ${p.config.queue})` : ""),
  );
  if (p.config.reharvest) await checkStore(p, dir);
  return await openChecked(run.id, dir);
}

/** The `harvest` stage: harvest one hook's activations into a run folder. */
export const harvestStage = defineStage({
  name: "harvest",
  schema: harvestSchema,
  async run(ctx, config) {
    const p = await setupPipeline(ctx, resolveConfig(config), {
      finished: (r) => r.stages.harvest?.status === "done",
    });
    try {
      const state: HarvestState = { p };
      await runPipeline(ctx, { state, steps: [harvestStep] });
      await setRunStatus(ctx.runsDir, p.run.id, { status: "done" });
      const store = state.store!;
      return {
        runId: p.run.id,
        message: `Harvested ${store.rows("train")} + ${store.rows("heldout")} held-out rows of ${p.hook} into ` +
          `${p.run.path(STORE_DIR)}`,
      };
    } finally {
      p.dispose();
    }
  },
});

/**
 * Harvest one hook's activations into a run folder.
 *
 * @param config Configuration (see `harvestSchema`).
 * @param deps Runs folder, progress, abort signal, logger.
 * @param options A GPU context to use (left open; default: a new one).
 * @returns The run id and a one-line summary.
 * @throws {UsageError} When the configuration does not fit the schema.
 * @example
 * ```ts ignore
 * await run({ hook: "blocks.1.hook_resid_post", tokens: 100_000 }, deps);
 * ```
 */
export function run(config: Record<string, unknown>, deps: StageDeps, options: { gpu?: Gpu } = {}) {
  return runStage(harvestStage, config, { ...options, deps });
}
