import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { createModel, parseConfig, randomWeights } from "@saelab/neox";
import { MICRO_NEOX } from "@saelab/neox/testing";
import { Downstream } from "./mod.ts";

const gpu = await createGpu();

const config = parseConfig({ ...MICRO_NEOX, num_hidden_layers: 3, use_parallel_residual: false });
const weights = randomWeights(config, { seed: 3 });
const ids = [[1, 5, 9, 2, 7], [3, 3, 8, 30, 0]];

/** The hook's activation (and the block input) on `ids`, plus a fixed edit. */
async function edited(model: Awaited<ReturnType<typeof createModel>>, hook: string) {
  const layer = Number(hook.split(".")[1]);
  const kept = new Map<string, Float32Array>();
  const names = [...new Set([hook, `blocks.${layer}.hook_resid_pre`])];
  const tensors: Record<string, import("@saelab/gpu").Tensor<"f32">> = {};
  model.forward(ids, {
    stopAtLayer: layer + 1,
    hooks: Object.fromEntries(
      names.map((n) => [n, {
        keep: true,
        read: (_: string, t: import("@saelab/gpu").Tensor<"f32">) => void (tensors[n] = t),
      }]),
    ),
  }).dispose();
  for (const n of names) {
    kept.set(n, await tensors[n].read());
    tensors[n].dispose();
  }
  const act = kept.get(hook)!.map((x, i) => x + 0.3 * Math.sin(i)); // an arbitrary edit
  return { act, pre: kept.get(`blocks.${layer}.hook_resid_pre`)! };
}

for (
  const hook of [
    "blocks.1.hook_resid_post",
    "blocks.1.hook_resid_pre",
    "blocks.1.mlp.hook_post",
    "blocks.0.hook_resid_mid",
  ]
) {
  Deno.test(`the tail model matches the whole model with a replace hook at ${hook}`, async () => {
    using model = await createModel(gpu, config, { weights });
    using tail = await Downstream.create(model, hook, { weights });
    using full = await Downstream.create(model, hook);
    assert.equal(tail.mode, "tail");
    assert.equal(full.mode, "full");
    const { act, pre } = await edited(model, hook);
    const shape = [2, 5, act.length / 10];
    const up = (x: Float32Array, s: number[]) => gpu.upload(x, s, "test.act");
    const a = await tail.lastLogits(ids, up(act, shape), up(pre, [2, 5, 16]));
    const b = await full.lastLogits(ids, up(act, shape), up(pre, [2, 5, 16]));
    assertClose(a, b, { atol: 2e-5, rtol: 1e-4 }, "last logits");
    const at = "blocks.2.hook_mlp_out";
    const c = await tail.activationAt(ids, up(act, shape), { at, residPre: up(pre, [2, 5, 16]) });
    const d = await full.activationAt(ids, up(act, shape), { at, residPre: up(pre, [2, 5, 16]) });
    assertClose(c, d, { atol: 2e-5, rtol: 1e-4 }, "later activation");
    // the edit matters: without it the logits differ
    const plain = await model.lastLogits(ids);
    assert.ok(plain.some((x, i) => Math.abs(x - a[i]) > 1e-3));
  });
}

Deno.test("an unedited activation reproduces the model's own output", async () => {
  using model = await createModel(gpu, config, { weights });
  const hook = "blocks.0.hook_resid_post";
  using tail = await Downstream.create(model, hook, { weights: (name) => weights[name] });
  const { act, pre } = await edited(model, hook);
  const clean = act.map((x, i) => x - 0.3 * Math.sin(i));
  const got = await tail.lastLogits(ids, gpu.upload(clean, [2, 5, 16], "test.act"), gpu.upload(pre, [2, 5, 16]));
  assertClose(got, await model.lastLogits(ids), { atol: 2e-5, rtol: 1e-4 }, "logits");
});

Deno.test("the last block's output and bad requests", async () => {
  using model = await createModel(gpu, config, { weights });
  using last = await Downstream.create(model, "blocks.2.hook_resid_post", { weights });
  assert.equal(last.mode, "full"); // nothing after it but the unembedding
  await assert.rejects(() => Downstream.create(model, "blocks.7.hook_resid_post"), RangeError);
  using down = await Downstream.create(model, "blocks.1.hook_resid_post", { weights });
  await assert.rejects(
    () => down.activationAt(ids, gpu.zeros([2, 5, 16]), { at: "blocks.2.hook_resid_pre" }),
    /not a hook of this model after/,
  );
  using mid = await Downstream.create(model, "blocks.1.hook_attn_out", { weights });
  await assert.rejects(() => mid.lastLogits(ids, gpu.zeros([2, 5, 16])), /residPre/);
});
