/**
 * Pipeline stage `harvest`: run the model over the corpus windows and store one hook's
 * activations in the run folder (`runs/<id>/activations/`, an `@saelab/activations` store with
 * rows of held-out documents apart). A rerun resumes from the last committed chunk; a finished
 * store is reused as it is.
 *
 * Options: `harvestSchema` in `_config.ts` (`model`, `corpus`, `hook`, `layer`, `tokens`, `heldOutFraction`,
 * `harvestBatch`, `dtype`, `seed`, `run`, …). `deno task train` runs this stage first.
 *
 * @module
 */
import { type ActivationStore, harvest, openStore } from "@saelab/activations";
import type { Gpu } from "@saelab/gpu";
import type { StageDeps } from "@saelab/runs";
import { setRunStatus } from "@saelab/runs";
import { STORE_DIR } from "./_dict_stage.ts";
import { harvestSchema, resolveConfig } from "./_config.ts";
import { readRunJson } from "./_run.ts";
import { defineStage, runPipeline, runStage, type StageReporter, type Step } from "./_runtime.ts";
import { type Pipeline, setupPipeline } from "./_setup.ts";

export { STORE_DIR } from "./_dict_stage.ts";

/** Rows per chunk: a Ctrl-C loses at most this many rows of work. */
const CHUNK_ROWS = 8192;

async function completeStore(dir: string): Promise<ActivationStore | null> {
  try {
    return await openStore(dir);
  } catch {
    return null;
  }
}

/** What the steps of the main job share. */
export interface HarvestState {
  /** The pipeline. */
  p: Pipeline;
  /** The activation store, once harvested. */
  store?: ActivationStore;
}

/** The `harvest` step: reuse the finished store of the run, else harvest (resuming from the last chunk). */
export const harvestStep: Step<HarvestState> = {
  name: "harvest",
  async reuse(state) {
    const { run } = state.p;
    if ((await readRunJson(run)).stages.harvest?.status !== "done") return false;
    const store = await completeStore(run.path(STORE_DIR));
    if (!store) return false;
    run.deps.log.info(`harvest: reusing ${store.rows("train")} + ${store.rows("heldout")} held-out rows`);
    state.store = store;
    return true;
  },
  async run(state, stage) {
    state.store = await harvestInto(state.p, stage);
  },
};

async function harvestInto(p: Pipeline, stage: StageReporter): Promise<ActivationStore> {
  const { run, config } = p;
  const dir = run.path(STORE_DIR);
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
