/**
 * A small real run for the browser test: a folder of generated texts, a BPE tokenizer trained on
 * them, a seeded random GPT-NeoX (d 16, 2 blocks), 1024 harvested tokens in 64-token windows (the length scoring cuts fragments to), a sweep of two SAEs (R 1
 * and 2) trained for a few steps, then the baselines and offline scoring, all through `train`.
 *
 * @module
 */
import type { Gpu } from "@saelab/gpu";
import { testDeps } from "@saelab/runs/testing";
import { train } from "../../tasks/train.ts";
import { TINY_SWEEP, writeTinyInputs } from "../_tiny_inputs.ts";

/**
 * Run the main job on a tiny model and corpus into `runsDir`, baselines and scoring included.
 *
 * @param runsDir folder that receives the run
 * @param options `gpu`: the context to run on; `work`: folder for the corpus and model; `id`: the run id;
 *   `model`: a model folder to use instead of the tiny random one
 * @returns the run id
 * @example
 * ```ts ignore
 * const id = await makePipelineRun("runs", { gpu, work: "/tmp/e2e-inputs" });
 * ```
 */
export async function makePipelineRun(
  runsDir: string,
  options: { gpu: Gpu; work: string; id?: string; model?: string },
): Promise<string> {
  const { corpus, model } = await writeTinyInputs(options.work, { maxPositions: 64 });
  const config = {
    run: options.id ?? "pipeline",
    model: options.model ?? model,
    corpus,
    tokens: 1024,
    context: 64,
    ...TINY_SWEEP,
  };
  const result = await train(config, testDeps(runsDir), { gpu: options.gpu });
  return result.runId ?? config.run;
}
