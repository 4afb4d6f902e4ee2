/**
 * Pretraining a small GPT-NeoX on the GPU: the data (a corpus split by document,
 * a BPE tokenizer trained on the training side, token windows), trainable
 * parameters with Pythia's initialisation, a forward and backward pass, AdamW with
 * warm-up, cosine decay and clipping, checkpoints that resume, n-gram baselines
 * and a model card.
 *
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { parseConfig } from "@saelab/neox";
 * import { prepareData, pretrain } from "@saelab/pretrain";
 * const gpu = await createGpu();
 * const data = await prepareData({ contextLength: 128 });
 * const config = parseConfig({ model_type: "gpt_neox", vocab_size: 4096, hidden_size: 128,
 *   num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 512, max_position_embeddings: 128 });
 * await pretrain(gpu, { config, train: data.train, evalWindows: data.heldOut.take(64), out: "models/mine", steps: 1000 });
 * ```
 *
 * @module
 */
export { ngramBaselines, windowPairs } from "./baselines.ts";
export type { NgramScores, TokenPairs } from "./baselines.ts";
export { END_OF_TEXT, prepareData } from "./data.ts";
export type { DataOptions, PretrainData } from "./data.ts";
export { checkTrainable, disposeParams, downloadParams, initialWeights, uploadParams } from "./params.ts";
export type { Param } from "./params.ts";
export { trainPass } from "./step.ts";
export type { PassOptions } from "./step.ts";
export { learningRate, optimizerStep } from "./optimizer.ts";
export type { OptimizerOptions, Schedule } from "./optimizer.ts";
export { loadTrainingState, saveTrainingState } from "./checkpoint.ts";
export type { HistoryPoint, LoopState } from "./checkpoint.ts";
export { meanLoss, pretrain } from "./train.ts";
export type { PretrainOptions, PretrainResult } from "./train.ts";
export { modelCard } from "./card.ts";
export type { CardFacts } from "./card.ts";
