/**
 * Pipeline stage `patch`: the paper's feature-patching experiment (Figure 3) on a run's dictionaries,
 * written to `runs/<id>/patch.json`.
 *
 * 1. A task the model performs: `ioi` (Pythia), `repeat` (induction) or `phrase`; `auto` (default) checks
 *    the candidates in that order — `repeat` and `phrase` first on the project's own model — and takes the
 *    first whose logit differences show the model doing it, printing every check first.
 * 2. For several SAE members at the run's hook (default: the untied ones of the largest ratio, one per α) and
 *    a PCA rotation fitted on the run's activations: the greedy threshold sweep of `@saelab/causal`
 *    (50 thresholds, 1e-5 … 1), each curve written as soon as it is done. A rerun with the same settings keeps
 *    finished curves.
 *
 * Config: `run`, `model` (override the run's model folder), `task` (`auto`), `pairs` (60 for IOI, 16 otherwise),
 * `dicts` (names under saes/ or baselines/), `noPca` (false), `positions` (`all` | `read`), `seed` (0),
 * `maxTokens` (8192 tokens per forward call).
 *
 * @module
 */
import { hashJson, openStore } from "@saelab/activations";
import { fitPca, pcaDictionary } from "@saelab/baselines";
import {
  cleanKl,
  type Dictionary,
  Downstream,
  featurePatching,
  type FeaturePatchResult,
  patchThresholds,
  summarizeTask,
  type TaskRun,
} from "@saelab/causal";
import * as v from "valibot";
import type { Gpu } from "@saelab/gpu";
import {
  listDicts,
  type PatchCurve,
  type PatchJson,
  RUN_FILES,
  type StageDeps,
  type StageResult,
  writeJsonAtomic,
} from "@saelab/runs";
import { type AnalysisRun, defaultMembers, HAS_SAES, loadEntries, loadRunModel } from "./_causal.ts";
import { defineStage, type RunContext } from "./_runtime.ts";
import { choice, flag, int, names, text } from "./_schema.ts";
import { chooseTask, TASKS } from "./_patch_task.ts";

/** The options of `patch`. */
export const patchSchema = v.strictObject({
  run: text("run id (folder under --runs); default: the newest run with SAEs"),
  model: text("model folder (default: the run's)"),
  task: choice("auto (the first task the model performs), ioi, repeat or phrase", TASKS, "auto"),
  pairs: int("prompt pairs (default 60 for ioi, 16 otherwise)", { min: 1 }),
  dicts: names("dictionaries to patch (default: SAE members at the run's hook)"),
  noPca: flag("leave out the PCA rotation fitted on the run's activations"),
  positions: choice("edit all positions up to the read position, or only it", ["all", "read"], "all"),
  maxTokens: int("most tokens per forward call", { default: 8192, min: 1 }),
  seed: int("random seed", { default: 0, min: 0 }),
});

type PatchConfig = v.InferOutput<typeof patchSchema>;

async function patchRun(ctx: RunContext, config: PatchConfig): Promise<StageResult> {
  const deps = ctx;
  const taskName = config.task;
  const { positions, seed, maxTokens } = config;
  const wanted = config.dicts;
  const withPca = !config.noPca;
  const run = ctx.run!;
  const hook = run.json.hook;
  const gpu = await ctx.gpu();
  const { model, dir, tokenizer } = await loadRunModel(gpu, run, config.model);
  const dicts: Dictionary[] = [];
  try {
    const defaultPairs = (name: string) => config.pairs ?? (name === "ioi" ? 60 : 16);
    const chosen = await chooseTask(deps, {
      model,
      tokenizer,
      hook,
      name: taskName,
      pairs: defaultPairs,
      seed,
      isDefault: run.json.model.isDefaultModel,
    });
    const { task, taskRun } = chosen;
    const entries = await listDicts(deps.runsDir, run.id);
    const picked = wanted
      ? wanted.map((n) => {
        const e = entries.find((x) => x.name === n);
        if (!e) throw new TypeError(`Invalid dicts: run ${run.id} has no dictionary ${JSON.stringify(n)}`);
        return e;
      })
      : defaultMembers(entries, hook, 3);
    dicts.push(...await loadEntries(gpu, run, picked));
    if (withPca) {
      const pca = await pcaRotation(gpu, run, deps);
      if (pca) dicts.push(pca);
    }
    const thresholds = patchThresholds();
    const settings = hashJson({
      task: task.name,
      pairs: task.pairs.length,
      seed,
      positions,
      hook,
      thresholds,
      model: dir,
    });
    const out: PatchJson & { settings: string; kl: string; examples: unknown } = {
      task: task.name,
      metric: "KL(patched ‖ counterfactual)",
      clean: cleanKl(taskRun),
      patched: 0,
      curves: [],
      hook,
      pairs: task.pairs.length,
      ...summaryFields(taskRun),
      kl:
        "mean over pairs of KL(P_patched ‖ P_counterfactual) at the read position (the direction of the paper's code)",
      examples: task.pairs.slice(0, 3).map((p) => p.text),
      settings,
    };
    const previous = await readPrevious(run, settings);
    using down = await Downstream.create(model, hook, { weights: dir });
    deps.log.info(
      `patch: ${dicts.length} dictionaries at ${hook}; the model runs from block ${down.from} on (${down.mode})`,
    );
    for (const dict of dicts) {
      const kept = previous.find((c) => c.dict === dict.name);
      if (kept) {
        out.curves.push(kept);
        deps.log.info(`patch: keeping the curve of ${dict.name}`);
        continue;
      }
      const result = await featurePatching(down, taskRun, dict, {
        seed,
        positions,
        maxTokens,
        signal: deps.signal,
        onProgress: deps.progress,
      });
      out.curves.push(toCurve(result));
      await writeJsonAtomic(run.path(RUN_FILES.patch), out);
      deps.log.info(describe(result));
    }
    await writeJsonAtomic(run.path(RUN_FILES.patch), out);
    return {
      runId: run.id,
      message: `Feature patching on ${task.name} for ${dicts.length} dictionaries of run ${run.id}`,
    };
  } finally {
    for (const d of dicts) d.dispose();
    model.dispose();
  }
}

