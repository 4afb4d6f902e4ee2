import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { referenceForward } from "@saelab/neox";
import { cleanKl, Downstream, featurePatching, klRows, logSoftmax, mean, runTask, summarizeTask } from "./mod.ts";
import { LinearDictionary } from "@saelab/baselines";
import { plantedModel } from "./_planted.ts";
import { seeded } from "./_random.ts";

const gpu = await createGpu();
const planted = await plantedModel(gpu);
const hook = "blocks.0.hook_resid_post";

Deno.test("the planted task: logit differences and outputs match a float64 reference", async () => {
  const run = await runTask(planted.model, planted.task, { hook });
  const ref = (ids: number[][]) => {
    const out = referenceForward(planted.config, (n) => planted.weights[n], ids);
    const v = planted.config.vocabSize, t = ids[0].length;
    return ids.map((_, b) => out.logits!.subarray((b * t + t - 1) * v, (b * t + t) * v));
  };
  const clean = ref(planted.task.pairs.map((p) => p.clean));
  const cf = ref(planted.task.pairs.map((p) => p.counterfactual));
  const s = summarizeTask(run);
  assertClose([s.cleanLogitDiff!], [mean(clean.map((l) => l[5] - l[6]))], { atol: 1e-4, rtol: 1e-4 }, "clean");
  assertClose([s.counterfactualLogitDiff!], [mean(cf.map((l) => l[5] - l[6]))], { atol: 1e-4, rtol: 1e-4 }, "cf");
  assert.ok(s.cleanLogitDiff! > 3, `the model performs the task (${s.cleanLogitDiff})`);
  const want = mean(klRows(logSoftmax(clean.flatMap((r) => [...r]), 8), logSoftmax(cf.flatMap((r) => [...r]), 8), 8));
  assertClose([cleanKl(run)], [want], { atol: 1e-5, rtol: 1e-4 }, "clean KL");
});

Deno.test("patching finds the planted feature: one feature carries the task at every threshold", async () => {
  const run = await runTask(planted.model, planted.task, { hook });
  using down = await Downstream.create(planted.model, hook, { weights: planted.weights });
  const dict = planted.dicts[0];
  const curve = await featurePatching(down, run, dict, { seed: 3 });
  // u, w and z differ between the prompts (at the last position); c is constant and not a feature
  assert.equal(curve.active, 3);
  assert.equal(curve.points.length, 50);
  for (const p of curve.points) {
    assert.deepEqual(p.features, [0], `threshold ${p.threshold}: only u stays patched`);
    assert.equal(p.patched, 1);
    assert.equal(p.reverted, 2);
    // the output stays the counterfactual's: reverting w and z changes nothing downstream of u
    assert.ok(p.kl < 1e-6, `KL ${p.kl}`);
    // only u's edit remains: |δ_u| = 2 at one position of three
    assertClose([p.edit], [2 / 3], { atol: 1e-4, rtol: 1e-4 }, "edit magnitude");
  }
  // the start keeps the clean run's reconstruction error (the large c): the output is the counterfactual's
  assert.ok(curve.start.kl < 1e-6, `start KL ${curve.start.kl}`);
  assert.ok(curve.start.edit > 2 / 3, "the start edit also moves w and z");
  assert.ok(Math.abs(curve.points[0].logitDiff! - summarizeTask(run).counterfactualLogitDiff!) < 1e-3);
  // the sweep asked for few forward calls: 3 differing features, then remembered results
  assert.ok(curve.calls <= 6, `${curve.calls} calls`);
});

