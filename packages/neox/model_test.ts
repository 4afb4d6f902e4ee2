import assert from "node:assert/strict";
import { join } from "node:path";
import { assertClose, createGpu, type Tensor } from "@saelab/gpu";
import { fill } from "@saelab/kernels";
import { openCheckpoint } from "@saelab/safetensors";
import {
  createModel,
  hookNames,
  type Hooks,
  loadModel,
  type LoadOptions,
  type NeoxConfig,
  parseConfig,
  randomWeights,
  referenceForward,
  saveModel,
  weightSpecs,
} from "./mod.ts";
import { TINY_NEOX } from "./testing.ts";

const gpu = await createGpu();
const TOL = { atol: 1e-4, rtol: 1e-4 };
const tmp = await Deno.makeTempDir({ prefix: "neox_test_" });

function config(fields: Record<string, unknown>): NeoxConfig {
  return parseConfig({ ...TINY_NEOX, ...fields });
}

const IDS = [[5, 96, 0, 17, 17, 42, 3, 88, 9, 61, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [
  90,
  80,
  70,
  60,
  50,
  40,
  30,
  20,
  10,
  0,
  95,
]];

/** Run the model with every hook kept and compare each one and the logits with the CPU reference. */
async function checkAgainstReference(dir: string, cfg: NeoxConfig, options: LoadOptions & { what: string }) {
  const what = options.what;
  using ckpt = await openCheckpoint(dir); // the reference sees the stored (possibly rounded) weights
  const w = new Map<string, Float32Array>();
  for (const { name } of weightSpecs(cfg)) w.set(name, await ckpt.getFloat32(name));
  const ref = referenceForward(cfg, (n) => w.get(n)!, IDS);
  using model = await loadModel(gpu, dir, options);
  const kept = new Map<string, Tensor>();
  const hooks: Hooks = Object.fromEntries(
    hookNames(cfg).map((n) => [n, { keep: true, read: (name: string, t: Tensor) => kept.set(name, t) }]),
  );
  using logits = model.forward(IDS, { hooks });
  assert.equal(kept.size, ref.activations.size + 1);
  for (const [name, want] of ref.activations) {
    using t = kept.get(name)!;
    assertClose(await t.read(), want, TOL, `${what}: ${name}`);
  }
  kept.get("logits")!.dispose();
  assertClose(await logits.read(), ref.logits!, TOL, `${what}: logits`);
}

Deno.test("sequential residual with rotary_pct 0.5, another base and eps (F32) matches the reference", async () => {
  const cfg = config({ use_parallel_residual: false, rotary_pct: 0.5, rotary_emb_base: 500, layer_norm_eps: 1e-3 });
  assert.ok(hookNames(cfg).includes("blocks.1.hook_resid_mid"));
  const dir = join(tmp, "sequential");
  await saveModel(dir, cfg, randomWeights(cfg, { seed: 1 }));
  await checkAgainstReference(dir, cfg, { what: "sequential", vocabPartRows: 50 });
});

Deno.test("rotary_pct 1 with F16 weights matches the reference on the rounded weights", async () => {
  const cfg = config({ rotary_pct: 1 });
  const dir = join(tmp, "f16");
  await saveModel(dir, cfg, randomWeights(cfg, { seed: 2 }), { dtype: "F16" });
  await checkAgainstReference(dir, cfg, { what: "f16" });
});

Deno.test("BF16 shards with an index and ignored buffers load and match the reference", async () => {
  const cfg = config({});
  const dir = join(tmp, "bf16");
  const extra = {
    "gpt_neox.layers.0.attention.bias": { dtype: "BOOL" as const, shape: [1, 1, 4, 4], data: new Array(16).fill(true) },
    "gpt_neox.layers.0.attention.masked_bias": { dtype: "F32" as const, shape: [], data: [-1e9] },
    "gpt_neox.layers.1.attention.rotary_emb.inv_freq": { dtype: "F32" as const, shape: [2], data: [1, 0.01] },
  };
  const files = await saveModel(dir, cfg, randomWeights(cfg, { seed: 3 }), {
    dtype: "BF16",
    maxShardBytes: 8000,
    extra,
  });
  assert.ok(files.length > 2, "sharded");
  await checkAgainstReference(dir, cfg, { what: "bf16 in 3 vocabulary parts", vocabPartRows: 40 });
});

Deno.test("tied embeddings without attention biases match the reference", async () => {
  const cfg = config({ tie_word_embeddings: true, attention_bias: false, num_hidden_layers: 1 });
  const dir = join(tmp, "tied");
  await saveModel(dir, cfg, randomWeights(cfg, { seed: 4 }));
  await checkAgainstReference(dir, cfg, { what: "tied", vocabPartRows: 64 });
});

Deno.test("replace hooks splice activations: zeroing one equals zeroing the weights that make it", async () => {
  const cfg = config({ use_parallel_residual: false });
  const weights = randomWeights(cfg, { seed: 5 });
  using model = await createModel(gpu, cfg, { weights });
  const zeroed = { ...weights };
  for (const n of ["gpt_neox.layers.0.attention.dense.weight", "gpt_neox.layers.0.attention.dense.bias"]) {
    zeroed[n] = new Float32Array(weights[n].length);
  }
  zeroed["gpt_neox.layers.1.mlp.dense_4h_to_h.weight"] = new Float32Array(
    weights["gpt_neox.layers.1.mlp.dense_4h_to_h.weight"].length,
  );
  const ref = referenceForward(cfg, (n) => zeroed[n], IDS);
  const seen: string[] = [];
  using logits = model.forward(IDS, {
    hooks: {
      // a fresh tensor, owned by the model from here on
      "blocks.0.hook_attn_out": { replace: (name, act) => (seen.push(name), gpu.zeros(act.shape)) },
      // written in place, nothing returned
      "blocks.1.mlp.hook_post": { replace: (_, act) => void fill(gpu, act, 0) },
    },
  });
  assert.deepEqual(seen, ["blocks.0.hook_attn_out"]);
  assertClose(await logits.read(), ref.logits!, TOL, "patched logits");
  const loss = await model.loss(IDS, {
    hooks: { "blocks.0.hook_attn_out": { replace: (_, a) => gpu.zeros(a.shape) } },
  });
  assert.ok(Number.isFinite(loss.mean) && loss.mean > 0);
  assert.throws(
    () => model.forward(IDS, { hooks: { "blocks.0.hook_resid_mid": { replace: () => gpu.zeros([3, 4]) } } }),
    {
      name: "RangeError",
      message: /replacement at blocks\.0\.hook_resid_mid: expected a live f32 tensor \[3, 11, 48\]/,
    },
  );
});

Deno.test("read hooks see activations in pass order; kept copies outlive the pass; nothing leaks", async () => {
  const cfg = config({});
  using model = await createModel(gpu, cfg, { weights: randomWeights(cfg, { seed: 6 }) });
  const live = gpu.pool.live;
  const order: string[] = [];
  const hooks: Hooks = Object.fromEntries(hookNames(cfg).map((n) => [n, { read: (name: string) => order.push(name) }]));
  model.forward(IDS, { hooks }).dispose();
  assert.deepEqual(order, hookNames(cfg));
  let kept: Tensor | undefined;
  using resid = model.forward(IDS, {
    stopAtLayer: 1,
    hooks: { "blocks.0.mlp.hook_post": { keep: true, read: (_, t) => (kept = t) } },
  });
  assert.deepEqual(kept!.shape, [3, 11, 80]);
  const ref = referenceForward(cfg, (n) => randomWeights(cfg, { seed: 6 })[n], IDS, { stopAtLayer: 1 });
  assertClose(await kept!.read(), ref.activations.get("blocks.0.mlp.hook_post")!, TOL, "kept mlp.hook_post");
  assertClose(await resid.read(), ref.residual, TOL, "stopAtLayer 1 residual");
  kept!.dispose();
  resid.dispose();
  const whole = await model.loss(IDS, { perToken: true });
  const chunked = await model.loss(IDS, { perToken: true, maxLogitsBytes: 7 * 97 * 4 }); // 7-row chunks
  assertClose(chunked.perToken!, whole.perToken!, { atol: 1e-6, rtol: 1e-6 }, "loss in row chunks");
  assert.equal(gpu.pool.live, live, "every tensor of the passes was returned to the pool");
});

Deno.test("generate: greedy follows the reference's argmax; sampling is seeded", async () => {
  const cfg = config({});
  const weights = randomWeights(cfg, { seed: 7 });
  using model = await createModel(gpu, cfg, { weights, vocabPartRows: 30 });
  const prompts = [IDS[0].slice(0, 4), IDS[2].slice(0, 4)];
  const greedy = await model.generate(prompts, { maxNewTokens: 4 });
  const seqs = prompts.map((p) => [...p]);
  for (let step = 0; step < 4; step++) {
    const ref = referenceForward(cfg, (n) => weights[n], seqs).logits!;
    seqs.forEach((s, b) => {
      const row = ref.subarray((b * s.length + s.length - 1) * 97, (b * s.length + s.length) * 97);
      s.push(row.indexOf(Math.max(...row)));
    });
  }
  assert.deepEqual(greedy, seqs.map((s) => s.slice(4)));
  const a = await model.generate(prompts, { maxNewTokens: 5, temperature: 1.5, seed: 11 });
  const b = await model.generate(prompts, { maxNewTokens: 5, temperature: 1.5, seed: 11 });
  assert.deepEqual(a, b);
  const stopped = await model.generate(prompts, { maxNewTokens: 4, stopToken: greedy[0][1] });
  assert.deepEqual(stopped[0], greedy[0].slice(0, 2));
});

Deno.test("bad input and bad checkpoints give errors that name the cause", async () => {
  const cfg = config({});
  const weights = randomWeights(cfg, { seed: 8 });
  using model = await createModel(gpu, cfg, { weights });
  const bad: [unknown, RegExp][] = [
    [[], /batch is empty/],
    [[[]], /sequence 0 is empty/],
    [[[1, 2], [3]], /sequence 1 has 1 tokens but sequence 0 has 2/],
    [[[1, 97]], /token id 97 at sequence 0, position 1 is outside the vocabulary \(0 … 96\)/],
    [[[1, -1]], /token id -1/],
    [[[1.5]], /token id 1.5/],
    [[new Array(25).fill(1)], /context of 25 tokens is longer than max_position_embeddings \(24\)/],
  ];
  for (const [ids, message] of bad) {
    assert.throws(() => model.forward(ids as number[][]), { name: "RangeError", message });
  }
  const noop = { read: () => {} };
  assert.throws(() => model.forward(IDS, { hooks: { "blocks.0.hook_resid_mid": noop } }), /parallel residual/);
  assert.throws(() => model.forward(IDS, { hooks: { "blocks.2.hook_resid_pre": noop } }), /no such hook point/);
  assert.throws(
    () => model.forward(IDS, { stopAtLayer: 1, hooks: { "blocks.1.hook_attn_out": noop } }),
    /stops before it/,
  );
  assert.throws(() => model.forward(IDS, { stopAtLayer: 2, hooks: { logits: noop } }), /stops before it/);
  assert.throws(() => model.forward(IDS, { stopAtLayer: 3 }), /stopAtLayer 3 must be a whole number in 0 … 2/);
  await assert.rejects(() => model.loss([[1]]), /at least 2 tokens/);

  const missing = { ...weights };
  delete missing["gpt_neox.layers.1.mlp.dense_4h_to_h.bias"];
  await assert.rejects(() => createModel(gpu, cfg, { weights: missing }), {
    name: "RangeError",
    message: /weight gpt_neox\.layers\.1\.mlp\.dense_4h_to_h\.bias is missing/,
  });
  const dir = join(tmp, "wrong_shape");
  await saveModel(dir, config({ intermediate_size: 81 }), randomWeights(config({ intermediate_size: 81 })));
  await Deno.writeTextFile(
    join(dir, "config.json"),
    JSON.stringify({ ...JSON.parse(await Deno.readTextFile(join(dir, "config.json"))), intermediate_size: 80 }),
  );
  await assert.rejects(() => loadModel(gpu, dir), {
    name: "RangeError",
    message: /weight gpt_neox\.layers\.0\.mlp\.dense_h_to_4h\.weight has shape \[81, 48\] in .*, expected \[80, 48\]/,
  });
  await assert.rejects(() => loadModel(gpu, join(tmp, "nowhere")), /config\.json cannot be read/);
  model.dispose();
  assert.throws(() => model.forward(IDS), /disposed/);
});

globalThis.addEventListener("unload", () => {
  gpu.destroy();
  Deno.removeSync(tmp, { recursive: true });
});
