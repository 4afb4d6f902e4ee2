/**
 * A small real run for the browser test: a folder of generated texts, a BPE tokenizer trained on
 * them, a seeded random GPT-NeoX (d 16, 2 blocks), 1024 harvested tokens in 64-token windows (the length scoring cuts fragments to), a sweep of two SAEs (R 1
 * and 2) trained for a few steps, then the baselines and offline scoring, all through `train`.
 *
 * @module
 */
import { join } from "node:path";
import type { Gpu } from "@saelab/gpu";
import { parseConfig, randomWeights, saveModel } from "@saelab/neox";
import type { StageDeps } from "@saelab/runs";
import { Tokenizer, trainBpe } from "@saelab/tokenizer";
import { seededRandom } from "@saelab/corpus";
import { train } from "../../tasks/train.ts";

const VOCAB = ("the a of and to in is was for on that with as by at from this which be are it not or have an " +
  "they we nation people state law war peace trade money year congress union government").split(" ");

/** Write a corpus folder and a tiny model folder (weights, config and tokenizer) under `root`. */
async function inputs(root: string): Promise<{ corpus: string; model: string }> {
  const corpus = join(root, "texts");
  await Deno.mkdir(corpus, { recursive: true });
  const rand = seededRandom(11);
  const texts: string[] = [];
  for (let i = 0; i < 12; i++) {
    const words = Array.from({ length: 240 }, (_, k) => {
      const w = VOCAB[Math.floor(rand() * VOCAB.length)];
      return k % 11 === 10 ? `${w}.` : w;
    });
    texts.push(words.join(" "));
    await Deno.writeTextFile(join(corpus, `text${String(i).padStart(2, "0")}.txt`), texts[i]);
  }
  const tokenizer = trainBpe(texts, { vocabSize: 320, specialTokens: ["<|endoftext|>"] });
  const config = parseConfig({
    model_type: "gpt_neox",
    vocab_size: Tokenizer.fromJSON(tokenizer).vocabSize,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 64,
    rotary_pct: 0.25,
    max_position_embeddings: 64,
    use_parallel_residual: true,
  });
  const model = join(root, "tiny-neox");
  await saveModel(model, config, randomWeights(config, { seed: 5 }));
  await Deno.writeTextFile(join(model, "tokenizer.json"), JSON.stringify(tokenizer));
  return { corpus, model };
}

/**
 * Run the main job on a tiny model and corpus into `runsDir`, baselines and scoring included.
 *
 * @param runsDir folder that receives the run
 * @param options `gpu`: the context to run on; `work`: folder for the corpus and model; `id`: the run id
 * @returns the run id
 * @example
 * ```ts ignore
 * const id = await makePipelineRun("runs", { gpu, work: "/tmp/e2e-inputs" });
 * ```
 */
export async function makePipelineRun(
  runsDir: string,
  options: { gpu: Gpu; work: string; id?: string },
): Promise<string> {
  const { corpus, model } = await inputs(options.work);
  const messages: string[] = [];
  const deps: StageDeps = {
    runsDir,
    signal: new AbortController().signal,
    verbose: false,
    log: { info: (m) => messages.push(m), warn: (m) => messages.push(`warning: ${m}`), debug: () => {} },
    progress: () => {},
  };
  const config = {
    run: options.id ?? "pipeline",
    model,
    corpus,
    tokens: 1024,
    context: 64,
    heldOutFraction: 0.3,
    harvestBatch: 8,
    kinds: ["untied"],
    ratios: [1, 2],
    l1: [1e-3],
    steps: 12,
    batchSize: 32,
    logEvery: 4,
    lossWindows: 2,
  };
  const result = await train(config, deps, { gpu: options.gpu });
  return result.runId ?? config.run;
}
