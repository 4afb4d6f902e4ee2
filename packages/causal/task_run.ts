/**
 * Running a task once without edits: the hook's activations on the clean and
 * counterfactual prompts (cached for every later patched run), the model's
 * outputs at the read positions and the task's logit differences.
 *
 * @module
 */
import type { Tensor } from "@saelab/gpu";
import { hookWidth, type NeoxModel } from "@saelab/neox";
import { hookPlace } from "./_hook.ts";
import { logitDiffs, logSoftmax, mean } from "./kl.ts";
import { checkTask, groupPairs, type PairGroup, type PatchTask } from "./task.ts";

/** One group of pairs with its cached activations. */
export interface GroupRun extends PairGroup {
  /** Hook activation on the clean prompts `[G, T, width]`. */
  xClean: Float32Array;
  /** Hook activation on the counterfactual prompts `[G, T, width]`. */
  xCounterfactual: Float32Array;
  /** The block's input on the clean prompts `[G, T, D]`, for hook points inside a block. */
  residPre?: Float32Array;
}

/** A task run without edits. */
export interface TaskRun {
  /** The task. */
  task: PatchTask;
  /** The hook whose activations were cached. */
  hook: string;
  /** Width of the hook's activation. */
  width: number;
  /** Model width (of `residPre`). */
  hidden: number;
  /** Vocabulary size. */
  vocabSize: number;
  /** Pairs grouped by length, with activations. */
  groups: GroupRun[];
  /** Log-probabilities of the next token at each pair's read position, clean prompts `[P, V]` (task order). */
  logProbClean: Float64Array;
  /** The same on the counterfactual prompts `[P, V]`. */
  logProbCounterfactual: Float64Array;
  /** Per pair `logit[clean answer] − logit[counterfactual answer]`, when every pair has answers. */
  logitDiff?: { clean: Float64Array; counterfactual: Float64Array };
}

/** How well the model performs a task, from {@linkcode summarizeTask}. */
export interface TaskSummary {
  /** Pairs. */
  pairs: number;
  /** Mean logit difference on the clean prompts (positive: the model prefers the clean answer). */
  cleanLogitDiff?: number;
  /** Mean logit difference on the counterfactual prompts (negative: it follows the counterfactual). */
  counterfactualLogitDiff?: number;
  /** Fraction of pairs where the clean difference is positive and the counterfactual one negative. */
  accuracy?: number;
}

async function capture(
  model: NeoxModel,
  ids: number[][],
  names: string[],
  stopAtLayer: number,
): Promise<Float32Array[]> {
  const kept = new Map<string, Tensor<"f32">>();
  const hooks = Object.fromEntries(
    names.map((n) => [n, { keep: true, read: (_: string, t: Tensor<"f32">) => void kept.set(n, t) }]),
  );
  try {
    model.forward(ids, { hooks, stopAtLayer }).dispose();
    const out: Float32Array[] = [];
    for (const n of names) out.push(await kept.get(n)!.read());
    return out;
  } finally {
    for (const t of kept.values()) t.dispose();
  }
}

/**
 * Run a task's prompts once: cache the hook's activations and read the outputs.
 *
 * @param model The model.
 * @param task The task (checked against the model first).
 * @param options `hook`: the block hook whose activations later runs edit.
 * @returns Activations per group, log-probabilities and logit differences per pair.
 * @throws {RangeError} For a bad task or hook.
 * @example
 * ```ts ignore
 * const run = await runTask(model, task, { hook: "blocks.2.hook_resid_post" });
 * console.log(summarizeTask(run)); // { pairs, cleanLogitDiff, counterfactualLogitDiff, accuracy }
 * ```
 */
export async function runTask(model: NeoxModel, task: PatchTask, options: { hook: string }): Promise<TaskRun> {
  const config = model.config;
  checkTask(task, { vocabSize: config.vocabSize, maxPositions: config.maxPositions });
  const { hook } = options;
  const { layer, point } = hookPlace(hook);
  if (layer >= config.numLayers) {
    throw new RangeError(`Cannot run task at ${hook}: the model has ${config.numLayers} blocks`);
  }
  const v = config.vocabSize, p = task.pairs.length;
  const inside = point !== "hook_resid_pre" && point !== "hook_resid_post";
  const pre = `blocks.${layer}.hook_resid_pre`;
  const logProbClean = new Float64Array(p * v), logProbCounterfactual = new Float64Array(p * v);
  const groups: GroupRun[] = [];
  for (const g of groupPairs(task)) {
    const [xClean, residPre] = await capture(model, g.clean, inside ? [hook, pre] : [hook], layer + 1);
    const [xCounterfactual] = await capture(model, g.counterfactual, [hook], layer + 1);
    groups.push({ ...g, xClean, xCounterfactual, ...(inside ? { residPre } : {}) });
    const lc = logSoftmax(await model.lastLogits(g.clean), v);
    const lf = logSoftmax(await model.lastLogits(g.counterfactual), v);
    g.pairs.forEach((pair, i) => {
      logProbClean.set(lc.subarray(i * v, (i + 1) * v), pair * v);
      logProbCounterfactual.set(lf.subarray(i * v, (i + 1) * v), pair * v);
    });
  }
  const answers = answerPairs(task);
  const run: TaskRun = {
    task,
    hook,
    width: hookWidth(config, hook),
    hidden: config.hiddenSize,
    vocabSize: v,
    groups,
    logProbClean,
    logProbCounterfactual,
  };
  if (answers) {
    // log-probabilities differ from logits by a per-row constant, so their differences are logit differences
    run.logitDiff = {
      clean: logitDiffs(logProbClean, v, answers),
      counterfactual: logitDiffs(logProbCounterfactual, v, answers),
    };
  }
  return run;
}

/**
 * `[clean answer, counterfactual answer]` of every pair, or undefined when a pair has none.
 *
 * @param task The task.
 * @returns The answer pairs in task order.
 * @example
 * ```ts
 * import { answerPairs } from "@saelab/causal";
 * const a = answerPairs({ name: "t", pairs: [{ clean: [1], counterfactual: [2], answers: { clean: 3, counterfactual: 4 } }] });
 * if (a?.[0].join() !== "3,4") throw new Error("answers");
 * ```
 */
export function answerPairs(task: PatchTask): [number, number][] | undefined {
  if (!task.pairs.every((p) => p.answers)) return undefined;
  return task.pairs.map((p) => [p.answers!.clean, p.answers!.counterfactual]);
}

/**
 * Summarise how well the model performs the task (show this before any patching).
 *
 * @param run A task run.
 * @returns Mean logit differences and the fraction of pairs the model gets right both ways.
 * @example
 * ```ts ignore
 * const s = summarizeTask(await runTask(model, task, { hook }));
 * if ((s.cleanLogitDiff ?? 0) <= 0) console.warn("the model does not perform this task");
 * ```
 */
export function summarizeTask(run: TaskRun): TaskSummary {
  const pairs = run.task.pairs.length;
  if (!run.logitDiff) return { pairs };
  const { clean, counterfactual } = run.logitDiff;
  let right = 0;
  for (let i = 0; i < pairs; i++) if (clean[i] > 0 && counterfactual[i] < 0) right++;
  return { pairs, cleanLogitDiff: mean(clean), counterfactualLogitDiff: mean(counterfactual), accuracy: right / pairs };
}
