/**
 * The task of the `patch` stage: build the candidates, show how the model does on each (logit
 * differences first), and pick the first it performs.
 *
 * @module
 */
import { ioiTask, type PatchTask, phraseTask, repeatTask, runTask, summarizeTask, type TaskRun } from "@saelab/causal";
import type { NeoxModel } from "@saelab/neox";
import type { StageDeps } from "@saelab/runs";
import type { Tokenizer } from "@saelab/tokenizer";

/** Task names of the stage. */
export const TASKS = ["auto", "ioi", "repeat", "phrase"] as const;
/** One of {@linkcode TASKS}. */
export type TaskName = (typeof TASKS)[number];

/** Build the candidate tasks, show how the model does on each, and pick one. */
export async function chooseTask(
  deps: StageDeps,
  o: {
    model: NeoxModel;
    tokenizer: Tokenizer;
    hook: string;
    name: TaskName;
    pairs: (name: string) => number;
    seed: number;
    isDefault: boolean;
  },
): Promise<{ task: PatchTask; taskRun: TaskRun }> {
  const order: TaskName[] = o.name !== "auto"
    ? [o.name]
    : o.isDefault
    ? ["repeat", "phrase", "ioi"]
    : ["ioi", "repeat", "phrase"];
  let best: { task: PatchTask; taskRun: TaskRun; margin: number } | null = null;
  for (const name of order) {
    let task: PatchTask;
    try {
      task = makeTask(deps, name, o.tokenizer, { pairs: o.pairs(name), seed: o.seed });
    } catch (e) {
      deps.log.info(`patch: task ${name} is not available for this tokenizer (${(e as Error).message})`);
      continue;
    }
    const taskRun = await runTask(o.model, task, { hook: o.hook });
    const s = summarizeTask(taskRun);
    const margin = (s.cleanLogitDiff ?? 0) - (s.counterfactualLogitDiff ?? 0);
    deps.log.info(
      `patch: task ${name} (${task.pairs.length} pairs): mean logit difference ${fmt(s.cleanLogitDiff)} on the clean ` +
        `prompts, ${fmt(s.counterfactualLogitDiff)} on the counterfactuals; right both ways on ` +
        `${((s.accuracy ?? 0) * 100).toFixed(0)}% of pairs`,
    );
    if (!best || margin > best.margin) best = { task, taskRun, margin };
    const performs = (s.cleanLogitDiff ?? 0) > 0 && (s.counterfactualLogitDiff ?? 0) < 0 && (s.accuracy ?? 0) >= 0.5;
    if (performs && o.name === "auto") return { task, taskRun };
  }
  if (!best) throw new TypeError("Cannot run patch: no task could be built for this model's tokenizer");
  if (o.name === "auto") {
    deps.log.warn(`patch: the model performs none of the tasks well; using ${best.task.name}, which it does best`);
  }
  return best;
}

function makeTask(
  deps: StageDeps,
  name: TaskName,
  tokenizer: Tokenizer,
  o: { pairs: number; seed: number },
): PatchTask {
  if (name === "ioi") {
    const r = ioiTask(tokenizer, o);
    if (r.names.length < 20) throw new RangeError(`only ${r.names.length} names are single tokens`);
    deps.log.info(
      `patch: IOI uses ${r.names.length} single-token names` +
        (r.droppedNames.length ? `; dropped (not one token): ${r.droppedNames.join(", ")}` : "") +
        (r.droppedPairs ? `; ${r.droppedPairs} pairs of unequal length dropped` : ""),
    );
    return r.task;
  }
  return name === "repeat" ? repeatTask(tokenizer, o) : phraseTask(tokenizer, o);
}

function fmt(x: number | undefined): string {
  return x === undefined ? "n/a" : (x >= 0 ? "+" : "") + x.toFixed(2);
}
