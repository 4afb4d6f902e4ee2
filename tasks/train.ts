/**
 * Pipeline stage `train`, the main job: corpus → model → harvest one hook (held-out rows apart)
 * → train an SAE sweep (variant × dictionary ratio R × L1 coefficient α, all members in one pass
 * over the same batches, held-out FVU followed for convergence) → evaluate every member (`_evaluate.ts`:
 * FVU, L0, dead and dense fractions, ΔCE, KL, loss recovered against mean and zero ablation, MMCS
 * with its chance level, converged) → baselines (evaluated the same way) → scores → a summary in the
 * terminal that ends with a verdict: the fixed list
 * {@linkcode TRAIN_PIPELINE}, run by `runPipeline` of `_runtime.ts`. Everything lands in `runs/<id>/`; every stage resumes from what is on disk,
 * so rerunning after Ctrl-C continues where it stopped.
 *
 * Options: `trainSchema` in `_config.ts`. With no `run`, the newest run with the same settings
 * that is not finished (interrupted, failed, or only harvested) is resumed, else a new one is started.
 *
 * @module
 */
import * as v from "valibot";
import { readJson, RUN_FILES, type ScoresJson, setRunStatus, type StageResult } from "@saelab/runs";
import { specName } from "@saelab/sae";
import { loadDictionary } from "@saelab/dictionary";
import { applyPreset, trainSchema } from "./_config.ts";
import { evaluateMembers, spliceBaselines, type SplicedSetup, trainingMean } from "./_evaluate.ts";
import { readRunJson, reharvestHint } from "./_run.ts";
import { defineStage, type RunContext, runPipeline, type StageFunction, stageFunction, type Step } from "./_runtime.ts";
import { parseOptions } from "./_schema.ts";
import type { Pipeline } from "./_setup.ts";
import { setupPipeline } from "./_setup.ts";
import { formatSummary, modelEvidence, type SummaryRow } from "./_summary.ts";
import { loadTrainState } from "./_checkpoint.ts";
import { memberSpecs, STATE_FILE, type TrainOutcome, trainSweep } from "./_train.ts";
import { type HarvestState, harvestStep } from "./harvest.ts";
import { trainOnQueue } from "./_queue.ts";
import { baselinesStage } from "./baselines.ts";
import { scoreStage } from "./score.ts";

/** What the steps of the main job share. */
interface TrainState extends HarvestState {
  /** The context (for the later stages). */
  ctx: RunContext;
  /** The trained sweep, while it is on the GPU. */
  out?: TrainOutcome;
  /** The members' evaluations, once known. */
  rows?: SummaryRow[];
  /** Whether the sweep was trained or evaluated now (then baselines and scores are redone). */
  fresh: boolean;
  /** The mean of the training rows at the hook, once computed. */
  mean?: Float32Array;
}

/** The spliced-metrics setup of the main job, or null when they are skipped. */
async function splicedSetup(s: TrainState): Promise<SplicedSetup | null> {
  const { p } = s;
  if (p.config.skip.includes("spliced") || p.config.lossWindows === 0 || p.windows.heldOut.count === 0) return null;
  s.mean ??= await trainingMean(s.store!);
  return {
    model: p.model,
    hook: p.hook,
    windows: p.windows.heldOut,
    batch: Math.max(1, Math.min(p.config.harvestBatch, 8)),
    meanActivation: s.mean,
  };
}

async function trainedSteps(p: Pipeline, d: number): Promise<number> {
  const specs = memberSpecs(p.config, d);
  const state = await loadTrainState(p.run.path(STATE_FILE), specs, specs.map(specName));
  return state?.step ?? 0;
}

const info = (p: Pipeline) => ({
  hook: p.hook,
  layer: p.layer,
  model: p.source.info.name,
  contextLength: p.contextLength,
});

const trainStep: Step<TrainState> = {
  name: "train",
  async reuse(s) {
    const { p } = s;
    const store = s.store!;
    const before = await readRunJson(p.run);
    const trained = before.stages.train?.status === "done" && (await trainedSteps(p, store.d)) >= p.config.steps;
    if (!trained) return false;
    if (before.stages.evaluate?.status === "done") {
      const rows = await readEvals(p, memberSpecs(p.config, store.d).map(specName));
      if (rows) {
        s.rows = rows;
        return true;
      }
    }
    p.run.deps.log.info(`train: ${p.config.steps} steps already done`);
    s.out = await trainSweep(p.run, store, { config: p.config, gpu: p.gpu, info: info(p) });
    return true;
  },
  async run(s, stage) {
    const { p } = s;
    const started = performance.now();
    if (p.config.queue) {
      await trainOnQueue(p.run, { config: p.config, d: s.store!.d, url: p.config.queue, stage });
    }
    const o = await trainSweep(p.run, s.store!, { config: p.config, gpu: p.gpu, info: info(p), stage });
    s.out = o;
    const seconds = (performance.now() - started) / 1000;
    p.run.deps.log.info(
      `train: ${o.trainer.specs.length} members, steps ${o.startStep} → ${o.steps} of ${p.config.batchSize} ` +
        `vectors in ${seconds.toFixed(1)}s`,
    );
  },
};

