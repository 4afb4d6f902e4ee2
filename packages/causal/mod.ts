/**
 * Causal analyses of dictionary features (Cunningham et al. 2023): feature
 * patching between clean and counterfactual prompts (the IOI experiment,
 * Figure 3) and ablation graphs between features of consecutive layers
 * (Figure 4), with the tasks they run on.
 *
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { loadModel } from "@saelab/neox";
 * import { Downstream, featurePatching, ioiTask, runTask, summarizeTask } from "@saelab/causal";
 * const gpu = await createGpu();
 * using model = await loadModel(gpu, "models/pythia-70m-deduped");
 * const { task } = ioiTask(tokenizer, { pairs: 50, seed: 0 });
 * const hook = "blocks.3.hook_resid_post";
 * const run = await runTask(model, task, { hook });
 * console.log(summarizeTask(run)); // logit differences first
 * using down = await Downstream.create(model, hook, { weights: "models/pythia-70m-deduped" });
 * const curve = await featurePatching(down, run, sae);
 * ```
 *
 * @module
 */
export { Downstream } from "./downstream.ts";
export type { DownstreamOptions, WeightSource } from "./downstream.ts";
export { checkTask, groupPairs } from "./task.ts";
export type { PairGroup, PatchTask, PromptPair } from "./task.ts";
export { answerPairs, runTask, summarizeTask } from "./task_run.ts";
export type { GroupRun, TaskRun, TaskSummary } from "./task_run.ts";
export { klRows, logitDiffs, logSoftmax, mean } from "./kl.ts";
export { greedySweep } from "./greedy.ts";
export type { GreedyObjective, GreedyOptions, GreedyStep } from "./greedy.ts";
export { decoderRows, encodeChunked, featureColumn } from "./dictionary.ts";
export type { Dictionary } from "./dictionary.ts";
export { cleanKl, featurePatching, patchThresholds } from "./patch.ts";
export type { FeaturePatchingOptions, FeaturePatchResult, KlDirection, PatchPointResult } from "./patch.ts";
export { ABLATION_METRIC, ablationGraph } from "./circuits.ts";
export type { AblationGraph, AblationGraphOptions, GraphEdge, GraphNode, LayerDictionary } from "./circuits.ts";
export { IOI_NAMES, IOI_OBJECTS, IOI_PLACES, IOI_TEMPLATES, ioiTask } from "./ioi.ts";
export type { IoiOptions, IoiTask, TextCodec } from "./ioi.ts";
export { PHRASE_FRAMES, PHRASES, phraseTask, repeatTask, wordTokens } from "./text_tasks.ts";
export type { RepeatOptions } from "./text_tasks.ts";
export { cacheHooks } from "./hook_cache.ts";
export type { HookCache } from "./hook_cache.ts";
export { steer, SteeringHook } from "./steer.ts";
export type { Continuation, SteerEdit, SteeringHookOptions, SteerOptions, SteerResult } from "./steer.ts";
