/**
 * The one evaluation of a run's dictionaries, SAE members and baselines alike, written as each
 * dictionary's `eval.json`:
 *
 * - reconstruction on ALL held-out rows (`@saelab/dictionary`'s `evaluateDictionary`): `fvu`, `mse`, `l0`,
 *   `deadFraction` with `deadResolution` = 1 / held-out tokens, `denseFraction` (fires on > 10% of them);
 * - the spliced model on held-out windows (`@saelab/neox`'s `splicedMetrics`, position 0 kept clean and not
 *   scored): `deltaCe`, `klDiv`, `lossRecovered` (against mean ablation of the hook, the mean of the training
 *   rows), `lossRecoveredZero` (against zero ablation, the SAELens/SAEBench convention), the reference losses
 *   under `spliced`, and the older `splicedLoss` object;
 * - SAE members also: `trainingVectors`/`distinctVectors`, `converged` by the plateau rule of `@saelab/sae`
 *   on the held-out FVU followed during training (`heldOutFvu` in `metrics.jsonl`), and MMCS against the
 *   member of the same kind and α at the next larger R (`mmcs`, seed-code direction; `mmcsSmallerToLarger`;
 *   `mmcsChance`, computed here). Baselines have `converged: null`.
 *
 * @module
 */
import type { ActivationStore } from "@saelab/activations";
import { type Dictionary, evaluateDictionary } from "@saelab/dictionary";
import { type NeoxModel, splicedMetrics, type WindowSource } from "@saelab/neox";
import { type DictEval, readJson, readMetrics, RUN_FILES, writeJsonAtomic } from "@saelab/runs";
import {
  convergence,
  nextLargerPairs,
  saeDictionary,
  type SaeWeights,
  sizeMmcs,
  spliceDictionary,
  type SweepTrainer,
} from "@saelab/sae";
import { readSplit } from "./_dict_stage.ts";
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