const evaluateStep: Step<TrainState> = {
  name: "evaluate",
  reuse: (s) => Promise.resolve(s.rows !== undefined),
  async run(s) {
    const { p } = s;
    const { trainer, scale, steps } = s.out!;
    try {
      const evals = await evaluateMembers(p.run, trainer, {
        store: s.store!,
        scale,
        steps,
        batchSize: p.config.batchSize,
        spliced: await splicedSetup(s),
        seed: p.config.seed,
      });
      s.rows = trainer.names.map((name, i) => ({ name, eval: evals[i] }));
      s.fresh = true;
    } finally {
      disposeTrainer(s);
    }
  },
};

function disposeTrainer(s: TrainState): void {
  s.out?.trainer.dispose();
  s.out = undefined;
}

/** A later stage run on the main job's run: redone when the sweep is new, else when not done yet. */
function laterStep(name: "baselines" | "score"): Step<TrainState> {
  return {
    name,
    optional: true,
    skip: (s) => s.p.config.skip.includes(name),
    async reuse(s) {
      return !s.fresh && (await readRunJson(s.p.run)).stages[name]?.status === "done";
    },
    async run(s) {
      const ctx = { ...s.ctx, run: s.p.run };
      const config = { run: s.p.run.id, seed: s.p.config.seed };
      if (name === "baselines") {
        await baselinesStage.run(ctx, parseOptions(baselinesStage.schema, config));
        await spliceRunBaselines(s);
      } else await scoreStage.run(ctx, parseOptions(scoreStage.schema, config));
    },
  };
}

/** Add the spliced metrics to the run's baselines, with the same function and windows as the members. */
async function spliceRunBaselines(s: TrainState): Promise<void> {
  const setup = await splicedSetup(s);
  if (!setup) return;
  const { run } = s.p;
  const dicts = [];
  try {
    const entries = [];
    try {
      for await (const e of Deno.readDir(run.path(RUN_FILES.baselines))) if (e.isDirectory) entries.push(e);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    for (const e of entries) {
      const dict = await loadDictionary(run.path(RUN_FILES.baselines, e.name), { name: e.name });
      dicts.push({ name: e.name, dict: dict.bind(s.p.gpu) });
    }
    dicts.sort((a, b) => a.name.localeCompare(b.name));
    const done = await spliceBaselines(run, { dicts, spliced: setup });
    if (done.length) run.deps.log.info(`baselines: spliced metrics of ${done.join(", ")}`);
  } finally {
    for (const d of dicts) d.dict.dispose();
  }
}

/** The main job, in order. */
export const TRAIN_PIPELINE: readonly Step<TrainState>[] = [
  harvestStep,
  trainStep,
  evaluateStep,
  laterStep("baselines"),
  laterStep("score"),
];

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

async function trainRun(ctx: RunContext, options: v.InferOutput<typeof trainSchema>): Promise<StageResult> {
  const started = performance.now();
  const config = applyPreset(options);
  const p = await setupPipeline(ctx, config, {
    finished: (r) => r.status === "done" && r.stages.evaluate?.status === "done",
  });
  const state: TrainState = { p, ctx, fresh: false };
  let failed: string[];
  try {
    failed = await runPipeline(ctx, { state, steps: TRAIN_PIPELINE });
  } finally {
    disposeTrainer(state);
    p.dispose();
  }
  const { runsDir } = ctx;
  if (failed.length === 0) await setRunStatus(runsDir, p.run.id, { status: "done" });
  const scores = await readJson<ScoresJson>(runsDir, [p.run.id, RUN_FILES.scores], { kind: "scores" });
  const summary = formatSummary(await readRunJson(p.run), {
    rows: [...(state.rows ?? []), ...(await baselineRows(p))],
    scores: scores.status === "ok" ? scores.value : null,
    wallSeconds: (performance.now() - started) / 1000,
    runsDir,
    model: await modelEvidence(await readRunJson(p.run)),
  });
  ctx.log.info(`\n${summary}`);
  if (failed.length) {
    // a rerun cannot get past a bad activation chunk; harvesting it again can
    const badStore = failed.some((m) => m.includes("of the activation store in"));
    throw new Error(
      `${failed.join("; ")} — the SAE sweep and its evaluation are saved in ${p.run.dir}; ` +
        (badStore ? reharvestHint(p.run.id) : "rerun `deno task train` to retry"),
    );
  }
  return { runId: p.run.id, message: `Run ${p.run.id} is in ${p.run.dir}` };
}

/** The `train` stage: the main job. */
export const trainStage = defineStage({ name: "train", schema: trainSchema, run: trainRun });

/**
 * Run the main job on a given GPU context (which stays open; default: a new one), so that tests reuse one device.
 *
 * @param config Configuration (see `trainSchema`).
 * @param deps Runs folder, progress, abort signal, logger.
 * @param options The GPU context.
 * @returns The run id and where to look.
 * @throws {UsageError} When the configuration does not fit the schema.
 * @example
 * ```ts ignore
 * const gpu = await createGpu();
 * await train({ model: "models/tiny", steps: 10 }, deps, { gpu });
 * ```
 */
export const train: StageFunction = stageFunction(trainStage);
