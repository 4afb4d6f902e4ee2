import assert from "node:assert/strict";
import { assertClose, createGpu, type Tensor } from "@saelab/gpu";
import { LinearDictionary } from "@saelab/dictionary";
import { createModel, parseConfig, randomWeights, referenceForward } from "@saelab/neox";
import { TINY_NEOX } from "@saelab/neox/testing";
import { seededRandom } from "@saelab/core";
import { steer, type SteerEdit, SteeringHook } from "./mod.ts";

const gpu = await createGpu();
const config = parseConfig(TINY_NEOX);
const weights = randomWeights(config, { seed: 11 });
const get = (name: string) => weights[name];
const HOOK = "blocks.0.hook_resid_post";
const FEATURE = 3;
const D = config.hiddenSize;

/** A ReLU dictionary (optionally top-k) whose encoder rows lean on their decoder rows, so steering along d_j raises f_j. */
function dictionary(k = 0): LinearDictionary {
  const rand = seededRandom(5);
  const dDict = 24;
  const decoder = new Float32Array(dDict * D).map(() => 2 * rand() - 1);
  const encoder = decoder.map((v) => 0.5 * v + 0.2 * (2 * rand() - 1));
  return new LinearDictionary({
    name: k ? "topk_test" : "relu_test",
    kind: "sae",
    dIn: D,
    dDict,
    encoder,
    encoderBias: new Float32Array(dDict).map(() => -0.1 * rand()),
    decoder,
    decoderBias: new Float32Array(D),
    k,
  });
}

/** Float64 steered greedy generation: the same edit at every position of every step, and f_j after it. */
function referenceSteer(host: LinearDictionary, prompt: number[], options: { n: number; edit: SteerEdit | null }) {
  const d = host.directions().subarray(FEATURE * D, (FEATURE + 1) * D);
  const f = (row: Float64Array) => host.encodeHost(Float32Array.from(row))[FEATURE];
  const seq = [...prompt], tokens: number[] = [], acts: number[] = [], margins: number[] = [];
  for (let step = 0; step <= options.n; step++) {
    const ctx = seq.slice(-config.maxPositions), t = ctx.length;
    let last = NaN;
    const out = referenceForward(config, get, [ctx], {
      edit: (name, act) => {
        if (name !== HOOK) return;
        for (let r = 0; r < t; r++) {
          const row = act.subarray(r * D, (r + 1) * D);
          const e = options.edit;
          const coef = !e ? 0 : e.mode === "add" ? e.strength : e.value - f(row);
          for (let i = 0; i < D; i++) row[i] += coef * d[i];
        }
        last = f(act.subarray((t - 1) * D));
      },
    });
    if (step > 0) acts.push(last);
    if (step === options.n) break;
    const logits = out.logits!.subarray((t - 1) * config.vocabSize, t * config.vocabSize);
    const order = [...logits.keys()].sort((a, b) => logits[b] - logits[a]);
    margins.push(logits[order[0]] - logits[order[1]]);
    seq.push(order[0]);
    tokens.push(order[0]);
  }
  return { tokens, acts, margins };
}

const PROMPT = [3, 14, 15, 92, 65, 35, 8, 9];

for (
  const [label, edit] of [
    ["add, strength 6", { mode: "add", strength: 6 }],
    ["clamp to 4", { mode: "clamp", value: 4 }],
  ] as [string, SteerEdit][]
) {
  Deno.test(`steering (${label}) matches the float64 reference, tokens and feature activations`, async () => {
    using model = await createModel(gpu, config, { weights });
    const host = dictionary();
    using dict = host.bind(gpu);
    const n = 8;
    const r = await steer(model, dict, {
      prompt: PROMPT,
      hook: HOOK,
      feature: FEATURE,
      maxNewTokens: n,
      ...(edit.mode === "add" ? { strength: edit.strength } : { clamp: edit.value }),
    });
    assert.deepEqual(r.edit, edit);
    for (const [got, e] of [[r.unsteered, null], [r.steered, edit]] as const) {
      const ref = referenceSteer(host, PROMPT, { n, edit: e });
      assert.ok(Math.min(...ref.margins) > 1e-3, "the reference's greedy choices are not near ties");
      assert.deepEqual(got.tokens, ref.tokens);
      assertClose(got.activations, ref.acts, { atol: 1e-4, rtol: 1e-3 }, `f_${FEATURE} on the generated tokens`);
      const mean = ref.acts.reduce((a, b) => a + b, 0) / n;
      assert.ok(Math.abs(got.meanActivation - mean) < 1e-4, `mean ${got.meanActivation} vs ${mean}`);
    }
    assert.ok(r.steered.meanActivation > r.unsteered.meanActivation + 1, "steering raises the feature");
    assert.notDeepEqual(r.steered.tokens, r.unsteered.tokens, "steering changes the continuation");
  });
}

