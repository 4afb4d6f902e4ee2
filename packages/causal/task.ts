/**
 * Patching tasks: pairs of prompts (clean, counterfactual) of equal token
 * length that differ in a few tokens, the position whose next-token
 * prediction is read, and the expected answers for the logit difference.
 *
 * @module
 */

/** One clean prompt and its counterfactual. */
export interface PromptPair {
  /** Token ids of the clean prompt. */
  clean: number[];
  /** Token ids of the counterfactual: same length, a few tokens changed. */
  counterfactual: number[];
  /** Position whose next-token prediction is read. Default: the last position. */
  position?: number;
  /** Expected next token after the clean prompt and after the counterfactual (for the logit difference). */
  answers?: { clean: number; counterfactual: number };
  /** The prompts as text, for reports. */
  text?: { clean: string; counterfactual: string };
}

/** A named set of prompt pairs. */
export interface PatchTask {
  /** Short name, e.g. `"ioi"`. */
  name: string;
  /** One line on what the model is asked to do. */
  description?: string;
  /** The pairs. */
  pairs: PromptPair[];
}

/** Pairs of one token length (after cutting each prompt after its read position). */
export interface PairGroup {
  /** Index of each pair in the task. */
  pairs: number[];
  /** Token length of every prompt in the group. */
  length: number;
  /** Clean prompts `[G][length]`. */
  clean: number[][];
  /** Counterfactual prompts `[G][length]`. */
  counterfactual: number[][];
}

/**
 * Check a task against a model's vocabulary and context.
 *
 * @param task The task.
 * @param limits `vocabSize` and `maxPositions` of the model.
 * @returns Nothing; throws on the first problem.
 * @throws {RangeError} Naming the pair and what is wrong with it.
 * @example
 * ```ts
 * import { checkTask } from "@saelab/causal";
 * checkTask({ name: "t", pairs: [{ clean: [1, 2], counterfactual: [1, 3] }] }, { vocabSize: 4, maxPositions: 8 });
 * ```
 */
export function checkTask(task: PatchTask, limits: { vocabSize: number; maxPositions: number }): void {
  if (!Array.isArray(task.pairs) || task.pairs.length === 0) {
    throw new RangeError(`Cannot use task ${JSON.stringify(task.name)}: it has no prompt pairs`);
  }
  const token = (t: unknown) => Number.isInteger(t) && (t as number) >= 0 && (t as number) < limits.vocabSize;
  task.pairs.forEach((p, i) => {
    const what = `Cannot use pair ${i} of task ${JSON.stringify(task.name)}`;
    const n = p.clean?.length ?? 0;
    if (n === 0 || p.counterfactual?.length !== n) {
      throw new RangeError(`${what}: clean and counterfactual prompts need the same, non-zero token length`);
    }
    if (!p.clean.every(token) || !p.counterfactual.every(token)) {
      throw new RangeError(`${what}: token ids must be whole numbers below the vocabulary size ${limits.vocabSize}`);
    }
    const pos = p.position ?? n - 1;
    if (!Number.isInteger(pos) || pos < 0 || pos >= n) {
      throw new RangeError(`${what}: position ${p.position} is outside 0..${n - 1}`);
    }
    if (pos + 1 > limits.maxPositions) {
      throw new RangeError(`${what}: ${pos + 1} tokens exceed the model's context of ${limits.maxPositions}`);
    }
    if (p.answers && !(token(p.answers.clean) && token(p.answers.counterfactual))) {
      throw new RangeError(`${what}: answer tokens must be valid ids`);
    }
  });
}

/**
 * Cut every prompt after its read position (later tokens cannot affect it in a causal model) and group
 * the pairs by the resulting length, so each group runs as one batch whose last position is read.
 *
 * @param task The task.
 * @returns Groups in increasing length.
 * @example
 * ```ts
 * import { groupPairs } from "@saelab/causal";
 * const groups = groupPairs({ name: "t", pairs: [
 *   { clean: [1, 2, 3], counterfactual: [1, 4, 3], position: 1 },
 *   { clean: [5, 6], counterfactual: [5, 7] },
 * ] });
 * if (groups.length !== 1 || groups[0].clean[0].length !== 2) throw new Error("grouping");
 * ```
 */
export function groupPairs(task: PatchTask): PairGroup[] {
  const byLength = new Map<number, PairGroup>();
  task.pairs.forEach((p, i) => {
    const length = (p.position ?? p.clean.length - 1) + 1;
    let g = byLength.get(length);
    if (!g) byLength.set(length, g = { pairs: [], length, clean: [], counterfactual: [] });
    g.pairs.push(i);
    g.clean.push(p.clean.slice(0, length));
    g.counterfactual.push(p.counterfactual.slice(0, length));
  });
  return [...byLength.values()].sort((a, b) => a.length - b.length);
}
