/**
 * The training stage's glue around `@saelab/sae`'s one training loop (`trainSweep`): every member
 * (variant × R × α) steps on the same shuffled batches of the store's training rows. Logged
 * statistics become rows of `metrics.jsonl`; a checkpoint (the run's `train-state.safetensors`,
 * the new metrics rows, each member's SAELens folder) is written every `checkpointSeconds`, on
 * Ctrl-C and at the end; a rerun resumes from it on the same batches.
 *
 * The members see the activations multiplied by one constant that makes their mean squared norm
 * equal to `dIn` (SAELens' `expected_average_only_in`), so that the paper's α grid means the same
 * on any model; training statistics (`loss`, `mse`) are in those units, FVU and L0 in any.
 *
 * @module
 */
import type { ActivationStore } from "@saelab/activations";
import { join } from "node:path";
import { appendJsonLines, type MetricRow, parseMetrics, RUN_FILES, writeTextAtomic } from "@saelab/runs";
import {
  CONVERGENCE_FROM,
  initWeights,
  KINDS,
  learningRate,
  probeInterval,
  type SaeSpec,
  type SaeWeights,
  specName,
  STATE_FILE as SAE_STATE_FILE,
  type StepLog,
  type SweepTrainer,
  type TrainState,
  trainSweep as trainLoop,
} from "@saelab/sae";
import { loadTrainState, type SaeFolderInfo, saveTrainState, writeSaeFolder } from "./_checkpoint.ts";
import type { PipelineConfig } from "./_config.ts";
import type { RunHandle } from "./_run.ts";
import type { StageReporter } from "./_runtime.ts";

/** File of the resumable training state inside a run folder. */
export const STATE_FILE: string = SAE_STATE_FILE;

/**
 * The sweep's members: every variant × ratio × α, in that order, then the members of each `extra`
 * product that are not already there.
 *
 * @param config Variants, ratios and coefficients, and further products.
 * @param dIn The hook's width.
 * @returns One spec per member.
 * @throws {RangeError} When a ratio does not give a whole number of features divisible by 4.
 * @example
 * ```ts
 * import { resolveConfig } from "./_config.ts";
 * import { memberSpecs } from "./_train.ts";
 * const specs = memberSpecs(resolveConfig({ kinds: ["untied"], ratios: [1, 2], l1: [1e-3] }), 16);
 * if (specs.length !== 2 || specs[1].dDict !== 32) throw new Error();
 * const preset = memberSpecs(resolveConfig({}), 16); // the default preset: 6 + 2 extra members
 * if (preset.length !== 8 || preset.filter((s) => s.dDict === 16).length !== 4) throw new Error("extras");
 * ```
 */
export function memberSpecs(
  config: Pick<PipelineConfig, "kinds" | "ratios" | "l1"> & Partial<Pick<PipelineConfig, "extra" | "k">>,
  dIn: number,
): SaeSpec[] {
  const specs: SaeSpec[] = [];
  const seen = new Set<string>();
  for (const grid of [config, ...(config.extra ?? [])]) {
    for (const kind of grid.kinds) {
      for (const ratio of grid.ratios) {
        const dDict = ratio * dIn;
        if (!Number.isInteger(dDict) || dDict % 4 !== 0) {
          throw new RangeError(`Invalid ratios: R ${ratio} × d_in ${dIn} = ${dDict} features, not a multiple of 4`);
        }
        for (const l1 of grid.l1) {
          // kinds with a fixed number of codes (TopK, BatchTopK) have no L1 term: one member per ratio
          const spec: SaeSpec = KINDS[kind].needs.includes("k")
            ? { kind, dIn, dDict, l1: 0, k: config.k }
            : { kind, dIn, dDict, l1 };
          const name = specName(spec);
          if (!seen.has(name)) seen.add(name), specs.push(spec);
        }
      }
    }
  }
  return specs;
}

/**
 * A part of the sweep trained on its own (a queue job, `_queue.ts`): only the named members, with the
 * training state and metrics rows kept in `dir` rather than in the run folder. Each member's SAELens
 * folder is written where the whole sweep writes it.
 */
