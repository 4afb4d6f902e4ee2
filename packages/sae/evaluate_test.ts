import assert from "node:assert/strict";
import { evaluateDictionary } from "@saelab/dictionary";
import { assertClose, createGpu } from "@saelab/gpu";
import {
  dictionaryMmcs,
  evaluateSweep,
  referenceForward,
  saeDictionary,
  type SaeSpec,
  toReferenceParams,
} from "./mod.ts";
import { Rng } from "./_random.ts";
import { totalVariance, trainedSweep } from "./_test_support.ts";

const gpu = await createGpu();

Deno.test("held-out evaluation matches the reference forward pass", async () => {
  const d = 8;
  const specs: SaeSpec[] = [
    { kind: "untied", dIn: d, dDict: 16, l1: 1e-2 },
    { kind: "untied", dIn: d, dDict: 32, l1: 1e-2 },
    { kind: "tied", dIn: d, dDict: 16, l1: 3e-2 },
    { kind: "topk", dIn: d, dDict: 16, l1: 0, k: 2 },
  ];
  const rng = new Rng(3);
  const trainer = trainedSweep(gpu, { specs, rng });
  const held = [0, 1].map(() => Float32Array.from({ length: 12 * d }, () => rng.normal() + 0.5));
  const metrics = await evaluateSweep(trainer, held);
  const weights = await trainer.weights();
  const all = new Float32Array([...held[0], ...held[1]]);
  const variance = totalVariance(all, d);
  specs.forEach((spec, i) => {
    const f = referenceForward(spec, toReferenceParams(weights[i]), all);
    let l0 = 0;
    const n = spec.dDict, fired = new Array(n).fill(false);
    f.codes.forEach((c, e) => {
      if (c > 0) {
        l0++;
        fired[e % n] = true;
      }
    });
    const m = metrics[i];
    assert.equal(m.rows, 24);
    assertClose([m.mse, m.l1, m.loss, m.fvu], [f.mse, f.l1, f.loss, (f.mse * 24 * d) / variance], {
      atol: 1e-6,
      rtol: 1e-4,
    }, m.name);
    assert.equal(m.l0, l0 / 24, `${m.name} L0`);
    assert.equal(m.deadFraction, fired.filter((x) => !x).length / n, `${m.name} dead fraction`);
  });
  assert.equal(metrics[0].doubleName, metrics[1].name);
  assertClose([metrics[0].mmcsToDouble!], [dictionaryMmcs(weights[0], weights[1])], { atol: 1e-9, rtol: 0 });
  assert.equal(metrics[1].mmcsToDouble, null);
  await assert.rejects(() => evaluateSweep(trainer, []), /no held-out rows/);
  // the sweep's fast path agrees with the one evaluator of any dictionary
  for (const [i, w] of weights.entries()) {
    using dict = saeDictionary(w).bind(gpu);
    const ev = await evaluateDictionary(dict, { batches: held });
    const m = metrics[i];
    assertClose([ev.mse!, ev.fvu, ev.l0], [m.mse, m.fvu, m.l0], { atol: 1e-6, rtol: 1e-4 }, `${m.name} evaluators`);
    assert.equal(ev.deadFraction, m.deadFraction, `${m.name} dead fraction of both evaluators`);
  }
  trainer.dispose();
});

globalThis.addEventListener("unload", () => gpu.destroy());
