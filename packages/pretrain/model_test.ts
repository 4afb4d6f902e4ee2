import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createGpu } from "@saelab/gpu";
import { loadModel } from "@saelab/neox";
import { prepareData } from "./data.ts";

const DIR = fileURLToPath(new URL("../../fixtures/models/sotu-neox/", import.meta.url));
const exists = await Deno.stat(`${DIR}training.json`).then(() => true, () => false);
if (!exists) console.warn(`skipping the default-model test: ${DIR}training.json is absent (run deno task pretrain)`);

Deno.test({
  name: "the committed default model reproduces the held-out loss recorded beside it",
  ignore: !exists,
  fn: async () => {
    const record = JSON.parse(await Deno.readTextFile(`${DIR}training.json`));
    const T = record.data.contextLength;
    const data = await prepareData({
      contextLength: T,
      tokenizer: JSON.parse(await Deno.readTextFile(`${DIR}tokenizer.json`)),
    });
    const windows = data.heldOut.shuffle(record.check.heldOutShuffleSeed).take(record.check.windows);
    const gpu = await createGpu();
    try {
      using model = await loadModel(gpu, DIR);
      let total = 0;
      for (let from = 0; from < windows.count; from += 8) {
        const ids = windows.batch(from, 8);
        const rows = Array.from({ length: ids.length / T }, (_, b) => [...ids.subarray(b * T, (b + 1) * T)]);
        total += (await model.loss(rows)).mean * rows.length;
      }
      const loss = total / windows.count;
      // same kernels and weights: only summation order may differ between backends
      assert.ok(Math.abs(loss - record.check.loss) <= 2e-3, `loss ${loss}, recorded ${record.check.loss}`);
      const e = record.evaluation;
      assert.ok(e.model < e.unigram && e.bigram < e.unigram, `recorded: model ${e.model}, unigram ${e.unigram}`);
    } finally {
      gpu.destroy();
    }
  },
});