Deno.test("patching only the read position, and the other KL direction", async () => {
  const run = await runTask(planted.model, planted.task, { hook });
  using down = await Downstream.create(planted.model, hook);
  const curve = await featurePatching(down, run, planted.dicts[0], {
    positions: "read",
    kl: "counterfactual‖patched",
    thresholds: [1e-4, 1e-2],
  });
  assert.deepEqual(curve.points.map((p) => p.features), [[0], [0]]);
  assertClose([curve.points[1].edit], [2], { atol: 1e-4, rtol: 1e-4 }, "edit at the read position");
  assert.ok(cleanKl(run, "counterfactual‖patched") > 0.1);
  // a threshold above the clean divergence reverts everything: the patched run is the clean run, in both directions
  for (const kl of ["patched‖counterfactual", "counterfactual‖patched"] as const) {
    const all = await featurePatching(down, run, planted.dicts[0], { kl, thresholds: [10] });
    assert.equal(all.points[0].patched, 0);
    assertClose([all.points[0].kl], [cleanKl(run, kl)], { atol: 1e-5, rtol: 1e-4 }, kl);
    assertClose([all.points[0].logitDiff!], [summarizeTask(run).cleanLogitDiff!], { atol: 1e-4, rtol: 1e-4 }, "diff");
  }
});

Deno.test("the KL on the GPU gives the curve of the float64 host computation", async () => {
  // random unit directions: many features differ at the read position, and the curve passes through many counts
  const rand = seeded(11), d = planted.config.hiddenSize, f = 24;
  const rows = new Float32Array(f * d).map(() => rand() * 2 - 1);
  for (let j = 0; j < f; j++) {
    const r = rows.subarray(j * d, (j + 1) * d), norm = Math.hypot(...r);
    r.forEach((x, k) => (r[k] = x / norm));
  }
  using dict = new LinearDictionary({
    name: "random",
    kind: "sae",
    dIn: d,
    dDict: f,
    encoder: rows,
    encoderBias: new Float32Array(f),
    decoder: rows,
    decoderBias: new Float32Array(d),
  }).bind(gpu);
  const run = await runTask(planted.model, planted.task, { hook });
  using down = await Downstream.create(planted.model, hook, { weights: planted.weights });
  const thresholds = [1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1, 3];
  for (const kl of ["patched‖counterfactual", "counterfactual‖patched"] as const) {
    const gpuCurve = await featurePatching(down, run, dict, { kl, thresholds, seed: 2 });
    const host = await featurePatching(down, run, dict, { kl, thresholds, seed: 2, hostKl: true });
    assert.ok(host.active >= 8, `${host.active} features differ`);
    assert.deepEqual(gpuCurve.points.map((p) => p.threshold), host.points.map((p) => p.threshold));
    assert.deepEqual(gpuCurve.points.map((p) => p.patched), host.points.map((p) => p.patched), kl);
    assert.deepEqual(gpuCurve.points.map((p) => p.features), host.points.map((p) => p.features), kl);
    assert.ok(
      new Set(host.points.map((p) => p.patched)).size >= 3,
      `the curve moves: ${host.points.map((p) => p.patched)}`,
    );
    // f32 sums over the vocabulary against float64 (the kernel's tolerance)
    const tol = { atol: 2e-5, rtol: 1e-4 };
    assertClose(
      [gpuCurve.start.kl, ...gpuCurve.points.map((p) => p.kl)],
      [host.start.kl, ...host.points.map((p) => p.kl)],
      tol,
      kl,
    );
    assertClose(
      gpuCurve.points.map((p) => p.logitDiff!),
      host.points.map((p) => p.logitDiff!),
      tol,
      "logit difference",
    );
    assertClose(gpuCurve.points.map((p) => p.edit), host.points.map((p) => p.edit), { atol: 0, rtol: 0 }, "edit");
  }
});

Deno.test("patching rejects a dictionary of the wrong width or hook", async () => {
  const run = await runTask(planted.model, planted.task, { hook });
  using down = await Downstream.create(planted.model, "blocks.1.hook_resid_post");
  await assert.rejects(() => featurePatching(down, run, planted.dicts[0]), /downstream runs from/);
});

globalThis.addEventListener("unload", () => {
  planted.model.dispose();
  for (const d of planted.dicts) d.dispose();
});
