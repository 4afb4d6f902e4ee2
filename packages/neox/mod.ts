/**
 * GPT-NeoX (Pythia) on WebGPU: Hugging Face folders, a forward pass with
 * TransformerLens hook points that read or replace activations, next-token
 * loss, generation, a float64 CPU reference and a Hub downloader. The block
 * forward (`recordBlock`) is also pretraining's, saving what its backward needs.
 *
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { loadModel } from "@saelab/neox";
 * const gpu = await createGpu();
 * using model = await loadModel(gpu, "models/pythia-70m-deduped");
 * const kept: Tensor[] = [];
 * const resid = model.forward(batch, {
 *   stopAtLayer: 4,
 *   hooks: { "blocks.3.mlp.hook_post": { keep: true, read: (_, act) => kept.push(act) } },
 * });
 * ```
 *
 * @module
 */
export { CONFIG_LIMITS, parseConfig, toHfConfig } from "./config.ts";
export type { NeoxConfig, ParseConfigOptions } from "./config.ts";
export { BLOCK_HOOKS, hookNames, hookWidth } from "./hooks.ts";
export type { Hook, Hooks } from "./hooks.ts";
export { NeoxModel } from "./model.ts";
export { applyRotary, blockWeights, recordBlock } from "./_block.ts";
export type { BlockRun, SavedBlock } from "./_block.ts";
export type { TensorOwner } from "./_scope.ts";
export type { BlockWeights, ForwardOptions, LossOptions, LossResult, ModelWeights } from "./model.ts";
export { createModel, loadModel } from "./load.ts";
export type { CreateModelOptions, LoadOptions, WeightSource } from "./load.ts";
export { buildModel, readerSource } from "./_build.ts";
export { generate } from "./generate.ts";
export { sampleToken } from "./sample.ts";
export type { GenerateOptions } from "./generate.ts";
export { packTokens } from "./tokens.ts";
export type { PackedTokens, TokenBatch } from "./tokens.ts";
export { randomWeights, weightSpecs } from "./weights.ts";
export type { RandomWeightsOptions, WeightSpec } from "./weights.ts";
export { splicedMetrics } from "./spliced.ts";
export type { Replacement, SplicedMember, SplicedMetrics, SplicedMetricsOptions, WindowSource } from "./spliced.ts";
export { referenceForward } from "./reference.ts";
export type { ReferenceOutput, WeightLookup } from "./reference.ts";
export { saveModel } from "./save.ts";
export type { SaveModelOptions } from "./save.ts";
export { downloadFile, downloadModel } from "./download.ts";
export type { DownloadedFile, DownloadOptions, DownloadProgress, DownloadResult } from "./download.ts";
export { headFile, resolveUrl } from "./hub.ts";
export type { HubOptions, RemoteFile } from "./hub.ts";
