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
import { type DictEval, readMetrics, RUN_FILES, writeJsonAtomic } from "@saelab/runs";
import { convergence, nextLargerPairs, saeDictionary, type SaeWeights, sizeMmcs, type SweepTrainer } from "@saelab/sae";
import { readSplit } from "./_dict_stage.ts";
import type { RunHandle } from "./_run.ts";
import { splicedFields, type SplicedSetup } from "./_spliced.ts";

export { spliceBaselines, type SplicedSetup, trainingMean } from "./_spliced.ts";

/** A dictionary to evaluate: its name, the dictionary on the GPU, and what its `eval.json` adds. */
export interface EvalEntry {
  /** Name (folder under `saes/` or `baselines/`). */
  name: string;
  /** The dictionary, bound to the model's GPU, reading raw activations. */
  dict: Dictionary;
  /** Fields of `eval.json` known before evaluation (kind, sizes, training facts). */
  fields: Partial<DictEval> & Record<string, unknown>;
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