/** A dictionary to evaluate: its name, the dictionary on the GPU, and what its `eval.json` adds. */
export interface EvalEntry {
  /** Name (folder under `saes/` or `baselines/`). */
  name: string;
  /** The dictionary, bound to the model's GPU, reading raw activations. */
  dict: Dictionary;
  /** Fields of `eval.json` known before evaluation (kind, sizes, training facts). */
  fields: Partial<DictEval> & Record<string, unknown>;
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
 * Held-out rows of the store in batches (all of them, or the first `maxRows`).
 *
 * @param store The activation store.
 * @param maxRows Most rows (default all).
 * @returns `[rows, d]` batches of at most 4096 rows, and the row count.
 */
export async function heldOutRows(
  store: ActivationStore,
  maxRows = Infinity,
): Promise<{ batches: Float32Array[]; rows: number }> {
  const { x, rows } = await readSplit(store, "heldout", maxRows);
  const d = store.d, per = 4096;
  const batches = [];
  for (let at = 0; at < rows; at += per) batches.push(x.subarray(at * d, Math.min(rows, at + per) * d));
  return { batches, rows };
}

/**
 * Evaluate dictionaries (reconstruction on the held-out rows, then the spliced metrics when a setup is
 * given) and write each `eval.json`.
 *
 * @param entries The dictionaries, their folders and known fields.
 * @param options Held-out batches, the spliced setup (or null), the folder of each entry, progress and signal.
 * @returns The evaluations, in entry order.
 * @example
 * ```ts ignore
 * const evals = await evaluateEntries(entries, { batches, spliced, dir: (n) => run.path("saes", n) });
 * ```
 */
export async function evaluateEntries(
  entries: readonly EvalEntry[],
  options: {
    batches: readonly Float32Array[];
    spliced: SplicedSetup | null;
    dir: (name: string) => string;
    progress?: (p: { label: string; done: number; total: number; unit: string }) => void;
    signal?: AbortSignal;
  },
): Promise<DictEval[]> {
  const evals: DictEval[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const ev = await evaluateDictionary(e.dict, { batches: options.batches, signal: options.signal });
    evals.push({ ...ev, ...e.fields } as DictEval);
    options.progress?.({ label: "evaluate", done: i + 1, total: entries.length, unit: "dict" });
  }
  if (options.spliced) {
    const fields = await splicedFields(entries, options.spliced, {
      signal: options.signal,
      progress: (done, total) => options.progress?.({ label: "spliced metrics", done, total, unit: "window" }),
    });
    entries.forEach((e, i) => Object.assign(evals[i], fields[e.name]));
  }
  for (let i = 0; i < entries.length; i++) {
    await writeJsonAtomic(`${options.dir(entries[i].name)}/${RUN_FILES.eval}`, evals[i]);
  }
  return evals;
}

/**
 * Held-out FVU points of every member from the run's `metrics.jsonl` (`heldOutFvu` of rows; a row's
 * `step` is 0-based, the point's step counts the updates it follows from 1).
 *
 * @param run The run.
 * @returns Points by member name.
 */
async function heldOutPoints(run: RunHandle): Promise<Map<string, { step: number; fvu: number }[]>> {
  const { rows } = await readMetrics(run.deps.runsDir, run.id);
  const out = new Map<string, { step: number; fvu: number }[]>();
  for (const r of rows) {
    if (typeof r.heldOutFvu !== "number") continue;
    const list = out.get(r.member) ?? [];
    list.push({ step: r.step + 1, fvu: r.heldOutFvu });
    out.set(r.member, list);
  }
  return out;
}

/**
 * Evaluate every member of the trained sweep and write each `saes/<name>/eval.json`.
 *
 * @param run The run folder.
 * @param trainer The trained sweep.
 * @param options Store, activation scale, steps taken and batch size (for the training vectors), the
 *   spliced setup (or null), and the seed of the MMCS chance level.
 * @returns The evaluations, in member order.
 * @example
 * ```ts ignore
 * const evals = await evaluateMembers(run, trainer, { store, scale, steps, batchSize, spliced, seed: 0 });
 * ```
 */
export async function evaluateMembers(
  run: RunHandle,
  trainer: SweepTrainer,
  options: {
    store: ActivationStore;
    scale: number;
    steps: number;
    batchSize: number;
    spliced: SplicedSetup | null;
    seed: number;
  },
): Promise<DictEval[]> {
  const { deps } = run;
  const gpu = trainer.groups[0].group.params.gpu;
  const weights: SaeWeights[] = await trainer.weights();
  const pairs = nextLargerPairs(trainer.specs);
  const points = await heldOutPoints(run);
  const trainingVectors = options.steps * options.batchSize;
  const distinctVectors = Math.min(trainingVectors, options.store.rows("train"));
  const chance = new Map<string, number>();
  const entries: EvalEntry[] = trainer.specs.map((spec, i) => {
    const name = trainer.names[i];
    const j = pairs[i];
    let mmcsFields = {};
    if (j >= 0) {
      const key = `${spec.dDict}/${trainer.specs[j].dDict}`;
      const m = sizeMmcs(weights[i], weights[j], { seed: options.seed });
      chance.set(key, chance.get(key) ?? m.mmcsChance);
      mmcsFields = {
        mmcs: { reference: trainer.names[j], value: clamp(m.mmcs) },
        mmcsSmallerToLarger: clamp(m.mmcsSmallerToLarger),
        mmcsChance: clamp(chance.get(key)!),
      };
    }
    const c = convergence(points.get(name) ?? []);
    return {
      name,
      dict: saeDictionary(weights[i], { name, scale: options.scale }).bind(gpu),
      fields: {
        kind: "sae",
        method: "sae",
        variant: spec.kind,
        ratio: spec.dDict / spec.dIn,
        l1Coefficient: spec.l1,
        activationScale: options.scale,
        trainingVectors,
        distinctVectors,
        converged: c.converged,
        fvuImprovement: c.improvement,
        ...mmcsFields,
      },
    };
  });
  const { batches } = await heldOutRows(options.store);
  try {
    return await evaluateEntries(entries, {
      batches,
      spliced: options.spliced,
      dir: (name) => run.path(RUN_FILES.saes, name),
      progress: deps.progress,
      signal: deps.signal,
    });
  } finally {
    for (const e of entries) e.dict.dispose();
  }
}

const clamp = (x: number) => Math.max(-1, Math.min(1, x));

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