/** The `patch` stage (`runStage(patchStage, config, { deps, gpu })` runs it as one command). */
export const patchStage = defineStage({ name: "patch", schema: patchSchema, target: HAS_SAES, run: patchRun });

function summaryFields(run: TaskRun): Partial<PatchJson> {
  const s = summarizeTask(run);
  if (s.cleanLogitDiff === undefined) return {};
  return { logitDiff: { clean: s.cleanLogitDiff, counterfactual: s.counterfactualLogitDiff! }, accuracy: s.accuracy };
}

function toCurve(r: FeaturePatchResult): PatchCurve & Record<string, unknown> {
  return {
    dict: r.dict,
    method: r.dict === "pca_rotation" ? "pca rotation" : r.method,
    points: r.points.map((p) => ({
      k: p.patched,
      value: p.kl,
      threshold: p.threshold,
      edit: p.edit,
      reverted: p.reverted,
      ...(p.logitDiff !== undefined ? { logitDiff: p.logitDiff } : {}),
      ...(p.features ? { features: p.features } : {}),
    })),
    active: r.active,
    start: r.start,
    evaluations: r.evaluations,
    calls: r.calls,
    seconds: r.seconds,
  };
}

function describe(r: FeaturePatchResult): string {
  const at = (t: number) =>
    r.points.reduce((a, p) => (Math.abs(Math.log(p.threshold / t)) < Math.abs(Math.log(a.threshold / t)) ? p : a));
  const p = at(1e-2);
  return `patch: ${r.dict}: ${r.active} features differ; at threshold ${
    p.threshold.toExponential(1)
  } ${p.patched} stay ` +
    `patched, KL ${p.kl.toExponential(2)}, edit ${p.edit.toFixed(3)} (${r.evaluations} sets in ${r.calls} calls, ` +
    `${r.seconds.toFixed(1)} s)`;
}

async function readPrevious(run: AnalysisRun, settings: string): Promise<PatchCurve[]> {
  try {
    const old = JSON.parse(await Deno.readTextFile(run.path(RUN_FILES.patch)));
    return old.settings === settings && Array.isArray(old.curves) ? old.curves : [];
  } catch {
    return [];
  }
}

/** A PCA rotation (no ± split) fitted on up to 16384 training rows of the run's activation store. */
async function pcaRotation(gpu: Gpu, run: AnalysisRun, deps: StageDeps): Promise<Dictionary | null> {
  let store;
  try {
    store = await openStore(run.path("activations"));
  } catch {
    deps.log.warn(`patch: run ${run.id} has no activation store, so the PCA rotation is left out`);
    return null;
  }
  const batches = async function* () {
    for await (const b of store.batches({ batchSize: 4096, seed: 0, split: "train", bufferRows: 16384 })) yield b.x;
  };
  const pca = await fitPca(gpu, batches(), { d: store.d, maxRows: 16384, signal: deps.signal });
  return pcaDictionary(pca, { split: false, name: "pca_rotation" }).bind(gpu);
}
