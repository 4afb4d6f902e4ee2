/**
 * The one training loop around {@linkcode SweepTrainer}: a fixed number of steps over a batch
 * stream, resume from a {@linkcode TrainState}, checkpoints every so many steps or seconds, on
 * abort and at the end, optional dead-feature resampling, a stop hook (time budgets), and a stop
 * with a clear message — keeping the last good checkpoint — when a loss or weight stops being finite.
 *
 * Checkpoints go to a callback (`checkpoint.save`, which writes whatever its caller keeps: a run
 * folder's state, metrics and SAELens folders), or with `checkpoint.dir` to a folder holding
 * `train-state.safetensors` (the commit point, replaced atomically) and one SAELens folder per
 * member.
 *
 * The loop lets the GPU run ahead: it waits for it only at logging steps (at most one logging
 * interval of queued work) and at checkpoints.
 *
 * @module
 */
import { join } from "node:path";
import type { Gpu } from "@saelab/gpu";
import type { OperandChoice } from "@saelab/kernels";
import { type SaeSource, saveSae } from "./checkpoint.ts";
import { heldOutFvu, HeldOutProbe } from "./convergence.ts";
import { resampleDead, type ResampleOptions } from "./resample.ts";
import { type OptimizerOptions, type SaeSpec, specName } from "./spec.ts";
import { SweepTrainer } from "./sweep.ts";
import { type StepLog, TrainingDivergedError } from "./sweep_log.ts";
import { loadTrainState, saveTrainState, STATE_FILE, type TrainState } from "./train_state.ts";
import type { SaeWeights } from "./weights.ts";

/** A batch: rows `[B, dIn]`, bare or as an activation-store batch. */
export type BatchLike = Float32Array | { x: Float32Array };

/** When and where {@linkcode trainSweep} checkpoints. */
export type TrainCheckpoint =
  & {
    /** Every this many steps (0 or absent: not by steps). */
    every?: number;
    /** Every this many seconds (absent: not by time). */
    seconds?: number;
  }
  & (
    | {
      /** A folder: `train-state.safetensors` and one SAELens folder per member (resumed from when present). */
      dir: string;
      /** Provenance for the members' `cfg.json`. */
      source: SaeSource;
    }
    | {
      /** Keep a state (called after the trainer settled, with finite weights). */
      save: (state: TrainState) => Promise<void>;
    }
  );

