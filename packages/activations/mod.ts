/**
 * Activation stores for SAE Lab: harvest one hook's activations over token
 * windows into chunked safetensors files with (document, position, token)
 * ids and a `manifest.json` commit point; resume after a kill; read rows back
 * at random, in shuffled batches through a bounded buffer, or in order for
 * held-out evaluation.
 *
 * ```ts ignore
 * import { harvest, openStore } from "@saelab/activations";
 * await harvest(model, windows, { hook: "blocks.2.hook_resid_post", dir: "acts", maxTokens: 100_000 });
 * const store = await openStore("acts");
 * for await (const batch of store.batches({ batchSize: 4096, seed: 1, bufferRows: 65536 })) {
 *   // batch.x: Float32Array [batch.rows, store.d]
 * }
 * for await (const batch of store.sequential({ batchSize: 4096 })) {} // held-out rows
 * ```
 *
 * @module
 */
export { harvest } from "./harvest.ts";
export { chunkFile, harvestRange, planHarvest } from "./plan.ts";
export type { HarvestPlan, HarvestRange, PlannedChunk, RangeChunks } from "./plan.ts";
export { assembleManifest, planStore } from "./shards.ts";
export type { StorePlan } from "./shards.ts";
export type { HarvestOptions, HarvestProgress, HarvestResult } from "./harvest.ts";
export { hookLayer, readHook } from "./model.ts";
export type { ForwardOptions, HookedModel, ReadHook } from "./model.ts";
export { ActivationStore, openStore } from "./store.ts";
export { findBadChunks, reharvestChunks } from "./repair.ts";
export type { BadChunk } from "./repair.ts";
export type { OpenStoreOptions } from "./store.ts";
export { sequentialBatches, shuffledBatches, shuffledBatchesSync } from "./batches.ts";
export type { ActivationBatch, RowSource, ShuffleOptions } from "./batches.ts";
export { allocRows, StoreError } from "./chunks.ts";
export type { RowBlock } from "./chunks.ts";
export { MANIFEST_FILE, readManifest, writeManifest } from "./manifest.ts";
/** The stable JSON hash of `@saelab/core/hash`, re-exported for existing callers. */
export { hashJson } from "@saelab/core/hash";
export type { ChunkEntry, Manifest, StoreDType, StoreSplit } from "./manifest.ts";
