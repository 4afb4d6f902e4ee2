/**
 * Automatic interpretability scoring after Bills et al. (2023), as Cunningham et al. (2023) use it to compare
 * SAE features with PCA, ICA, the neuron basis and random directions: 64-token fragments of held-out text;
 * per feature the top 20 fragments and 20 random non-zero ones; an explanation from top fragments; a
 * simulation of held-out top and random fragments scored by correlation; detection scoring (accuracy, AUC)
 * and fuzzing (balanced accuracy) after delphi; and the mean per dictionary with a bootstrap interval, set
 * against the random-direction and neuron baselines ({@linkcode attachReferences}). Two backends share the
 * scorer: any OpenAI-compatible chat endpoint ({@linkcode ChatClient}, {@linkcode llmBackend}) and the
 * deterministic token-lookup one ({@linkcode tokenLookupBackend}), whose score measures how well the current
 * or previous token predicts the feature, not interpretability ({@linkcode TOKEN_LOOKUP_DESCRIPTION}).
 *
 * ```ts ignore
 * import { attachReferences, buildFragments, sampleDictionaries, scoreFeatures, summarizeScores,
 *   tokenLookupBackend } from "@saelab/autointerp";
 * const set = buildFragments(heldOutRows, { length: 64, maxFragments: 1024 });
 * const [pca] = await sampleDictionaries(gpu, [pcaDict], { set, decode: (id) => tokenizer.decode([id]) });
 * const scores = await scoreFeatures(pca.samples, tokenLookupBackend());
 * const summary = summarizeScores(scores, { kind: "baseline", method: "pca", backend: "token-lookup" });
 * console.log(attachReferences({ pca: summary, random: randomSummary, neurons: neuronSummary }).pca.verdict);
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
  FuzzingScore,
  FuzzJudge,
  MarkedFragment,
  SimulatedFragment,
  SimulationMethod,
  Simulator,
  TokenFragment,
} from "./types.ts";
export { CLASSIFIERS, scoreFeature, scoreFeatures, splitSample } from "./scorer.ts";
export type { ClassifierName, ProtocolOptions, SampleSplit, ScoreFeaturesOptions } from "./scorer.ts";
export { fuzzingScore, fuzzItems, markedText } from "./fuzzing.ts";
export type { FuzzItem, FuzzOptions } from "./fuzzing.ts";
export {
  currentBackendName,
  TOKEN_LOOKUP,
  TOKEN_LOOKUP_DESCRIPTION,
  TOKEN_LOOKUP_OLD_NAMES,
  tokenLookupBackend,
} from "./token_lookup.ts";
export type { TokenLookupExplanation, TokenLookupMode, TokenLookupOptions, WeightedToken } from "./token_lookup.ts";
export { ChatClient, ChatError } from "./client.ts";
export type { ChatAnswer, ChatClientOptions, ChatMessage, Tally, TokenLogprob } from "./client.ts";
export { detectMessages, fuzzMessages, parseDetection, ParseError, parseJudgements } from "./prompts.ts";
export {
  BILLS_EXPLAIN_TOP,
  discretise,
  explainMessages,
  EXPLANATION_PREFIX,
  showToken,
  simulateMessages,
} from "./bills_prompts.ts";
export { expectedValues, parseExplanation, parseSimulation } from "./bills_answers.ts";
export { llmBackend } from "./llm.ts";
export type { LlmBackendOptions } from "./llm.ts";
export { selectFeatures } from "./select.ts";
export type { FeatureChoice, FragmentStats, Selection, SelectOptions } from "./select.ts";
export { sampleDictionaries } from "./sampling.ts";
export type { DictSamples, SampleOptions } from "./sampling.ts";
export { atlasDictionaries } from "./atlas.ts";
export type { AtlasOptions, DictAtlas } from "./atlas.ts";
export { chooseAtlas, topTokens } from "./atlas_select.ts";
export type { AtlasChoice, AtlasCounts } from "./atlas_select.ts";
export { featureFiles, samplesFromFiles } from "./feature_files.ts";
export type {
  FeatureFiles,
  FeatureFilesOptions,
  FeatureStats,
  StoredDetail,
  StoredIndex,
  StoredResult,
  StoredSamples,
} from "./feature_files.ts";
export { attachReferences, describeScore, mergeScoreData, SIMULATION_DESCRIPTION, summarizeScores } from "./compare.ts";
export type { DictScoreDetail, ReferenceOptions, ScoreReference, ScoreReferences, ScoresFile } from "./compare.ts";
export { scoreSummaryLines } from "./score_text.ts";
export { isResidualHook, loadUnembedding, logitEffects } from "./logit_effects.ts";
export { logitEffectsGpu } from "./logit_effects_gpu.ts";
export type { LogitEffectsGpuOptions } from "./logit_effects_gpu.ts";
export type { Unembedding } from "./logit_effects.ts";
