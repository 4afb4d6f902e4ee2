/**
 * Pipeline stage `train`, the main job: corpus → model → harvest one hook (held-out rows apart)
 * → train an SAE sweep (variant × dictionary ratio R × L1 coefficient α, all members in one pass
 * over the same batches) → evaluate every member (MSE, FVU, L0, dead fraction, MMCS, spliced
 * loss) → baselines and interpretability scores when those stages are in this build → a summary
 * in the terminal. Everything lands in `runs/<id>/`; every stage resumes from what is on disk,
 * so rerunning after Ctrl-C continues where it stopped.
 *
 * Config: see `PipelineConfig` in `_config.ts`. With no `run`, the newest run with the same settings
 * that is not finished (interrupted, failed, or only harvested) is resumed, else a new one is started.
 *
 * @module
 */
import { readJson, RUN_FILES, type ScoresJson, setRunStatus, type StageDeps, type StageResult } from "@saelab/runs";
import type { Gpu } from "@saelab/gpu";
import { specName } from "@saelab/sae";
import { evaluateMembers } from "./_evaluate.ts";
import { readRunJson, runStage } from "./_run.ts";
import { type Pipeline, setupPipeline } from "./_setup.ts";
import { formatSummary, type SummaryRow } from "./_summary.ts";
import { loadTrainState } from "./_checkpoint.ts";
import { memberSpecs, STATE_FILE, type TrainOutcome, trainSweep } from "./_train.ts";
import { harvestStage } from "./harvest.ts";

/** Stages of other files run in-process after training when this build has them, on the same GPU context. */
const LATER_STAGES = [
  { name: "baselines", file: new URL("./baselines.ts", import.meta.url) },
  { name: "score", file: new URL("./score.ts", import.meta.url) },
] as const;

/** What a later stage's module exports: `run`, and a function of its own name that takes a GPU context. */
type LaterStage = Record<
  string,
  ((config: Record<string, unknown>, deps: StageDeps, options?: { gpu?: Gpu }) => Promise<unknown>) | undefined
>;

async function exists(url: URL): Promise<boolean> {
  try {
    return (await Deno.stat(url)).isFile;
  } catch {
    return false;
  }
}

async function trainedSteps(p: Pipeline, d: number): Promise<number> {
  const specs = memberSpecs(p.config, d);
  const state = await loadTrainState(p.run.path(STATE_FILE), specs, specs.map(specName));
  return state?.step ?? 0;
}

/** Train and evaluate, or reuse what is on disk; `fresh` says whether anything was computed now. */
async function trainAndEvaluate(p: Pipeline): Promise<{ rows: SummaryRow[]; fresh: boolean }> {
  const { run, config } = p;
  const store = await harvestStage(p);
  const info = { hook: p.hook, layer: p.layer, model: p.source.info.name, contextLength: p.contextLength };
  const before = await readRunJson(run);
  const trained = before.stages.train?.status === "done" && (await trainedSteps(p, store.d)) >= config.steps;
  if (trained && before.stages.evaluate?.status === "done") {
    const rows = await readEvals(p, memberSpecs(config, store.d).map(specName));
    if (rows) return { rows, fresh: false };
  }
  let out: TrainOutcome | null = null;
  try {
    if (trained) {
      run.deps.log.info(`train: ${config.steps} steps already done`);
      out = await trainSweep(run, store, { config, gpu: p.gpu, info });
    } else {
      out = await runStage(run, "train", async (stage) => {
        const started = performance.now();
        const o = await trainSweep(run, store, { config, gpu: p.gpu, info, stage });
        const seconds = (performance.now() - started) / 1000;
        run.deps.log.info(
          `train: ${o.trainer.specs.length} members, steps ${o.startStep} → ${o.steps} of ${config.batchSize} ` +
            `vectors in ${seconds.toFixed(1)}s`,
        );
        return o;
      });
    }
    const { trainer, scale } = out;
    const { evals } = await runStage(run, "evaluate", () =>
      evaluateMembers(run, trainer, {
        store,
        model: p.model,
        hook: p.hook,
        scale,
        windows: config.skip.includes("spliced") || config.lossWindows === 0 ? null : p.windows.heldOut,
        batch: Math.max(1, Math.min(config.harvestBatch, 8)),
      }));
    return { rows: trainer.names.map((name, i) => ({ name, eval: evals[i] })), fresh: true };
  } finally {
    out?.trainer.dispose();
  }
}

