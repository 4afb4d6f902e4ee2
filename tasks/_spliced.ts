/**
 * The spliced-model part of the one evaluation (`_evaluate.ts`): the mean of the training rows at
 * the hook (the mean ablation), one pass of `@saelab/neox`'s `splicedMetrics` over held-out windows
 * for any set of dictionaries (position 0 kept clean and not scored), and the same fields added
 * to the baselines' `eval.json` in the main job.
 *
 * @module
 */
import type { ActivationStore } from "@saelab/activations";
import type { Dictionary } from "@saelab/dictionary";
import { type NeoxModel, splicedMetrics, type WindowSource } from "@saelab/neox";
import { type DictEval, readJson, RUN_FILES, writeJsonAtomic } from "@saelab/runs";
import { spliceDictionary } from "@saelab/sae";
import type { RunHandle } from "./_run.ts";

/** Where and how the spliced metrics are measured. */
export interface SplicedSetup {
  /** The model. */
  model: NeoxModel;
  /** The hook whose activation is replaced. */
  hook: string;
  /** Held-out windows. */
  windows: WindowSource;
  /** Windows per forward pass. */
  batch: number;
  /** `[d]` mean of the training rows at the hook, raw units (the mean ablation). */
  meanActivation: Float32Array;
}

/**
 * The mean of all training rows of the store, in raw activation units (float64 sums).
 *
 * @param store The activation store.
 * @returns `[d]` the mean (zeros when there are no training rows).
 * @example
 * ```ts ignore
 * const mean = await trainingMean(store);
 * ```
 */
export async function trainingMean(store: ActivationStore): Promise<Float32Array> {
  const d = store.d;
  const sum = new Float64Array(d);
  let rows = 0;
  for await (const b of store.sequential({ batchSize: 8192, split: "train" })) {
    const x = b.x;
    for (let e = 0; e < b.rows * d; e++) sum[e % d] += x[e];
    rows += b.rows;
  }
  return Float32Array.from(sum, (s) => (rows > 0 ? s / rows : 0));
}

const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);

/**
 * The spliced-model fields of each dictionary's `eval.json`, from one pass of {@linkcode splicedMetrics}.
 *
 * @param entries The dictionaries.
 * @param setup Model, hook, windows, batch and mean activation.
 * @param options Progress and abort signal.
 * @returns Fields by name.
 * @example
 * ```ts ignore
 * const fields = await splicedFields(entries, setup, { signal });
 * ```
 */
export async function splicedFields(
  entries: readonly { name: string; dict: Dictionary }[],
  setup: SplicedSetup,
  options: { progress?: (done: number, total: number) => void; signal?: AbortSignal } = {},
): Promise<Record<string, Partial<DictEval>>> {
  if (entries.length === 0) return {};
  const m = await splicedMetrics(setup.model, {
    hook: setup.hook,
    replacements: Object.fromEntries(entries.map((e) => [e.name, spliceDictionary(e.dict)])),
    meanActivation: setup.meanActivation,
    windows: setup.windows,
    batch: setup.batch,
    progress: options.progress,
    signal: options.signal,
  });
  const out: Record<string, Partial<DictEval>> = {};
  for (const { name } of entries) {
    const r = m.members[name];
    out[name] = {
      deltaCe: r.deltaCe,
      klDiv: r.klDiv,
      lossRecovered: finiteOrNull(r.lossRecovered),
      lossRecoveredZero: finiteOrNull(r.lossRecoveredZero),
      spliced: {
        tokens: m.tokens,
        clean: m.clean,
        meanAblation: m.meanAblation,
        zeroAblation: m.zeroAblation,
        spliced: r.spliced,
      },
      splicedLoss: { clean: m.clean, spliced: r.spliced, zeroAblation: m.zeroAblation },
    };
  }
  return out;
}

/**
 * Add the spliced metrics to the baselines' `eval.json` that lack them (the `baselines` stage writes the
 * reconstruction fields; the main job has the model and windows to add these).
 *
 * @param run The run.
 * @param options The baselines' dictionaries by name (bound), and the spliced setup.
 * @returns The names updated.
 * @example
 * ```ts ignore
 * await spliceBaselines(run, { dicts, spliced });
 * ```
 */
export async function spliceBaselines(
  run: RunHandle,
  options: { dicts: readonly { name: string; dict: Dictionary }[]; spliced: SplicedSetup },
): Promise<string[]> {
  const { runsDir } = run.deps;
  const todo: { name: string; dict: Dictionary; ev: DictEval }[] = [];
  for (const { name, dict } of options.dicts) {
    const r = await readJson<DictEval>(runsDir, [run.id, RUN_FILES.baselines, name, RUN_FILES.eval], {
      kind: "dictEval",
    });
    if (r.status === "ok" && r.value.deltaCe === undefined) todo.push({ name, dict, ev: r.value });
  }
  const fields = await splicedFields(todo, options.spliced, {
    signal: run.deps.signal,
    progress: (done, total) => run.deps.progress({ label: "spliced metrics", done, total, unit: "window" }),
  });
  for (const t of todo) {
    await writeJsonAtomic(run.path(RUN_FILES.baselines, t.name, RUN_FILES.eval), { ...t.ev, ...fields[t.name] });
  }
  return todo.map((t) => t.name);
}