export interface SweepPart {
  /** Folder of the part's `train-state.safetensors` and `metrics.jsonl`. */
  dir: string;
  /** Member names (of {@linkcode memberSpecs}), in member order. */
  members: readonly string[];
}

/** File of a part's metrics rows inside its folder. */
export const PART_METRICS = "metrics.jsonl";

/** What the training stage hands on. */
export interface TrainOutcome {
  /** The trainer with the final weights (dispose it when done). */
  trainer: SweepTrainer;
  /** Steps taken in all. */
  steps: number;
  /** Step this call started from (non-zero when resumed). */
  startStep: number;
  /** The activation scale the members train at. */
  scale: number;
}

/**
 * The constant that makes the mean squared norm of the first training rows (up to 16384) equal to `d`.
 *
 * @param store The activation store.
 * @returns The scale (1 when the rows are all zero).
 * @example
 * ```ts ignore
 * const scale = await activationScale(store);
 * ```
 */
export async function activationScale(store: ActivationStore): Promise<number> {
  const rows = Math.min(store.rows("train"), 16_384);
  let sum = 0;
  for (let at = 0; at < rows; at += 4096) {
    const block = await store.getRows(at, Math.min(4096, rows - at));
    for (let i = 0; i < block.x.length; i++) sum += block.x[i] * block.x[i];
  }
  return sum > 0 ? Math.sqrt((store.d * rows) / sum) : 1;
}

function batchVariance(x: Float32Array, d: number): number {
  const rows = x.length / d;
  const mean = new Float64Array(d);
  for (let e = 0; e < x.length; e++) mean[e % d] += x[e];
  for (let i = 0; i < d; i++) mean[i] /= rows;
  let v = 0;
  for (let e = 0; e < x.length; e++) v += (x[e] - mean[e % d]) ** 2;
  return v;
}

/**
 * Train (or finish training) the sweep on the store's training rows.
 *
 * @param run The run folder.
 * @param store The activation store.
 * @param options Configuration, `gpu`, the folder facts of each member, and the stage reporter.
 * @returns The trainer and the steps taken.
 * @example
 * ```ts ignore
 * const { trainer } = await trainSweep(run, store, { config, gpu, info, stage });
 * ```
 */
