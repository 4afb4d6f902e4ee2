/**
 * One home for dictionaries: the {@linkcode Dictionary} interface that SAEs and baselines
 * implement, the {@linkcode LinearDictionary} every method of this project is an instance of
 * (host weights with a float64 reference, `bind(gpu)` for the GPU), SAELens v6 folders
 * (one writer, one reader), one evaluator (held-out MSE, FVU, L0, dead fraction), and the
 * conformance suite every dictionary runs through (`dictionary_case.ts`).
 *
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { evaluateDictionary, loadDictionary } from "@saelab/dictionary";
 * const gpu = await createGpu();
 * using dict = (await loadDictionary("runs/r1/saes/untied_r4_a1.0e-3")).bind(gpu);
 * const ev = await evaluateDictionary(dict, { batches: heldOut });
 * ```
 *
 * @module
 */
export { decodeRows, encodeRows, reconstructRows } from "./dictionary.ts";
export type { Dictionary } from "./dictionary.ts";
export { GpuLinearDictionary, keepTopK, LinearDictionary } from "./linear.ts";
export type { DictActivation, DictGate, LinearDictionaryInit } from "./linear.ts";
export {
  loadDictionary,
  readSaeLensCfg,
  readSaeLensTensors,
  SAELENS_FILES,
  saveDictionary,
  writeSaeLens,
} from "./saelens.ts";
export type { SaeLensCfg, SaeLensTensors, SaveDictionaryOptions } from "./saelens.ts";
export { parseSaeLensCfg, SAELENS_LIMITS } from "./saelens_cfg.ts";
export type { SaeLensSettings } from "./saelens_cfg.ts";
export {
  checkPayloadSha256,
  CheckpointError,
  fileSha256,
  nonFinite,
  payloadSha256,
  verifySaeWeights,
} from "./verify.ts";
export { evaluateDictionary } from "./evaluate.ts";
export type { EvaluateOptions } from "./evaluate.ts";
