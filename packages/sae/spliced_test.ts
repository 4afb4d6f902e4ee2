import assert from "node:assert/strict";
import { assertClose, createGpu, type Tensor } from "@saelab/gpu";
import { initWeights, type LossWithReplacement, reconstructRows, SaeDictionary, splicedLoss } from "./mod.ts";
import { Rng } from "./_random.ts";

const gpu = await createGpu();

Deno.test("spliced loss runs the injected model clean, spliced and zero-ablated", async () => {
  const d = 8, rng = new Rng(1);
  const target = Float32Array.from({ length: d }, () => rng.normal());
  // a stand-in "model": the hook activation is the batch itself, [2, T, d]; its loss is the mean
  // squared distance of each position's activation to a target vector
  const lossOf = (act: Float32Array) => {
    let s = 0;
    for (let e = 0; e < act.length; e++) s += (act[e] - target[e % d]) ** 2;
    return s / (act.length / d);
  };
  const run: LossWithReplacement<Float32Array> = async (batch, replace) => {
    const act = gpu.upload(batch, [2, batch.length / (2 * d), d]);
    let used: Tensor<"f32"> = act;
    if (replace) {
      used = replace(act);
      assert.deepEqual(used.shape, act.shape);
      act.dispose();
    }
    const values = await used.read();
    used.dispose();
    return { loss: lossOf(values), tokens: values.length / d };
  };
  const batches = [3, 5].map((t) => Float32Array.from({ length: 2 * t * d }, () => rng.normal()));
  const sae = SaeDictionary.fromWeights(gpu, initWeights({ kind: "untied", dIn: d, dDict: 24, l1: 0 }, { seed: 2 }));
  const live = gpu.pool.live;
  const got = await splicedLoss(run, sae, batches);
  assert.equal(gpu.pool.live, live, "every tensor handed to the model is freed by it");
  const all = new Float32Array([...batches[0], ...batches[1]]);
  const clean = lossOf(all),
    spliced = lossOf(await reconstructRows(sae, all)),
    zero = lossOf(new Float32Array(all.length));
  assert.equal(got.tokens, 16);
  assertClose([got.clean, got.spliced, got.zeroAblation], [clean, spliced, zero], { atol: 1e-5, rtol: 1e-5 });
  assertClose([got.lossRecovered], [(zero - spliced) / (zero - clean)], { atol: 1e-6, rtol: 1e-5 });
  await assert.rejects(() => splicedLoss(run, sae, []), /no tokens/);
  sae.dispose();
});

globalThis.addEventListener("unload", () => gpu.destroy());
