/**
 * Automatic interpretability scoring after Bills et al. (2023), as Cunningham et al. (2023) use it to compare
 * SAE features with PCA, ICA, the neuron basis and random directions: 64-token fragments of held-out text;
 * per feature the top 20 fragments and 20 random non-zero ones; an explanation from top fragments; a
 * simulation of held-out top and random fragments scored by correlation; detection scoring (accuracy, AUC);
 * and the mean per dictionary with a bootstrap interval. Two backends share the scorer: any OpenAI-compatible
 * chat endpoint ({@linkcode ChatClient}, {@linkcode llmBackend}) and a deterministic offline one
 * ({@linkcode offlineBackend}).
 *
 * ```ts ignore
 * import { buildFragments, offlineBackend, sampleDictionaries, scoreFeatures, summarizeScores } from "@saelab/autointerp";
 * const set = buildFragments(heldOutRows, { length: 64, maxFragments: 1024 });
 * const [pca] = await sampleDictionaries(gpu, [pcaDict], { set, decode: (id) => tokenizer.decode([id]) });
 * const scores = await scoreFeatures(pca.samples, offlineBackend());
 * console.log(summarizeScores(scores, { kind: "baseline", method: "pca", backend: "offline" }));
 * ```
 *
 * @module
 */
export { accuracy, bootstrapMean, pearson, rocAuc } from "./stats.ts";
export type { MeanInterval } from "./stats.ts";
export { buildFragments } from "./fragments.ts";
export type { FragmentOptions, FragmentSet, IdRows } from "./fragments.ts";
export type {
  Backend,
  DetectionScore,
  Detector,
  Explainer,
  Explanation,
  FeatureRef,
  FeatureSample,
  FeatureScore,
  Simulator,
  TokenFragment,
} from "./types.ts";
export { scoreFeature, scoreFeatures, splitSample } from "./scorer.ts";
export type { ProtocolOptions, SampleSplit, ScoreFeaturesOptions } from "./scorer.ts";
export { offlineBackend } from "./offline.ts";
export type { OfflineExplanation, OfflineMode, OfflineOptions, WeightedToken } from "./offline.ts";
export { ChatClient, ChatError } from "./client.ts";
export type { ChatAnswer, ChatClientOptions, ChatMessage, Tally } from "./client.ts";
export {
  detectMessages,
  explainMessages,
  parseDetection,
  ParseError,
  parseExplanation,
  parseSimulation,
  simulateMessages,
} from "./prompts.ts";
export { llmBackend } from "./llm.ts";
export type { LlmBackendOptions } from "./llm.ts";
export { selectFeatures } from "./select.ts";
export type { FeatureChoice, FragmentStats, Selection, SelectOptions } from "./select.ts";
export { sampleDictionaries } from "./sampling.ts";
export type { DictSamples, SampleOptions } from "./sampling.ts";
export { readFeatureFiles, STATS_FILE, writeFeatureFiles } from "./features_io.ts";
export type { FeatureStats, StoredDetail, StoredIndex, StoredResult } from "./features_io.ts";
export { mergeScores, summarizeScores } from "./compare.ts";
export type { DictScoreDetail, ScoresFile } from "./compare.ts";
export { isResidualHook, loadUnembedding, logitEffects } from "./logit_effects.ts";
export type { Unembedding } from "./logit_effects.ts";
