/**
 * Sparse autoencoders after Cunningham et al. (2023), "Sparse Autoencoders
 * Find Highly Interpretable Features in Language Models".
 *
 * The method, as the paper and its released code define it:
 * - **untied**: `c = ReLU(W_e x + b_e)`, `x̂ = D̂ᵀ c` with every decoder row
 *   normalised to unit length in every forward pass (`D_j / max(‖D_j‖, 1e-8)`);
 *   **tied**: one row-normalised `M`, `c = ReLU(M̂ x + b)`, `x̂ = M̂ᵀ c`.
 *   No decoder bias (an optional `b_dec`, SAELens-style, exists in the CPU
 *   reference, the dictionary and checkpoints; the GPU trainer trains the paper's
 *   bias-free SAEs).
 * - loss `mean((x − x̂)²) + α · mean_b Σ_j |c_bj|`: the MSE averages over every
 *   element of the batch, the L1 term averages each row's L1 norm over rows.
 * - Xavier-uniform `W_e` and `D`, zero `b_e`; Adam (lr 1e-3, β 0.9/0.999, ε 1e-8);
 *   batches of 1024 (2048 in some of the paper's runs); sweeps over R ∈ {1, 2, 4, 8}
 *   and α on a log grid from 1e-4 to 1e-2.
 * - TopK (Gao et al. 2024) is offered beyond the paper through the same interface, and so are
 *   BatchTopK and JumpReLU (learned per-feature thresholds, an L0 penalty; see `kinds/`).
 *
 * Pieces: the registry of SAE kinds (`KINDS`: one file per kind under `kinds/` — init, float64
 * activation, GPU epilogue, SAELens cfg — asked by the trainer, the reference, the checkpoints and
 * the CLI); a float64 CPU reference with hand-derived gradients (`referenceGradients`, checked by
 * finite differences); {@linkcode SweepTrainer}, which trains many members in one pass over the
 * same batches — members of equal variant and size share every dispatch, one per stage per group,
 * with texture or storage-buffer operands (by adapter, as `matmul` chooses) and fused epilogues
 * (`@saelab/kernels`' `sae_*` kernels), and never waits on
 * the GPU inside the step loop; the one training loop (`trainSweep`) with one resumable state
 * (`train-state.safetensors`); held-out metrics (MSE, FVU, L0, dead fraction, MMCS to the
 * dictionary of twice the size, spliced-in model loss); members as SAELens folders through
 * `@saelab/dictionary`'s writer; dead-feature resampling; the paper's toy data with known features.
 * SAEs become `@saelab/dictionary`'s `LinearDictionary` ({@linkcode saeDictionary}), the class
 * baselines use too.
 *
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { evaluateSweep, sweepSpecs, trainSweep } from "@saelab/sae";
 * const gpu = await createGpu();
 * const { trainer } = await trainSweep(gpu, {
 *   specs: sweepSpecs({ dIn: 128, ratios: [1, 2], alphas: [1e-3, 3e-3] }),
 *   batchSize: 1024,
 *   steps: 2000,
 *   batches, // Float32Array [1024, 128] batches, e.g. an activation store's
 *   checkpoint: { dir: "runs/r1/saes", every: 500, source: { hookName, modelName } },
 * });
 * const metrics = await evaluateSweep(trainer, heldOut);
 * ```
 *
 * @module
 */
export * from "./spec.ts";
export { isSaeKind, KIND_NAMES, kindOfCfg, KINDS, saeKind, sparsityLoss } from "./kinds/mod.ts";
export { cfgKindName, levelWidths, reluCodes, thresholdSettings } from "./kinds/kind.ts";
export { MATRYOSHKA_FRACTIONS, nestedPrefixes } from "./kinds/matryoshka.ts";
export type {
  BatchSelection,
  FeatureThresholds,
  KindCfg,
  NestedLevels,
  SaeKindDef,
  SelectKernel,
  ThresholdOptions,
} from "./kinds/kind.ts";
export {
  JUMPRELU_BANDWIDTH,
  JUMPRELU_INIT_THRESHOLD,
  JUMPRELU_START_THRESHOLD,
  SAELENS_L0_COEFFICIENT,
} from "./kinds/jumprelu.ts";
export * from "./weights.ts";
export * from "./reference.ts";
export * from "./reference_train.ts";
export * from "./sweep.ts";
export * from "./sweep_log.ts";
export * from "./metrics.ts";
export * from "./evaluate.ts";
export * from "./toy.ts";
export * from "./toy_plan.ts";
export * from "./toy_members.ts";
export * from "./toy_sweep.ts";
export * from "./toy_choice.ts";
export { decodeRows, encodeRows, reconstructRows } from "@saelab/dictionary";
export type { Dictionary } from "@saelab/dictionary";
export * from "./sae_dictionary.ts";
export * from "./checkpoint.ts";
export * from "./resample.ts";
export * from "./train.ts";
export * from "./train_state.ts";
export * from "./spliced.ts";
export * from "./convergence.ts";
export * from "./schedule.ts";
export * from "./geometric_median.ts";
