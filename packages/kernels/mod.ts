/**
 * WGSL compute kernels for SAE Lab, each with a CPU reference.
 *
 * @module
 */
export { relu, reluBackward } from "./relu.ts";
export type { ElementwiseOptions } from "./relu.ts";
export { l1Grad } from "./l1_grad.ts";
export type { L1GradOptions } from "./l1_grad.ts";
export { adam } from "./adam.ts";
export type { AdamOptions, AdamState } from "./adam.ts";
export type { MapVariant } from "./_map.ts";
export { add, axpy, mul, scale, sub } from "./arith.ts";
export type { AxpyOptions } from "./arith.ts";
export { copy, fill } from "./fill.ts";
export { colSum, sum } from "./col_sum.ts";
export type { SumOptions } from "./col_sum.ts";
export { squaredError } from "./squared_error.ts";
export type { SquaredErrorOptions, SquaredErrorResult } from "./squared_error.ts";
export { addBias } from "./add_bias.ts";
export { ROW_NORM_EPS, rowNormalize, rowNormalizeBackward } from "./row_normalize.ts";
export type { RowNormalizeOptions, RowNormalizeResult } from "./row_normalize.ts";
export type { RowNormalizeBackwardOptions, RowNormalizeSaved } from "./row_normalize.ts";
export { nonzeroCount } from "./nonzero_count.ts";
export type { NonzeroCountOptions } from "./nonzero_count.ts";
export { topK, topKBackward } from "./top_k.ts";
export { layerNorm } from "./layer_norm.ts";
export type { LayerNormOptions } from "./layer_norm.ts";
export { gelu } from "./gelu.ts";
export type { GeluOptions } from "./gelu.ts";
export { rotary } from "./rotary.ts";
export type { RotaryOptions } from "./rotary.ts";
export { attention, MAX_HEAD_SIZE } from "./attention.ts";
export type { AttentionOptions } from "./attention.ts";
export { embedding } from "./embedding.ts";
export type { EmbeddingOptions } from "./embedding.ts";
export { crossEntropy } from "./cross_entropy.ts";
export type { CrossEntropyOptions } from "./cross_entropy.ts";
export { klDiv, type KlDivOptions } from "./kl_div.ts";
export { matmul, matmulVariant, releaseMatmulTextures } from "./matmul.ts";
export type { MatmulOptions, MatmulVariant } from "./matmul.ts";
export { matmulRef } from "./matmul_ref.ts";
/** Float64 references that the model reference of `@saelab/neox` builds on. */
export { erfRef, geluRef } from "./gelu_ref.ts";
export { layerNormRef } from "./layer_norm_ref.ts";
export type { MatmulRefOptions } from "./matmul_ref.ts";
export { layerNormBackward } from "./layer_norm_backward.ts";
export type { LayerNormBackwardOptions, LayerNormGrads } from "./layer_norm_backward.ts";
export { geluBackward } from "./gelu_backward.ts";
export type { GeluBackwardOptions } from "./gelu_backward.ts";
export { attentionBackward } from "./attention_backward.ts";
export type { AttentionBackwardOptions } from "./attention_backward.ts";
export { crossEntropyBackward } from "./cross_entropy_backward.ts";
export type { CrossEntropyBackwardOptions } from "./cross_entropy_backward.ts";
export { embeddingBackward, groupIds } from "./embedding_backward.ts";
export type { EmbeddingBackwardOptions, IdGroups } from "./embedding_backward.ts";
export { clipGradNorm } from "./clip_grad_norm.ts";
export type { ClipGradNormOptions } from "./clip_grad_norm.ts";
export { fragmentStats } from "./fragment_stats.ts";
export type { FragmentStatsOptions } from "./fragment_stats.ts";
export { featureHist, HIST_BINS } from "./feature_hist.ts";
export type { FeatureHistOptions } from "./feature_hist.ts";
export { gatherCols, gatherPairs } from "./gather.ts";
export type { GatherColsOptions, GatherPairsOptions } from "./gather.ts";
export { logcosh } from "./logcosh.ts";
export type { LogcoshOptions } from "./logcosh.ts";