export async function trainSweep(
  run: RunHandle,
  store: ActivationStore,
  options: {
    config: PipelineConfig;
    gpu: ConstructorParameters<typeof SweepTrainer>[0];
    info: Omit<SaeFolderInfo, "steps" | "tokens" | "scale">;
    stage?: StageReporter;
    /** Train only these members, keeping their state apart (default: the whole sweep, state in the run folder). */
    part?: SweepPart;
  },
): Promise<TrainOutcome> {
  const { config, gpu, info, part } = options;
  const { deps } = run;
  const d = store.d;
  const all = memberSpecs(config, d);
  const specs = part ? all.filter((s) => part.members.includes(specName(s))) : all;
  if (part && specs.length !== part.members.length) {
    const known = new Set(all.map(specName));
    throw new RangeError(
      `Cannot train a part of run ${run.id}: ${part.members.filter((m) => !known.has(m)).join(", ")} ` +
        "is not a member of its sweep",
    );
  }
  const names = specs.map(specName);
  // a part's members start from the weights they have in the whole sweep (member i is seeded seed + i)
  const initial = part
    ? specs.map((s) => initWeights(s, { seed: config.seed + all.findIndex((a) => specName(a) === specName(s)) }))
    : undefined;
  const statePath = part ? join(part.dir, STATE_FILE) : run.path(STATE_FILE);
  const metricsPath = part ? join(part.dir, PART_METRICS) : run.path(RUN_FILES.metrics);
  const state = await loadTrainState(statePath, specs, names);
  const start = state?.step ?? 0;
  const scale = state?.scale ?? await activationScale(store);
  const folder = (step: number) => ({ ...info, steps: step, tokens: step * batchSize, scale });
  const batchSize = config.batchSize;
  if (store.rows("train") < batchSize) {
    throw new RangeError(
      `Cannot train: the store has ${store.rows("train")} training rows, fewer than one batch of ${batchSize}`,
    );
  }
  if (start > 0 && start < config.steps) {
    deps.log.info(`train: resuming ${names.length} members at step ${start} of ${config.steps}`);
  }
  await dropRowsAfter(metricsPath, start);
  const rateAt = (lr: number, step: number) =>
    learningRate(step, {
      schedule: config.lrSchedule,
      lr,
      steps: config.steps,
      warmupSteps: config.lrWarmupSteps,
      decaySteps: config.lrDecaySteps,
    });
  const lrAt = (step: number) => rateAt(config.lr, step);
  const memberLr = specs.map((spec) => config.kindLr[spec.kind] ?? config.lr); // each member's peak
  const probeRows = await heldOutProbeRows(store, { rows: config.probeRows, scale });
  // measured where statistics are logged, so that each measurement lands on a metrics row
  const every = probeEvery(config.steps, config.logEvery);
  const fvuAt = new Map<number, Float64Array>();

  const variances = new Map<number, number>();
  let rows: MetricRow[] = [];
  let latest = "";
  const onLog = (log: StepLog) => {
    const variance = variances.get(log.step);
    variances.delete(log.step);
    for (const m of log.members) {
      rows.push({
        member: m.name,
        step: log.step - 1,
        loss: m.loss,
        mse: m.mse,
        l0: m.l0,
        l1: m.l1,
        ...(variance ? { fvu: (m.mse * batchSize * d) / variance } : {}),
        deadFraction: m.quietFraction,
        tokens: (log.step - 1) * batchSize,
        lr: rateAt(memberLr[names.indexOf(m.name)], log.step),
      });
    }
    const mean = (k: "mse" | "l0") => log.members.reduce((s, m) => s + m[k], 0) / log.members.length;
    latest = `mse ${mean("mse").toPrecision(3)} L0 ${mean("l0").toFixed(1)}`;
  };
  const writeFolders = async (weights: readonly SaeWeights[], step: number) => {
    for (let i = 0; i < names.length; i++) {
      await writeSaeFolder(run.path(RUN_FILES.saes, names[i]), weights[i], folder(step));
    }
  };
  const save = async (s: TrainState) => {
    const t0 = performance.now();
    for (const r of rows) {
      const fvu = fvuAt.get(r.step + 1);
      if (fvu) r.heldOutFvu = fvu[names.indexOf(r.member)];
    }
    fvuAt.clear();
    await appendJsonLines(metricsPath, rows);
    rows = [];
    await saveTrainState(statePath, s);
    await writeFolders(s.weights, s.step);
    deps.log.debug(`train: checkpoint at step ${s.step} in ${((performance.now() - t0) / 1000).toFixed(2)}s`);
  };
  const deadline = performance.now() + config.trainSeconds * 1000;
  const { trainer } = await trainLoop(gpu, {
    specs,
    names,
    batchSize,
    steps: config.steps,
    batches: scaledBatches(store, { batchSize, seed: config.seed, skip: start, scale }),
    adam: { lr: config.lr },
    lrAt,
    memberLr,
    ...(probeRows
      ? { heldOut: { rows: probeRows, every, onFvu: (step: number, fvu: Float64Array) => void fvuAt.set(step, fvu) } }
      : {}),
    seed: config.seed,
    ...(initial ? { weights: initial } : {}),
    scale,
    logEvery: config.logEvery,
    onLog,
    resume: state,
    onStart: async (t) => await writeFolders(await t.weights(), start),
    checkpoint: { seconds: config.checkpointSeconds, save },
    signal: deps.signal,
    stop: (s) => {
      if (performance.now() <= deadline) return false;
      deps.log.warn(
        `train: stopped at step ${s} of ${config.steps}: the time budget of ${config.trainSeconds}s ran out ` +
          `(rerun with --run ${run.id} to train on, or raise trainSeconds)`,
      );
      return true;
    },
    onBatch: (x, step) => {
      if (step % config.logEvery === 0) variances.set(step, batchVariance(x, d));
    },
    onStep: (step) => {
      deps.progress({ label: "train", done: step, total: config.steps, unit: "step", info: latest });
      options.stage?.update({ done: step, total: config.steps, unit: "steps" });
    },
  });
  return { trainer, steps: trainer.stepCount, startStep: start, scale };
}