async function readEvals(p: Pipeline, names: readonly string[]): Promise<SummaryRow[] | null> {
  const rows: SummaryRow[] = [];
  for (const name of names) {
    const r = await readJson<SummaryRow["eval"]>(p.run.deps.runsDir, [p.run.id, RUN_FILES.saes, name, RUN_FILES.eval], {
      kind: "dictEval",
    });
    if (r.status !== "ok") return null;
    rows.push({ name, eval: r.value });
  }
  return rows;
}

async function baselineRows(p: Pipeline): Promise<SummaryRow[]> {
  const rows: SummaryRow[] = [];
  const { runsDir } = p.run.deps;
  try {
    for await (const e of Deno.readDir(p.run.path(RUN_FILES.baselines))) {
      if (!e.isDirectory) continue;
      const r = await readJson<SummaryRow["eval"]>(runsDir, [p.run.id, RUN_FILES.baselines, e.name, RUN_FILES.eval], {
        kind: "dictEval",
      });
      if (r.status === "ok") rows.push({ name: e.name, eval: r.value });
    }
  } catch { /* no baselines */ }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Run the main job.
 *
 * @param config Merged configuration (see the module doc).
 * @param deps Runs folder, progress, abort signal, logger.
 * @returns The run id and where to look.
 * @example
 * ```ts ignore
 * await run({ ratios: [1, 2], l1: [1e-3], steps: 200 }, deps);
 * ```
 */
export function run(config: Record<string, unknown>, deps: StageDeps): Promise<StageResult> {
  return train(config, deps);
}

/**
 * {@linkcode run} on a given GPU context (which stays open), so that tests reuse one device.
 *
 * @param config Merged configuration (see the module doc).
 * @param deps Runs folder, progress, abort signal, logger.
 * @param options The GPU context.
 * @returns The run id and where to look.
 * @example
 * ```ts ignore
 * const gpu = await createGpu();
 * await train({ model: "models/tiny", steps: 10 }, deps, { gpu });
 * ```
 */
export async function train(
  config: Record<string, unknown>,
  deps: StageDeps,
  options: { gpu?: Gpu } = {},
): Promise<StageResult> {
  const started = performance.now();
  const p = await setupPipeline(config, deps, {
    ...options,
    finished: (r) => r.status === "done" && r.stages.evaluate?.status === "done",
  });
  let rows: SummaryRow[];
  const failed: string[] = [];
  try {
    const done = await trainAndEvaluate(p);
    rows = done.rows;
    const stages = (await readRunJson(p.run)).stages;
    for (const stage of LATER_STAGES) {
      if (p.config.skip.includes(stage.name) || !(await exists(stage.file))) continue;
      if (!done.fresh && stages[stage.name]?.status === "done") continue;
      deps.signal.throwIfAborted();
      try {
        await runStage(p.run, stage.name, async () => {
          const mod = await import(stage.file.href) as LaterStage;
          const call = mod[stage.name] ?? mod.run!;
          return await call({ run: p.run.id, seed: p.config.seed }, deps, { gpu: p.gpu });
        });
      } catch (e) {
        if (deps.signal.aborted) throw e;
        // The sweep is saved: report the stage's failure after the summary, and let a rerun retry it.
        failed.push(`${stage.name} failed: ${e instanceof Error ? e.message : String(e)}`);
        deps.log.warn(failed.at(-1)!);
      }
    }
  } finally {
    p.dispose();
  }
  if (failed.length === 0) await setRunStatus(deps.runsDir, p.run.id, { status: "done" });
  const scores = await readJson<ScoresJson>(deps.runsDir, [p.run.id, RUN_FILES.scores], { kind: "scores" });
  const summary = formatSummary(await readRunJson(p.run), {
    rows: [...rows, ...(await baselineRows(p))],
    scores: scores.status === "ok" ? scores.value : null,
    wallSeconds: (performance.now() - started) / 1000,
    runsDir: deps.runsDir,
  });
  deps.log.info(`\n${summary}`);
  if (failed.length) {
    throw new Error(
      `${failed.join("; ")} — the SAE sweep and its evaluation are saved in ${p.run.dir}; ` +
        "rerun `deno task train` to retry",
    );
  }
  return { runId: p.run.id, message: `Run ${p.run.id} is in ${p.run.dir}` };
}
