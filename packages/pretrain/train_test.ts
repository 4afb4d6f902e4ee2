import assert from "node:assert/strict";
import { join } from "node:path";
import { createGpu } from "@saelab/gpu";
import { memorySource } from "@saelab/corpus";
import { parseConfig } from "@saelab/neox";
import { openCheckpoint } from "@saelab/safetensors";
import { prepareData } from "./data.ts";
import { pretrain } from "./train.ts";

const gpu = await createGpu();

const words = ["the", "union", "state", "of", "congress", "nation", "people", "law", "year", "peace"];
const docs: Record<string, string> = {};
for (let d = 0; d < 12; d++) {
  docs[`doc${d}`] = Array.from({ length: 120 }, (_, i) => words[(i * (d + 3) + d) % words.length]).join(" ") + ".";
}
const data = await prepareData({
  sources: [memorySource("mem", docs)],
  vocabSize: 300,
  heldOutFraction: 0.3,
  contextLength: 8,
});
const config = parseConfig({
  model_type: "gpt_neox",
  vocab_size: data.tokenizer.vocabSize,
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 64,
  rotary_pct: 0.5,
  max_position_embeddings: 8,
});
const base = {
  config,
  train: data.train,
  evalWindows: data.heldOut.take(4),
  steps: 8,
  batch: 4,
  lr: 1e-2,
  logEvery: 2,
  evalEvery: 4,
  checkpointEvery: 3,
  dtype: "F32" as const,
};

async function weights(dir: string): Promise<Record<string, Float32Array>> {
  const ckpt = await openCheckpoint(dir);
  try {
    return Object.fromEntries(await Promise.all(ckpt.names.map(async (n) => [n, await ckpt.getFloat32(n)])));
  } finally {
    ckpt.close();
  }
}

Deno.test("pretrain stopped by its signal resumes to exactly the weights of an uninterrupted run", async () => {
  const root = await Deno.makeTempDir();
  try {
    const whole = await pretrain(gpu, { ...base, out: join(root, "whole") });
    assert.equal(whole.finished, true);
    assert.equal(whole.tokens, 8 * 4 * 8);
    const first = whole.history[0].trainLoss, last = whole.history.at(-1)!;
    assert.ok(last.heldOutLoss !== undefined && last.trainLoss < first, `loss ${first} → ${last.trainLoss}`);

    const stop = new AbortController();
    const out = join(root, "resumed");
    const part = await pretrain(gpu, { ...base, out, signal: stop.signal, onStep: (s) => s === 5 && stop.abort() });
    assert.deepEqual([part.finished, part.step], [false, 5]);
    const rest = await pretrain(gpu, { ...base, out });
    assert.deepEqual([rest.finished, rest.step, rest.stepsThisRun], [true, 8, 3]);
    const a = await weights(join(root, "whole")), b = await weights(out);
    for (const name of Object.keys(a)) assert.deepEqual(b[name], a[name], name);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

globalThis.addEventListener("unload", () => gpu.destroy());