/**
 * How often held-out FVU is measured: about every 5% of the steps, on logging steps (so that each
 * measurement lands on a metrics row), and on a spacing that hits the step the convergence rule
 * measures from (80% of the steps, rounded down to a logging step), so that the rule's window is the
 * last 20% of steps and not a little more.
 *
 * @param steps Total steps.
 * @param logEvery Logging interval.
 * @returns The interval in steps.
 * @example
 * ```ts
 * import { probeEvery } from "./_train.ts";
 * if (probeEvery(1700, 10) !== 80) throw new Error("1360 = 80% of 1700 is a multiple of 80, not of 90");
 * if (probeEvery(1500, 10) !== 80) throw new Error("1200 = 15 × 80");
 * ```
 */
export function probeEvery(steps: number, logEvery: number): number {
  const target = Math.max(1, Math.round(probeInterval(steps) / logEvery)); // in logging intervals
  const from = Math.floor((CONVERGENCE_FROM * steps) / logEvery); // the rule's first step, in logging intervals
  if (from < 1) return logEvery * target;
  for (let k = target; k > 1; k--) if (from % k === 0) return logEvery * k;
  return logEvery;
}

/**
 * The first `rows` held-out rows at the training scale, on which held-out FVU is followed during training.
 *
 * @param store The activation store.
 * @param options How many rows (0: none) and the scale.
 * @returns The rows `[rows, d]`, or null when there are fewer than 4.
 */
async function heldOutProbeRows(
  store: ActivationStore,
  options: { rows: number; scale: number },
): Promise<Float32Array | null> {
  const n = Math.min(options.rows, store.rows("heldout"));
  if (n < 4) return null;
  const block = await store.getRows(0, n - (n % 4), { split: "heldout" });
  return block.x.map((v) => v * options.scale); // [rows, d]
}

/** The store's shuffled training batches after the first `skip` (those a resumed run has seen), times `scale`. */
async function* scaledBatches(
  store: ActivationStore,
  o: { batchSize: number; seed: number; skip: number; scale: number },
): AsyncGenerator<Float32Array> {
  const batches = store.batches({
    batchSize: o.batchSize,
    seed: o.seed,
    epochs: Infinity,
    dropLast: true,
    bufferRows: Math.min(65_536, store.rows("train")),
  });
  try {
    for (let s = 0; s < o.skip; s++) await batches.next();
    const x = new Float32Array(o.batchSize * store.d); // [batch, d]
    for await (const b of batches) {
      for (let e = 0; e < b.x.length; e++) x[e] = b.x[e] * o.scale;
      yield x;
    }
  } finally {
    await batches.return(undefined);
  }
}

/**
 * The metrics rows of a `metrics.jsonl` (none when it is missing).
 *
 * @param path The file.
 * @returns Its rows.
 * @example
 * ```ts
 * import { readMetricRows } from "./_train.ts";
 * if ((await readMetricRows("/nonexistent/metrics.jsonl")).length !== 0) throw new Error();
 * ```
 */
export async function readMetricRows(path: string): Promise<MetricRow[]> {
  try {
    return parseMetrics(await Deno.readTextFile(path)).rows;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/** Drop metrics rows logged after the step a run resumes from (written before a crash). */
async function dropRowsAfter(path: string, step: number): Promise<void> {
  const rows = await readMetricRows(path);
  if (!rows.some((r) => r.step >= step)) return;
  const kept = rows.filter((r) => r.step < step);
  await writeTextAtomic(path, kept.map((r) => JSON.stringify(r) + "\n").join(""));
}
