/**
 * The pretraining loop: seeded shuffled windows, AdamW with warm-up, cosine
 * decay and clipping, held-out loss as it goes, periodic checkpoints and
 * resume, and a Hugging Face folder at the end that `loadModel` reads.
 *
 * @module
 */
import { join } from "node:path";
import type { Gpu } from "@saelab/gpu";
import type { TokenWindows } from "@saelab/corpus";
import { type NeoxConfig, saveModel } from "@saelab/neox";
import { type HistoryPoint, loadTrainingState, type LoopState, saveTrainingState } from "./checkpoint.ts";
import { learningRate } from "./optimizer.ts";
import { optimizerStep } from "./optimizer.ts";
import { disposeParams, downloadParams, initialWeights, uploadParams } from "./params.ts";
import { trainPass } from "./step.ts";

/** Options of {@linkcode pretrain}. */
export interface PretrainOptions {
  /** The model to train. */
  config: NeoxConfig;
  /** Training windows (`contextLength` = sequence length). */
  train: TokenWindows;
  /** Held-out windows scored every `evalEvery` steps (keep it small). */
  evalWindows: TokenWindows;
  /** Output folder: `config.json` and `model.safetensors` at the end, `checkpoint/` while training. */
  out: string;
  /** Optimiser steps. */
  steps: number;
  /** Windows per step. Default 8. */
  batch?: number;
  /** Peak learning rate. Default 2e-3. */
  lr?: number;
  /** Warm-up steps. Default 5% of `steps`. */
  warmup?: number;
  /** Final learning rate as a fraction of the peak. Default 0.1. */
  minLrRatio?: number;
  /** AdamW weight decay of matrices. Default 0.1. */
  weightDecay?: number;
  /** Global gradient-norm clip. Default 1. */
  maxGradNorm?: number;
  /** Seed of the initial weights and of the window order. Default 0. */
  seed?: number;
  /** Log (and wait for the GPU) every this many steps. Default 10. */
  logEvery?: number;
  /** Score the held-out windows every this many steps. Default 100. */
  evalEvery?: number;
  /** Write a checkpoint every this many steps. Default 50. */
  checkpointEvery?: number;
  /** On-disk type of the final weights. Default `"F16"`. */
  dtype?: "F32" | "F16";
  /** Stop (after writing a checkpoint) when aborted. */
  signal?: AbortSignal;
  /** Called at every log point. */
  onLog?: (point: HistoryPoint, info: { steps: number; tokensPerSecond: number }) => void;
  /** Called after each recorded step (cheap). */
  onStep?: (step: number) => void;
}

/** What {@linkcode pretrain} did. */
export interface PretrainResult extends LoopState {
  /** True when the loop ran to `steps` and wrote the final model. */
  finished: boolean;
  /** Steps of this call (excluding those resumed from). */
  stepsThisRun: number;
}

/**
 * Mean next-token loss over windows, `batch` at a time.
 *
 * @param gpu The GPU context.
 * @param config The configuration.
 * @param params The parameters.
 * @param windows The windows.
 * @param batch Windows per pass.
 * @returns Mean loss in nats over `count·(T−1)` predictions.
 */
export async function meanLoss(
  gpu: Gpu,
  config: NeoxConfig,
  params: ReturnType<typeof uploadParams>,
  windows: TokenWindows,
  batch: number,
): Promise<number> {
  const T = windows.contextLength;
  let total = 0;
  for (let from = 0; from < windows.count; from += batch) {
    const ids = windows.batch(from, batch);
    const n = ids.length / T;
    using losses = trainPass(gpu, config, params, ids, { batch: n, seq: T, backward: false });
    for (const v of await losses.read()) total += v;
  }
  return total / (windows.count * (T - 1));
}

/**
 * Train (or resume training) a GPT-NeoX model and write it as a Hugging Face folder.
 *
 * @param gpu The GPU context.
 * @param options Model, data, schedule, output and callbacks.
 * @returns The loop state and whether it finished.
 * @example
 * ```ts ignore
 * const result = await pretrain(gpu, { config, train, evalWindows, out: "fixtures/models/x", steps: 1000 });
 * ```
 */
