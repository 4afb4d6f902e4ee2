/**
 * Pipeline stage `baselines`: fit the paper's comparison dictionaries on a run's training
 * activations and write each to `runs/<id>/baselines/<name>/` (SAELens layout, `cfg.method` set)
 * with its held-out `eval.json`:
 *
 * - `pca` (± split of every component) and `pca_topk` (k = the median held-out L0 of the run's SAEs);
 * - `ica` (FastICA, symmetric, logcosh; ± split) and `ica_topk`;
 * - `neurons` (the hooked activation's coordinates; ± split, or ReLU for `mlp.hook_post`);
 * - `random` (2d seeded unit directions with ReLU, centred on the data mean).
 *
 * Options: {@linkcode baselinesSchema}. A dictionary already written with the same settings is kept.
 *
 * @module
 */
import { hashJson } from "@saelab/activations";
import {
  fastIca,
  fitPca,
  icaDictionary,
  type LinearDictionary,
  neuronDictionary,
  type Pca,
  pcaDictionary,
  randomDictionary,
  saveDictionary,
} from "@saelab/baselines";
import * as v from "valibot";
import { listDicts, RUN_FILES, type StageDeps, type StageResult } from "@saelab/runs";
import { HAS_STORE, readSplit, runStore } from "./_dict_stage.ts";
import { evaluateEntries, heldOutRows } from "./_evaluate.ts";
import { defineStage, type RunContext, type StageFunction, stageFunction } from "./_runtime.ts";
import { int, names, text } from "./_schema.ts";

const METHODS = ["pca", "ica", "neurons", "random"] as const;

/** The options of `baselines`. */
export const baselinesSchema = v.strictObject({
  run: text("run id (folder under --runs); default: the newest run with activations"),
  methods: names("baselines to fit", { choices: METHODS, default: [...METHODS] }),
  seed: int("random seed", { default: 0, min: 0 }),
  fitRows: int("training rows for the covariance", { default: 65536, min: 1 }),
  icaRows: int("training rows for FastICA", { default: 8192, min: 2 }),
  icaIterations: int("most FastICA iterations (it reports whether it converged)", { default: 100, min: 1 }),
  icaSeconds: int("time limit of FastICA in seconds (results then depend on the machine's speed)", { min: 1 }),
  topK: int("k of PCA/ICA top-k (default: the median L0 of the run's SAEs)", { min: 1 }),
  evalRows: int("held-out rows to evaluate on (default: all)", { min: 1 }),
});

