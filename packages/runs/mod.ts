/**
 * The run-folder format of SAE Lab: typed records for every file of `runs/<id>/`, atomic writers,
 * validating readers that tolerate a run still being written, id validation, path joining that
 * never leaves the runs folder, the stage contract of the CLI, and a synthetic demo run.
 *
 * ```
 * runs/<id>/
 *   run.json                    RunJson: id, created, status, config, model, hook, timings, stages
 *   metrics.jsonl               MetricRow per line: member, step, loss, mse, l0, …
 *   saes/<name>/                SAELens layout: cfg.json (SaeCfg), sae_weights.safetensors; eval.json (DictEval)
 *   baselines/<name>/           same layout, cfg.method = pca | ica | neurons | random
 *   features/<dict>/index.json  FeatureIndex: one FeatureSummary per feature
 *   features/<dict>/<i>.json    FeatureDetail: fragments, histogram, logit effects, neighbours
 *   features/<dict>/atlas/<s>.json AtlasShard: every feature's statistics, top and interval fragments, top tokens
 *   scores.json                 ScoresJson: per dictionary mean score, 95% bootstrap interval, backend, n
 *   patch.json                  PatchJson: feature-patching curves
 *   circuits.json               CircuitsJson: feature graph across layers
 *   toy.json                    ToyJson: ground-truth toy sweep (MMCS to the true features, the chosen member)
 * ```
 *
 * ```ts ignore
 * import { loadRun, makeDemoRun } from "@saelab/runs";
 * const dir = await Deno.makeTempDir();
 * const { id } = await makeDemoRun(dir, 1);
 * const run = await loadRun(dir, id);
 * console.log(run?.summary.run?.status); // "done"
 * ```
 *
 * @module
 */
export * from "./run_types.ts";
export type * from "./dict_types.ts";
export type * from "./feature_types.ts";
export type * from "./result_types.ts";
export type * from "./atlas_types.ts";
export type * from "./stage.ts";
export { noProgress } from "@saelab/core";
export { pickAtlasEntry, readAtlasShard, readFeatureAtlas } from "./read_atlas.ts";
export { centreOnPeak } from "./fragment.ts";
export {
  ATLAS_SHARD_SIZE,
  ID_PATTERN,
  isValidId,
  makeRunId,
  resolveInside,
  RUN_FILES,
  safeJoin,
  validateId,
} from "./paths.ts";
export { appendJsonLines, appendMetrics, createRun, setRunStatus, setStage, updateRun } from "./write.ts";
/** The atomic writers of `@saelab/core/fs`, re-exported for the stages. */
export { writeBytesAtomic, writeJsonAtomic, writeTextAtomic } from "@saelab/core/fs";
export type { CreateRunOptions } from "./write.ts";
export {
  listDicts,
  listNames,
  listRuns,
  parseMetrics,
  readFeature,
  readFeatureIndex,
  readJson,
  readMetrics,
  readRun,
  readToy,
  TOY_RECOVERED,
} from "./read.ts";
export type { DictEntry, FileResult, MetricsResult, RunSummary } from "./read.ts";
export { loadRun } from "./bundle.ts";
export type { RunBundle } from "./bundle.ts";
export { validate } from "./validate.ts";
export { currentBackendName, currentNames, TOKEN_LOOKUP, TOKEN_LOOKUP_OLD_NAMES } from "./backend_names.ts";
export type { FileKind } from "./validate.ts";
export { demoMemberName, makeDemoRun } from "./demo.ts";
export type { DemoRunOptions } from "./demo.ts";