Deno.test("strength 0 reproduces the unsteered continuation, also with sampling and a sliding context", async () => {
  using model = await createModel(gpu, config, { weights });
  using dict = dictionary(4).bind(gpu);
  const prompt = Array.from({ length: 20 }, (_, i) => (7 * i + 1) % config.vocabSize); // 20 + 8 > 24 positions
  for (const temperature of [0, 1.5]) {
    const r = await steer(model, dict, { prompt, hook: HOOK, feature: FEATURE, maxNewTokens: 8, temperature, seed: 9 });
    assert.equal(r.steered.tokens.length, 8);
    assert.deepEqual(r.steered.tokens, r.unsteered.tokens);
    assert.deepEqual(r.steered.activations, r.unsteered.activations);
    const own = await model.generate([prompt], { maxNewTokens: 8, temperature, seed: 9 });
    assert.deepEqual(r.unsteered.tokens, own[0], "the unsteered continuation is the model's own");
  }
});

Deno.test("the hooked residual is x + s·d_j (add) and x + (v − f_j(x))·d_j (clamp)", async () => {
  using model = await createModel(gpu, config, { weights });
  const host = dictionary();
  using dict = host.bind(gpu);
  const d = host.directions().slice(FEATURE * D, (FEATURE + 1) * D);
  const ids = PROMPT.slice(0, 6);
  const x = referenceForward(config, get, [ids], { stopAtLayer: 1 }).activations.get(HOOK)!; // [6, D] float64
  for (const edit of [{ mode: "add", strength: 2.5 }, { mode: "clamp", value: 3 }] as SteerEdit[]) {
    using hook = new SteeringHook(dict, { feature: FEATURE, direction: d, edit, steps: 1 });
    let seen: Tensor<"f32"> | undefined;
    model.forward([ids], {
      stopAtLayer: 2,
      hooks: { [HOOK]: hook, "blocks.1.hook_resid_pre": { keep: true, read: (_, t) => void (seen = t) } },
    }).dispose();
    const got = await seen!.read();
    seen!.dispose();
    const want = new Float64Array(x.length);
    for (let r = 0; r < ids.length; r++) {
      const row = x.subarray(r * D, (r + 1) * D);
      const coef = edit.mode === "add" ? edit.strength : edit.value - host.encodeHost(Float32Array.from(row))[FEATURE];
      for (let i = 0; i < D; i++) want[r * D + i] = row[i] + coef * d[i];
    }
    assertClose(got, want, { atol: 1e-4, rtol: 1e-4 }, `steered residual (${edit.mode})`);
    assert.ok(got.some((v, i) => Math.abs(v - x[i]) > 0.1), "the edit moved the residual");
    const [last] = await hook.recorded();
    const fLast = host.encodeHost(Float32Array.from(want.subarray((ids.length - 1) * D)))[FEATURE];
    assert.ok(Math.abs(last - fLast) < 1e-4, `recorded f_j ${last} vs ${fLast}`);
  }
});

Deno.test("bad requests name what is wrong", async () => {
  using model = await createModel(gpu, config, { weights });
  using dict = dictionary().bind(gpu);
  const base = { prompt: PROMPT, hook: HOOK, feature: FEATURE };
  await assert.rejects(() => steer(model, dict, { ...base, feature: 24 }), /feature 24 is not one of its 24 features/);
  await assert.rejects(() => steer(model, dict, { ...base, hook: "blocks.0.mlp.hook_post" }), /48-wide.*80 wide/);
  await assert.rejects(() => steer(model, dict, { ...base, hook: "blocks.5.hook_resid_post" }), /past the model/);
  await assert.rejects(() => steer(model, dict, { ...base, strength: 1, clamp: 2 }), /not both/);
  await assert.rejects(() => steer(model, dict, { ...base, prompt: [] }), /prompt has 0 tokens/);
  await assert.rejects(() => steer(model, dict, { ...base, maxNewTokens: 0 }), /maxNewTokens 0/);
  const live = gpu.pool.live;
  const stop = new AbortController();
  stop.abort(new DOMException("stopped by the page", "AbortError"));
  await assert.rejects(() => steer(model, dict, { ...base, signal: stop.signal }), /stopped by the page/);
  assert.equal(gpu.pool.live, live, "an aborted run frees its tensors");
});

Deno.test("steer bundles for a page: no Deno or node: code reaches the browser bundle", async () => {
  const out = await Deno.makeTempFile({ suffix: ".js" });
  try {
    const entry = new URL("./steer.ts", import.meta.url).pathname;
    const r = await new Deno.Command(Deno.execPath(), { args: ["bundle", "--platform", "browser", "-o", out, entry] })
      .output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    const js = await Deno.readTextFile(out);
    assert.match(js, /var SteeringHook = class/);
    assert.match(js, /export {[^}]*\bsteer\b/);
    assert.doesNotMatch(js, /from "node:|\bDeno\./);
  } finally {
    await Deno.remove(out);
  }
});
