/**
 * The inputs of the tests that run the whole main job: a folder of twelve generated texts, a BPE
 * tokenizer trained on them and a seeded random GPT-NeoX (d 16, 2 blocks, 2 heads) saved as a
 * Hugging Face folder with that tokenizer.
 *
 * @module
 */
import { join } from "node:path";
import { parseConfig, randomWeights, saveModel } from "@saelab/neox";
import { Tokenizer, trainBpe } from "@saelab/tokenizer";
import { seededRandom } from "@saelab/corpus";

const WORDS = ("the a of and to in is was for on that with as by at from this which be are it not or have an " +
  "they we nation people state law war peace trade money year congress union government").split(" ");

/**
 * The sweep both tests train on these inputs (with their own `model`, `corpus`, `tokens` and
 * `context`): two untied SAEs (R 1 and 2, α 1e-3) for 12 steps of 32 rows, 30% of the documents held out.
 */
export const TINY_SWEEP = Object.freeze({
  heldOutFraction: 0.3,
  harvestBatch: 8,
  kinds: ["untied"],
  ratios: [1, 2],
  l1: [1e-3],
  steps: 12,
  batchSize: 32,
  logEvery: 4,
  lossWindows: 2,
});

/** The generated inputs: the corpus folder, its files (name and text, in order) and the model folder. */
export interface TinyInputs {
  /** Folder of the texts. */
  corpus: string;
  /** File names and texts of the corpus. */
  files: { name: string; text: string }[];
  /** Model folder (config.json, safetensors, tokenizer.json). */
  model: string;
}

/**
 * Write the corpus folder `texts` and the model folder `tiny-neox` under `root`.
 *
 * @param root Folder to write into (created when missing).
 * @param options `maxPositions`: the model's context length (the longest window it can read).
 * @returns Where the inputs are, and the corpus texts.
 * @example
 * ```ts ignore
 * const { corpus, model } = await writeTinyInputs(await Deno.makeTempDir(), { maxPositions: 16 });
 * ```
 */
export async function writeTinyInputs(root: string, options: { maxPositions: number }): Promise<TinyInputs> {
  const corpus = join(root, "texts");
  await Deno.mkdir(corpus, { recursive: true });
  const rand = seededRandom(7);
  const files: { name: string; text: string }[] = [];
  for (let i = 0; i < 12; i++) {
    const words = Array.from(
      { length: 260 },
      (_, k) => WORDS[Math.floor(rand() * WORDS.length)] + (k % 13 === 12 ? "." : ""),
    );
    const file = { name: `doc${String(i).padStart(2, "0")}.txt`, text: words.join(" ") };
    files.push(file);
    await Deno.writeTextFile(join(corpus, file.name), file.text);
  }
  const tokenizer = trainBpe(files.map((f) => f.text), { vocabSize: 320, specialTokens: ["<|endoftext|>"] });
  const config = parseConfig({
    model_type: "gpt_neox",
    vocab_size: Tokenizer.fromJSON(tokenizer).vocabSize,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 64,
    rotary_pct: 0.25,
    max_position_embeddings: options.maxPositions,
    use_parallel_residual: true,
  });
  const model = join(root, "tiny-neox");
  await saveModel(model, config, randomWeights(config, { seed: 3 }));
  await Deno.writeTextFile(join(model, "tokenizer.json"), JSON.stringify(tokenizer));
  return { corpus, files, model };
}