async function fitBaselines(ctx: RunContext, config: v.InferOutput<typeof baselinesSchema>): Promise<StageResult> {
  const deps = ctx;
  const { methods, seed, fitRows, icaRows, icaIterations, icaSeconds, evalRows } = config;
  const run = ctx.run!;
  const store = await runStore(run, "baselines");
  const d = store.d, hook = store.manifest.hook;
  const topK = config.topK ?? await saeL0(deps, run.id, d);
  const key = hashJson({ store: store.manifest.configHash, seed, fitRows, icaRows, icaIterations, topK });
  const gpu = await ctx.gpu();
  const want = methods.flatMap((m) => m === "pca" || m === "ica" ? (topK ? [m, `${m}_topk`] : [m]) : [m]);
  const todo: string[] = [];
  for (const name of want) if (!(await isCurrent(run.path(RUN_FILES.baselines, name), key))) todo.push(name);
  const done = want.length - todo.length;
  if (done) deps.log.info(`baselines: keeping ${want.filter((n) => !todo.includes(n)).join(", ")}`);
  if (todo.length === 0) return { runId: run.id, message: `Baselines of run ${run.id} are up to date` };
  if (topK === null && methods.some((m) => m === "pca" || m === "ica")) {
    deps.log.warn("baselines: no SAE eval.json with an L0 yet, so PCA/ICA top-k are left out (set --top-k)");
  }
  // one shuffled pass over training rows: the covariance on the GPU, the first icaRows rows kept for FastICA
  const ica = new Float32Array(Math.min(icaRows, fitRows, store.rows("train")) * d);
  let kept = 0;
  const needPca = todo.some((n) => n.startsWith("pca") || n.startsWith("ica") || n === "random");
  let pca: Pca | null = null;
  if (needPca) {
    const batches = async function* () {
      for await (const b of store.batches({ batchSize: 4096, seed, split: "train", bufferRows: 32768 })) {
        const take = Math.min(b.rows, ica.length / d - kept);
        if (take > 0) {
          ica.set(b.x.subarray(0, take * d), kept * d);
          kept += take;
        }
        yield b.x;
      }
    };
    pca = await fitPca(gpu, batches(), {
      d,
      maxRows: fitRows,
      signal: deps.signal,
      onRows: (rows) => deps.progress({ label: "baselines: covariance", done: rows, total: fitRows, unit: "row" }),
    });
  }
  const built = new Map<string, LinearDictionary>();
  if (todo.some((n) => n.startsWith("pca"))) {
    built.set("pca", pcaDictionary(pca!));
    if (topK) built.set("pca_topk", pcaDictionary(pca!, { k: topK }));
  }
  if (todo.some((n) => n.startsWith("ica"))) {
    const fit = await fastIca(gpu, ica.subarray(0, kept * d), {
      d,
      seed,
      maxIter: icaIterations,
      maxSeconds: icaSeconds,
      signal: deps.signal,
      onIteration: (i) =>
        deps.progress({ label: "baselines: FastICA", done: i.iteration, total: icaIterations, unit: "it" }),
    });
    deps.log.info(
      `baselines: FastICA on ${fit.rows} rows ${fit.converged ? "converged" : "did not converge"} after ` +
        `${fit.iterations} iterations (change ${fit.change.toExponential(2)})`,
    );
    built.set("ica", icaDictionary(fit));
    if (topK) built.set("ica_topk", icaDictionary(fit, { k: topK }));
  }
  if (todo.includes("neurons")) {
    built.set("neurons", neuronDictionary(d, { split: !hook.endsWith("mlp.hook_post") }));
  }
  if (todo.includes("random")) built.set("random", randomDictionary(d, { seed, mean: pca!.mean }));
  let { batches } = await heldOutRows(store, evalRows ?? Infinity);
  if (batches.length === 0) {
    deps.log.warn("baselines: the store has no held-out rows; evaluating on training rows");
    const train = await readSplit(store, "train", evalRows ?? 65536);
    batches = Array.from(
      { length: Math.ceil(train.rows / 4096) },
      (_, b) => train.x.subarray(b * 4096 * d, Math.min(train.rows, (b + 1) * 4096) * d),
    );
  }
  const fitted = Math.min(fitRows, store.rows("train"));
  const trainingRows = (name: string) => name === "neurons" ? 0 : name.startsWith("ica") ? kept : fitted;
  const lines: string[] = [];
  let i = 0;
  for (const name of todo) {
    deps.signal.throwIfAborted();
    const dict = built.get(name)!;
    const dir = run.path(RUN_FILES.baselines, name);
    await saveDictionary(dir, dict, {
      hookName: hook,
      modelName: run.json.model.name,
      extra: { fit_key: key, hook_layer: store.manifest.layer ?? undefined },
    });
    using bound = dict.bind(gpu);
    const rows = trainingRows(name);
    const [ev] = await evaluateEntries([{
      name,
      dict: bound,
      fields: { converged: null, trainingVectors: rows, distinctVectors: rows },
    }], { batches, spliced: null, dir: () => dir, signal: deps.signal });
    lines.push(`${name} (${dict.dDict} features, FVU ${ev.fvu.toFixed(3)}, L0 ${ev.l0.toFixed(1)})`);
    deps.progress({ label: "baselines", done: ++i, total: todo.length, unit: "dict" });
  }
  return { runId: run.id, message: `Baselines of run ${run.id}: ${lines.join(", ")}` };
}

/** The `baselines` stage. */
export const baselinesStage = defineStage({
  name: "baselines",
  schema: baselinesSchema,
  target: HAS_STORE,
  run: fitBaselines,
});

/** The median held-out L0 of the run's SAEs, rounded, within 1..2d; null when none has an eval.json. */
async function saeL0(deps: StageDeps, runId: string, d: number): Promise<number | null> {
  const l0s = (await listDicts(deps.runsDir, runId))
    .flatMap((e) => e.kind === "sae" && e.eval.status === "ok" ? [e.eval.value.l0] : [])
    .sort((a, b) => a - b);
  if (l0s.length === 0) return null;
  const mid = l0s.length / 2;
  const median = l0s.length % 2 ? l0s[Math.floor(mid)] : (l0s[mid - 1] + l0s[mid]) / 2;
  return Math.max(1, Math.min(2 * d, Math.round(median)));
}

async function isCurrent(dir: string, key: string): Promise<boolean> {
  try {
    const cfg = JSON.parse(await Deno.readTextFile(`${dir}/${RUN_FILES.cfg}`));
    await Deno.stat(`${dir}/${RUN_FILES.eval}`);
    return cfg.fit_key === key;
  } catch {
    return false;
  }
}

/**
 * {@linkcode baselinesStage} as one command, on a given GPU context (left open), so that callers and tests
 * reuse one device.
 *
 * @param config Configuration (see {@linkcode baselinesSchema}).
 * @param deps Runs folder, progress, abort signal, logger.
 * @param options The GPU context (default: a new one, destroyed at the end).
 * @returns The run id and a one-line summary.
 * @example
 * ```ts ignore
 * await baselines({ run: "sweep-1" }, deps, { gpu });
 * ```
 */
export const baselines: StageFunction = stageFunction(baselinesStage);
