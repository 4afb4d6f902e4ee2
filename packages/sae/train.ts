/**
 * The training loop around {@linkcode SweepTrainer}: a fixed number of steps
 * over a batch stream, periodic checkpoints in SAELens layout with the
 * optimizer state beside them, exact resume, optional dead-feature
 * resampling, and a stop with a clear message — keeping the last good
 * checkpoint — when a loss or weight stops being finite.
 *
 * Checkpoints: `<dir>/<member>/` per member (see `checkpoint.ts`), then
 * `<dir>/sweep.json` (`{ step, members }`) written last as the commit point.
 * Before a member's training state is replaced, the previous one is kept as
 * `training_state.prev.safetensors`, so whatever moment a run is killed, every
 * member has a state at the step `sweep.json` names.
 *
 * @module
 */
import { join } from "node:path";
import type { Gpu } from "@saelab/gpu";
import { loadTrainingState, type OptimizerState, SAE_FILES, type SaeSource, saveSae } from "./checkpoint.ts";
import { resampleDead, type ResampleOptions } from "./resample.ts";
import { type OptimizerOptions, type SaeSpec, specName } from "./spec.ts";
import { SweepTrainer } from "./sweep.ts";
import { type StepLog, TrainingDivergedError } from "./sweep_log.ts";
import type { SaeWeights } from "./weights.ts";

/** A batch: rows `[B, dIn]`, bare or as an activation-store batch. */
export type BatchLike = Float32Array | { x: Float32Array };

/** Options of {@linkcode trainSweep}. */
export interface TrainSweepOptions {
  /** The members. */
  specs: readonly SaeSpec[];
  /** Member folder names (default {@linkcode specName}). */
  names?: readonly string[];
  /** Rows per batch (the largest batch the stream yields). */
  batchSize: number;
  /** Total steps, counting those of a resumed run. */
  steps: number;
  /** The training batches. A resumed run reads `steps − resumed step` more. */
  batches: Iterable<BatchLike> | AsyncIterable<BatchLike>;
  /** Adam settings (paper defaults). */
  adam?: OptimizerOptions;
  /** Initialisation seed. Default 0. */
  seed?: number;
  /** Log statistics every this many steps. Default 100. */
  logEvery?: number;
  /** Receives the logged statistics. */
  onLog?: (log: StepLog) => void;
  /** Called after each recorded step. */
  onStep?: (step: number, total: number) => void;
  /** Checkpointing: folder, interval (steps) and provenance. */
  checkpoint?: { dir: string; every: number; source: SaeSource };
  /** Resume from `checkpoint.dir` when it holds a sweep checkpoint. Default true. */
  resume?: boolean;
  /** Resample dead features every `every` steps. */
  resample?: ResampleOptions & { every: number };
  /** Stop early (after the current step) when aborted. */
  signal?: AbortSignal;
}

/** What {@linkcode trainSweep} did. */
export interface TrainSweepResult {
  /** The trained sweep (dispose it when done). */
  trainer: SweepTrainer;
  /** The step it resumed from (0 for a fresh run). */
  resumedFrom: number;
  /** Steps completed in total. */
  step: number;
  /** Step of the last checkpoint written (or resumed from), or null. */
  checkpointStep: number | null;
}

/** Commit file of a sweep checkpoint. */
export const SWEEP_FILE = "sweep.json";
const PREV_STATE = "training_state.prev.safetensors";

/**
 * Train a sweep: resume if a checkpoint exists, step through the batches,
 * checkpoint every `checkpoint.every` steps and at the end.
 *
 * @param gpu The context.
 * @param options Members, data, schedule, checkpointing.
 * @returns The trainer and where training started and ended.
 * @throws {TrainingDivergedError} When a loss or weight becomes NaN/Inf (the last good checkpoint stays).
 * @example
 * ```ts ignore
 * const { trainer } = await trainSweep(gpu, {
 *   specs: sweepSpecs({ dIn: 128 }), batchSize: 1024, steps: 2000, batches: store.batches({ batchSize: 1024 }),
 *   checkpoint: { dir: "runs/r1/saes", every: 500, source: { hookName, modelName } },
 * });
 * ```
 */