export async function pretrain(gpu: Gpu, options: PretrainOptions): Promise<PretrainResult> {
  const { config, train, out, steps } = options;
  const batch = options.batch ?? 8, seed = options.seed ?? 0, T = train.contextLength;
  const logEvery = options.logEvery ?? 10, evalEvery = options.evalEvery ?? 100;
  const checkpointEvery = options.checkpointEvery ?? 50;
  const schedule = {
    lr: options.lr ?? 2e-3,
    warmup: options.warmup ?? Math.ceil(steps * 0.05),
    total: steps,
    minRatio: options.minLrRatio,
  };
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`Cannot pretrain: steps ${steps} must be a whole number ≥ 1`);
  }
  if (train.count < batch) {
    throw new RangeError(`Cannot pretrain: ${train.count} training windows are fewer than a batch of ${batch}`);
  }
  const ckptDir = join(out, "checkpoint");
  const resumed = await loadTrainingState(ckptDir);
  const sessionStart = performance.now();
  const r = resumed?.state;
  const state: LoopState = r
    ? {
      step: r.step,
      seconds: r.seconds,
      wallSeconds: r.wallSeconds ?? r.seconds,
      tokens: r.tokens,
      history: r.history,
    }
    : { step: 0, seconds: 0, wallSeconds: 0, tokens: 0, history: [] };
  const wallBefore = state.wallSeconds;
  const clock = () => (state.wallSeconds = wallBefore + (performance.now() - sessionStart) / 1000);
  const weights = resumed ? resumed.tensors : initialWeights(config, seed);
  const params = uploadParams(gpu, config, weights, resumed?.tensors);
  const perEpoch = Math.floor(train.count / batch);
  let order: TokenWindows | null = null, orderEpoch = -1;
  const stats = gpu.zeros([2], "f32", "pretrain.stats");
  const startStep = state.step;
  try {
    const checkpoint = async () => {
      clock();
      const { weights, moments } = await downloadParams(params);
      await saveTrainingState(ckptDir, { ...weights, ...moments }, { ...state, steps, seed, batch });
    };
    let since = performance.now(), sinceStep = state.step;
    while (state.step < steps) {
      if (options.signal?.aborted) break;
      const epoch = Math.floor(state.step / perEpoch);
      if (epoch !== orderEpoch) {
        order = train.shuffle(seed * 1000 + epoch);
        orderEpoch = epoch;
      }
      const ids = order!.batch((state.step % perEpoch) * batch, batch);
      const step = state.step + 1;
      const lr = learningRate(step, schedule);
      const losses = trainPass(gpu, config, params, ids, { batch, seq: T });
      optimizerStep(gpu, params, {
        lr,
        step,
        weightDecay: options.weightDecay,
        maxGradNorm: options.maxGradNorm,
        stats,
      });
      state.step = step;
      state.tokens += batch * T;
      options.onStep?.(step);
      if (step % logEvery !== 0 && step !== steps) {
        losses.dispose();
        gpu.flush();
      } else {
        let sum = 0;
        for (const v of await losses.read()) sum += v;
        losses.dispose();
        const [gradNorm] = await stats.read();
        const now = performance.now();
        const seconds = (now - since) / 1000;
        state.seconds += seconds;
        const point: HistoryPoint = {
          step,
          tokens: state.tokens,
          seconds: Math.round(state.seconds * 10) / 10,
          lr,
          trainLoss: sum / (batch * (T - 1)),
          gradNorm,
        };
        if (step % evalEvery === 0 || step === steps) {
          point.heldOutLoss = await meanLoss(gpu, config, params, options.evalWindows, batch);
        }
        state.history.push(point);
        options.onLog?.(point, { steps, tokensPerSecond: ((step - sinceStep) * batch * T) / seconds });
        since = performance.now();
        sinceStep = step;
      }
      if (step % checkpointEvery === 0 && step < steps) {
        await checkpoint();
        since = performance.now();
      }
    }
    const finished = state.step >= steps;
    if (!finished) {
      await checkpoint();
      return { ...state, finished, stepsThisRun: state.step - startStep };
    }
    const { weights: final } = await downloadParams(params);
    await saveModel(out, config, final, { dtype: options.dtype ?? "F16" });
    await checkpoint();
    clock();
    return { ...state, finished, stepsThisRun: state.step - startStep };
  } finally {
    stats.dispose();
    disposeParams(params);
  }
}
