/**
 * Sparse autoencoders after Cunningham et al. (2023), "Sparse Autoencoders
 * Find Highly Interpretable Features in Language Models": untied and tied
 * SAEs with unit-norm dictionary rows, an L1 penalty and Adam, plus a TopK
 * variant; a float64 CPU reference; a GPU trainer that trains whole sweeps
 * (dictionary ratio × α) in one pass over the data; metrics; and
 * checkpoints in SAELens layout.
 *
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { SweepTrainer, sweepSpecs } from "@saelab/sae";
 * const gpu = await createGpu();
 * const trainer = new SweepTrainer(gpu, sweepSpecs({ dIn: 128, ratios: [1, 2], alphas: [1e-3, 3e-3] }));
 * for (const batch of batches) trainer.step(batch); // never waits on the GPU
 * const metrics = await trainer.evaluate(heldOut);
 * ```
 *
 * @module
 */
export * from "./spec.ts";
export * from "./weights.ts";
export * from "./reference.ts";
export * from "./reference_train.ts";
export * from "./sweep.ts";
export * from "./metrics.ts";
export * from "./evaluate.ts";
export * from "./toy.ts";
export * from "./dictionary.ts";
export * from "./sae_dictionary.ts";
export * from "./checkpoint.ts";
export * from "./resample.ts";
export * from "./train.ts";
export * from "./spliced.ts";