export async function trainSweep(gpu: Gpu, options: TrainSweepOptions): Promise<TrainSweepResult> {
  const names = options.names ?? options.specs.map(specName);
  if (new Set(names).size !== names.length) throw new RangeError("Cannot train a sweep: member names must be unique");
  const ckpt = options.checkpoint;
  const resumed = ckpt && options.resume !== false ? await loadSweepCheckpoint(ckpt.dir, names) : null;
  const trainer = new SweepTrainer(gpu, options.specs, {
    batchSize: options.batchSize,
    adam: resumed?.states[0].optimizer.adam ?? options.adam,
    seed: options.seed,
    weights: resumed?.states.map((s) => s.weights),
    startStep: resumed?.step ?? 0,
    logEvery: options.logEvery,
    onLog: options.onLog,
  });
  if (resumed) {
    trainer.loadOptimizerState({
      m: resumed.states.map((s) => s.optimizer.m),
      v: resumed.states.map((s) => s.optimizer.v),
    });
  }
  let checkpointStep: number | null = resumed?.step ?? null;
  const save = async () => {
    try {
      await trainer.settle();
    } catch (e) {
      throw diverged(e, checkpointStep, ckpt?.dir);
    }
    if (!ckpt) return;
    const weights = await trainer.weights();
    const bad = weights.findIndex((w) => !finite(w));
    if (bad >= 0) {
      throw diverged(
        new TrainingDivergedError(`Training diverged: ${names[bad]} has NaN/Inf weights at step ${trainer.stepCount}`),
        checkpointStep,
        ckpt.dir,
      );
    }
    const opt = await trainer.optimizerState();
    for (let i = 0; i < weights.length; i++) {
      const dir = join(ckpt.dir, names[i]);
      await Deno.rename(join(dir, SAE_FILES.state), join(dir, PREV_STATE)).catch(() => {});
      const optimizer: OptimizerState = { m: opt.m[i], v: opt.v[i], step: opt.step, adam: trainer.adam };
      await saveSae(dir, weights[i], { source: ckpt.source, optimizer });
    }
    const tmp = join(ckpt.dir, `.${SWEEP_FILE}.tmp`);
    await Deno.writeTextFile(tmp, JSON.stringify({ step: opt.step, members: names }) + "\n");
    await Deno.rename(tmp, join(ckpt.dir, SWEEP_FILE));
    checkpointStep = opt.step;
  };
  try {
    if (trainer.stepCount < options.steps) {
      for await (const item of options.batches) {
        const x = item instanceof Float32Array ? item : item.x;
        trainer.step(x);
        const step = trainer.stepCount;
        options.onStep?.(step, options.steps);
        if (options.resample && step % options.resample.every === 0) await resampleDead(trainer, x, options.resample);
        const last = step >= options.steps || options.signal?.aborted;
        if (ckpt && (last || step % ckpt.every === 0)) await save();
        if (last) break;
      }
    }
    if (checkpointStep !== trainer.stepCount) await save();
  } catch (e) {
    trainer.dispose();
    throw e;
  }
  return { trainer, resumedFrom: resumed?.step ?? 0, step: trainer.stepCount, checkpointStep };
}

/**
 * Read a sweep checkpoint: the step in `sweep.json` and each member's training state at that step.
 *
 * @param dir The sweep folder.
 * @param names Member folder names, in member order.
 * @returns The states, or null when there is no checkpoint.
 * @throws {RangeError} When members differ from the checkpoint's or a state for its step is missing.
 */
export async function loadSweepCheckpoint(
  dir: string,
  names: readonly string[],
): Promise<{ step: number; states: { weights: SaeWeights; optimizer: OptimizerState }[] } | null> {
  let commit: { step: number; members: string[] };
  try {
    commit = JSON.parse(await Deno.readTextFile(join(dir, SWEEP_FILE)));
  } catch {
    return null;
  }
  if (commit.members.length !== names.length || commit.members.some((m, i) => m !== names[i])) {
    throw new RangeError(
      `Cannot resume from ${dir}: it holds members ${commit.members.join(", ")}, not ${names.join(", ")}`,
    );
  }
  const states = [];
  for (const name of names) {
    const cur = await loadTrainingState(join(dir, name));
    let state = cur?.optimizer.step === commit.step ? cur : null;
    if (!state) {
      const prev = await loadTrainingState(join(dir, name), { file: PREV_STATE });
      if (prev?.optimizer.step === commit.step) state = prev;
    }
    if (!state) {
      throw new RangeError(`Cannot resume from ${dir}: ${name} has no training state for step ${commit.step}`);
    }
    states.push(state);
  }
  return { step: commit.step, states };
}

function finite(w: SaeWeights): boolean {
  return [w.encoder, w.encoderBias, w.decoder, w.decoderBias].every((a) => !a || a.every(Number.isFinite));
}

function diverged(e: unknown, checkpointStep: number | null, dir: string | undefined): unknown {
  if (!(e instanceof TrainingDivergedError)) return e;
  const kept = checkpointStep === null || !dir
    ? "no checkpoint was written"
    : `the last good checkpoint (step ${checkpointStep}) is kept in ${dir}`;
  return new TrainingDivergedError(`${e.message}; stopped, ${kept}`);
}