/** Options of {@linkcode trainSweep}. */
export interface TrainSweepOptions {
  /** The members. */
  specs: readonly SaeSpec[];
  /** Member names (default {@linkcode specName}). */
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
  /**
   * Starting weights of a fresh run, one per member, instead of drawing them from `seed` (a part of a
   * larger sweep starts from the weights its members have there). Ignored when resuming.
   */
  weights?: readonly SaeWeights[];
  /** The activation scale the batches carry, recorded in the states. Default 1. */
  scale?: number;
  /** Log statistics every this many steps. Default 100. */
  logEvery?: number;
  /** Receives the logged statistics. */
  onLog?: (log: StepLog) => void;
  /** Sees each batch before the step that will be number `step`. */
  onBatch?: (x: Float32Array, step: number) => void;
  /** Called after each recorded step. */
  onStep?: (step: number, total: number) => void;
  /** Called once the trainer holds its first (or resumed) weights, before the first step. */
  onStart?: (trainer: SweepTrainer) => Promise<void>;
  /** Resume from this state (default: the one in `checkpoint.dir`, if any). */
  resume?: TrainState | null;
  /** Checkpointing. */
  checkpoint?: TrainCheckpoint;
  /** Resample dead features every `every` steps. */
  resample?: ResampleOptions & { every: number };
  /** The learning rate of each step (counted from 1); default `adam.lr` throughout. */
  lrAt?: (step: number) => number;
  /** Each member's peak learning rate, scaling `lrAt` (see `SweepOptions.memberLr`); default `adam.lr`. */
  memberLr?: readonly number[];
  /**
   * Measure every member's FVU on fixed held-out rows (at the batches' scale) before the update of every
   * `every`-th step and of the last step — the weights that step's logged statistics describe — without waiting
   * for the GPU in the loop; `onFvu(step, fvu)` receives each measurement when it arrives (before the checkpoint
   * that follows it is written). The last step is also logged.
   */
  heldOut?: { rows: Float32Array; every: number; onFvu: (step: number, fvu: Float64Array) => void };
  /** Asked before each step with the steps taken; true ends training there (then the final checkpoint). */
  stop?: (step: number) => boolean;
  /** When aborted: checkpoint, then throw `signal.reason`. */
  signal?: AbortSignal;
  /** Where the trainer's matmul operands live (`SweepOptions.operands`). Default `"auto"`. */
  operands?: OperandChoice;
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

/**
 * Train a sweep: resume when given a state (or a checkpoint folder holding one), step through the
 * batches, checkpoint as asked and at the end.
 *
 * @param gpu The context.
 * @param options Members, data, schedule, checkpointing.
 * @returns The trainer and where training started and ended.
 * @throws {TrainingDivergedError} When a loss or weight becomes NaN/Inf (the last good checkpoint stays).
 * @throws {RangeError} When `checkpoint.dir` holds a state for other members.
 * @example
 * ```ts ignore
 * const { trainer } = await trainSweep(gpu, {
 *   specs: sweepSpecs({ dIn: 128 }), batchSize: 1024, steps: 2000, batches: store.batches({ batchSize: 1024 }),
 *   checkpoint: { dir: "runs/r1/saes", every: 500, source: { hookName, modelName } },
 * });
 * ```
 */
export async function trainSweep(gpu: Gpu, options: TrainSweepOptions): Promise<TrainSweepResult> {
  const names = [...(options.names ?? options.specs.map(specName))];
  if (new Set(names).size !== names.length) throw new RangeError("Cannot train a sweep: member names must be unique");
  const ckpt = options.checkpoint;
  const statePath = ckpt && "dir" in ckpt ? join(ckpt.dir, STATE_FILE) : null;
  const resumed = options.resume !== undefined
    ? options.resume
    : statePath
    ? await loadTrainState(statePath, { specs: options.specs, names, others: "refuse" })
    : null;
  const scale = options.scale ?? resumed?.scale ?? 1;
  const logEvery = options.logEvery ?? 100;
  const trainer = new SweepTrainer(gpu, options.specs, {
    batchSize: options.batchSize,
    adam: options.adam,
    seed: options.seed,
    weights: resumed?.weights ?? (options.weights && [...options.weights]),
    startStep: resumed?.step ?? 0,
    logEvery,
    onLog: options.onLog,
    lrAt: options.lrAt,
    memberLr: options.memberLr,
    logAlso: options.heldOut ? options.steps : undefined,
    operands: options.operands,
  });
  if (resumed) trainer.loadOptimizerState(resumed);
  let checkpointStep: number | null = resumed?.step ?? null;
  const keep = ckpt && "save" in ckpt ? ckpt.save : async (state: TrainState) => {
    const dir = (ckpt as { dir: string; source: SaeSource }).dir;
    const source = (ckpt as { source: SaeSource }).source;
    for (let i = 0; i < names.length; i++) await saveSae(join(dir, names[i]), state.weights[i], { source });
    await saveTrainState(statePath!, state);
  };
  const probe = options.heldOut ? new HeldOutProbe(trainer, options.heldOut.rows) : null;
  let probed = Promise.resolve();
  let probedStep = -1;
  const measure = (step: number) => {
    if (!probe || probedStep === step) return;
    probedStep = step;
    const fvu = heldOutFvu(trainer, probe);
    probed = probed.then(async () => options.heldOut!.onFvu(step, await fvu));
  };
  const save = async () => {
    await trainer.settle();
    await probed;
    if (!ckpt) return;
    const weights = await trainer.weights();
    const bad = weights.findIndex((w) => !finite(w));
    if (bad >= 0) {
      throw new TrainingDivergedError(
        `Training diverged: ${names[bad]} has NaN/Inf weights at step ${trainer.stepCount}`,
      );
    }
    const { m, v, step, fired } = await trainer.optimizerState();
    await keep({ step, scale, names, weights, m, v, fired });
    checkpointStep = step;
  };
  const iterator = Symbol.asyncIterator in options.batches
    ? options.batches[Symbol.asyncIterator]()
    : (options.batches as Iterable<BatchLike>)[Symbol.iterator]();
  try {
    await options.onStart?.(trainer);
    let lastSave = performance.now();
    try {
      while (trainer.stepCount < options.steps) {
        if (options.stop?.(trainer.stepCount)) break;
        if (options.signal?.aborted) {
          await save();
          options.signal.throwIfAborted();
        }
        const next = await iterator.next();
        if (next.done) break;
        const x = next.value instanceof Float32Array ? next.value : next.value.x;
        const step = trainer.stepCount + 1;
        options.onBatch?.(x, step);
        if (logEvery > 0 && step % logEvery === 0) await trainer.settle(); // the GPU runs ahead by ≤ one interval
        if (probe && (step % options.heldOut!.every === 0 || step === options.steps)) measure(step);
        trainer.step(x);
        options.onStep?.(step, options.steps);
        if (options.resample && step % options.resample.every === 0) await resampleDead(trainer, x, options.resample);
        const bySteps = ckpt?.every ? step % ckpt.every === 0 : false;
        const byTime = ckpt?.seconds !== undefined && performance.now() - lastSave > ckpt.seconds * 1000;
        if (ckpt && step < options.steps && (bySteps || byTime)) {
          await save();
          lastSave = performance.now();
        }
      }
    } finally {
      await iterator.return?.();
    }
    if (checkpointStep !== trainer.stepCount) await save();
    await probed;
  } catch (e) {
    trainer.dispose();
    throw diverged(e, checkpointStep, ckpt);
  } finally {
    probe?.[Symbol.dispose]();
  }
  return { trainer, resumedFrom: resumed?.step ?? 0, step: trainer.stepCount, checkpointStep };
}

function finite(w: SaeWeights): boolean {
  return [w.encoder, w.encoderBias, w.decoder, w.decoderBias].every((a) => !a || a.every(Number.isFinite));
}

function diverged(e: unknown, checkpointStep: number | null, ckpt: TrainCheckpoint | undefined): unknown {
  if (!(e instanceof TrainingDivergedError)) return e;
  const where = ckpt && "dir" in ckpt ? ` in ${ckpt.dir}` : "";
  const kept = checkpointStep === null || !ckpt
    ? "no checkpoint was written"
    : `the last good checkpoint (step ${checkpointStep}) is kept${where}`;
  return new TrainingDivergedError(`${e.message}; stopped, ${kept}`);
}
