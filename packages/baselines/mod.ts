/**
 * Baseline dictionaries for the paper's comparison — PCA (with its ± split and
 * PCA top-k), FastICA (and ICA top-k), the neuron basis and random directions
 * — as `@saelab/dictionary`'s `LinearDictionary`s: host weights with a float64 reference that `bind(gpu)` turns
 * into a `Dictionary`, the interface SAEs implement; SAEs load into the same class from SAELens folders.
 * The dictionary classes, the SAELens reader/writer and the evaluator are re-exported from `@saelab/dictionary`.
 *
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { fastIca, fitPca, icaDictionary, pcaDictionary, saveDictionary } from "@saelab/baselines";
 * const gpu = await createGpu();
 * const pca = await fitPca(gpu, batches, { d: 128 });
 * await saveDictionary("runs/r1/baselines/pca", pcaDictionary(pca));
 * await saveDictionary("runs/r1/baselines/pca_topk", pcaDictionary(pca, { k: 12 }));
 * const ica = await fastIca(gpu, rows, { d: 128, seed: 0 });
 * await saveDictionary("runs/r1/baselines/ica", icaDictionary(ica));
 * ```
 *
 * @module
 */
export {
  evaluateDictionary,
  GpuLinearDictionary,
  keepTopK,
  LinearDictionary,
  loadDictionary,
  saveDictionary,
} from "@saelab/dictionary";
export type { DictActivation, EvaluateOptions, LinearDictionaryInit, SaveDictionaryOptions } from "@saelab/dictionary";
export { symmetricEigen } from "./eigen.ts";
export type { Eigen, EigenOptions } from "./eigen.ts";
export { covariance, covarianceHost } from "./covariance.ts";
export type { CovarianceOptions, Moments } from "./covariance.ts";
export { fitPca, pcaDictionary, pcaFromMoments, signedBasisDictionary } from "./pca.ts";
export type { Pca, PcaDictionaryOptions } from "./pca.ts";
export { fastIca } from "./fastica.ts";
export type { FastIcaOptions, Ica } from "./fastica.ts";
export { icaDictionary } from "./ica.ts";
export type { IcaDictionaryOptions } from "./ica.ts";
export { neuronDictionary, randomDictionary } from "./basis.ts";
export type { NeuronOptions, RandomOptions } from "./basis.ts";
