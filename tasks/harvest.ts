/**
 * Pipeline stage `harvest`: run the model over the corpus windows and store one hook's
 * activations in the run folder (`runs/<id>/activations/`, an `@saelab/activations` store with
 * rows of held-out documents apart). A rerun resumes from the last committed chunk; a finished
 * store is reused as it is.
 *
 * Config: see `PipelineConfig` in `_config.ts` (`model`, `corpus`, `hook`, `layer`, `tokens`,
 * `heldOutFraction`, `harvestBatch`, `dtype`, `seed`, `run`). `deno task train` runs this stage first.
 *
 * @module
 */
import { type ActivationStore, harvest, openStore } from "@saelab/activations";
import type { StageDeps, StageResult } from "@saelab/runs";
import { setRunStatus } from "@saelab/runs";
import { readRunJson, runStage } from "./_run.ts";
import { type Pipeline, setupPipeline } from "./_setup.ts";

/** Folder of the activation store inside a run folder. */
export const STORE_DIR = "activations";

/** Rows per chunk: a Ctrl-C loses at most this many rows of work. */
const CHUNK_ROWS = 8192;

async function completeStore(dir: string): Promise<ActivationStore | null> {
  try {
    return await openStore(dir);
  } catch {
    return null;
  }
}

/**
 * Harvest the pipeline's hook into its run folder, or reuse the finished store there.
 *
 * @param p The pipeline.
 * @returns The opened store.
 * @example
 * ```ts ignore
 * const store = await harvestStage(pipeline);
 * console.log(store.rows("train"), store.rows("heldout"));
 * ```
 */
export async function harvestStage(p: Pipeline): Promise<ActivationStore> {
  const { run, config } = p;
  const dir = run.path(STORE_DIR);
  const record = (await readRunJson(run)).stages.harvest;
  if (record?.status === "done") {
    const store = await completeStore(dir);
    if (store) {
      run.deps.log.info(`harvest: reusing ${store.rows("train")} + ${store.rows("heldout")} held-out rows`);
      return store;
    }
  }
  return await runStage(run, "harvest", async (stage) => {
    const started = performance.now();
    const result = await harvest(p.model, p.windows.harvest, {
      hook: p.hook,
      dir,
      batchSize: config.harvestBatch,
      maxTokens: config.tokens,
      dtype: config.dtype,
      heldOutFraction: config.heldOutFraction,
      splitSeed: 0,
      chunkRows: CHUNK_ROWS,
      modelName: p.source.info.name,
      signal: run.deps.signal,
      onProgress: (h) => {
        run.deps.progress({ label: "harvest", done: h.rows, total: h.rowsTotal, unit: "tok" });
        stage.update({ done: h.rows, total: h.rowsTotal, unit: "tokens" });
      },
    });
    const m = result.manifest;
    const seconds = (performance.now() - started) / 1000;
    const rate = result.rowsWritten > 0 ? ` (${Math.round(result.rowsWritten / seconds)} tok/s)` : "";
    run.deps.log.info(
      `harvest: ${m.rows.train} training + ${m.rows.heldout} held-out rows of ${p.hook}, width ${m.d}${rate}`,
    );
    return await openStore(dir);
  });
}

/**
 * Harvest one hook's activations into a run folder.
 *
 * @param config Merged configuration (see the module doc).
 * @param deps Runs folder, progress, abort signal, logger.
 * @returns The run id and a one-line summary.
 * @example
 * ```ts ignore
 * await run({ hook: "blocks.1.hook_resid_post", tokens: 100_000 }, deps);
 * ```
 */
export async function run(config: Record<string, unknown>, deps: StageDeps): Promise<StageResult> {
  const p = await setupPipeline(config, deps, { finished: (r) => r.stages.harvest?.status === "done" });
  try {
    const store = await harvestStage(p);
    await setRunStatus(deps.runsDir, p.run.id, { status: "done" });
    return {
      runId: p.run.id,
      message: `Harvested ${store.rows("train")} + ${store.rows("heldout")} held-out rows of ${p.hook} into ` +
        `${p.run.path(STORE_DIR)}`,
    };
  } finally {
    p.dispose();
  }
}
