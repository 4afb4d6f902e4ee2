import assert from "node:assert/strict";
import { assertClose } from "@saelab/gpu";
import {
  initWeights,
  referenceForward,
  referenceGradients,
  type ReferenceParams,
  ReferenceTrainer,
  type SaeSpec,
  toReferenceParams,
} from "./mod.ts";
import { Rng } from "./_random.ts";

const KEYS = ["encoder", "encoderBias", "decoder", "decoderBias"] as const;

function randomBatch(rows: number, d: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: rows * d }, () => rng.normal());
}

function paramsFor(spec: SaeSpec, seed: number): ReferenceParams {
  const p = toReferenceParams(initWeights(spec, { seed }));
  const rng = new Rng(seed + 100);
  // non-zero biases and unnormalised decoder rows, so every term of the gradient is exercised
  for (let j = 0; j < p.encoderBias.length; j++) p.encoderBias[j] = 0.2 * rng.normal();
  if (p.decoder) { for (let e = 0; e < p.decoder.length; e++) p.decoder[e] *= 1 + rng.uniform(); }
  if (p.decoderBias) { for (let i = 0; i < p.decoderBias.length; i++) p.decoderBias[i] = 0.3 * rng.normal(); }
  return p;
}

const specs: SaeSpec[] = [
  { kind: "untied", dIn: 5, dDict: 7, l1: 0.05 },
  { kind: "untied", dIn: 5, dDict: 7, l1: 0.05, decoderBias: true },
  { kind: "tied", dIn: 5, dDict: 7, l1: 0.05 },
  { kind: "tied", dIn: 5, dDict: 7, l1: 0.05, decoderBias: true },
  { kind: "topk", dIn: 5, dDict: 7, l1: 0, k: 3 },
  { kind: "topk", dIn: 5, dDict: 7, l1: 0.02, k: 2, decoderBias: true },
  { kind: "untied", dIn: 5, dDict: 7, l1: 0.05, l1Penalty: "decoder-norm" },
  { kind: "untied", dIn: 5, dDict: 7, l1: 0.05, decoderBias: true, l1Penalty: "decoder-norm" },
];

for (const spec of specs) {
  Deno.test(
    `reference gradients match central finite differences (${spec.kind}, k=${spec.k ?? "-"}, bdec=${!!spec
      .decoderBias}, penalty ${spec.l1Penalty ?? "paper"})`,
    () => {
      const p = paramsFor(spec, 3);
      const x = randomBatch(6, spec.dIn, 4);
      const { grads, forward } = referenceGradients(spec, p, x);
      assert.ok(forward.codes.some((c) => c > 0), "some codes must be active");
      const h = 1e-6;
      for (const key of KEYS) {
        const param = p[key];
        if (!param) {
          assert.equal(grads[key], null);
          continue;
        }
        const numeric = new Float64Array(param.length);
        for (let e = 0; e < param.length; e++) {
          const keep = param[e];
          param[e] = keep + h;
          const up = referenceForward(spec, p, x).loss;
          param[e] = keep - h;
          const down = referenceForward(spec, p, x).loss;
          param[e] = keep;
          numeric[e] = (up - down) / (2 * h);
        }
        assertClose(grads[key]!, numeric, { atol: 1e-8, rtol: 1e-5 }, `${spec.kind} ∂${key}`);
      }
    },
  );
}

Deno.test("the loss is mean squared error over all elements plus α times the mean row L1 norm", () => {
  // one feature along e0 (decoder stored with length 2), one along e1; x = [3, -1]
  const spec: SaeSpec = { kind: "untied", dIn: 2, dDict: 2, l1: 0.5 };
  const p: ReferenceParams = {
    encoder: new Float64Array([1, 0, 0, 1]),
    encoderBias: new Float64Array([0, 0]),
    decoder: new Float64Array([2, 0, 0, 1]),
    decoderBias: null,
  };
  const f = referenceForward(spec, p, new Float64Array([3, -1, 1, 1]));
  // row 0: c = [3, 0], x̂ = [3, 0], error² = 0 + 1; row 1: c = [1, 1], x̂ = [1, 1], error 0
  assert.deepEqual([...f.codes], [3, 0, 1, 1]);
  assertClose([f.mse, f.l1, f.loss], [1 / 4, (3 + 2) / 2, 1 / 4 + 0.5 * 2.5], { atol: 1e-15, rtol: 0 });
});

Deno.test("decoder rows are normalised in the forward pass: scaling a row changes nothing", () => {
  const spec: SaeSpec = { kind: "untied", dIn: 4, dDict: 6, l1: 1e-2 };
  const p = paramsFor(spec, 7);
  const x = randomBatch(5, 4, 8);
  const before = referenceForward(spec, p, x).loss;
  for (let i = 0; i < 4; i++) p.decoder![2 * 4 + i] *= 37;
  assertClose([referenceForward(spec, p, x).loss], [before], { atol: 0, rtol: 1e-12 });
  const { grads, forward } = referenceGradients(spec, p, x);
  for (let j = 0; j < 6; j++) {
    let dot = 0;
    for (let i = 0; i < 4; i++) dot += grads.decoder![j * 4 + i] * forward.directions[j * 4 + i];
    assert.ok(Math.abs(dot) < 1e-12, `row ${j}: the decoder gradient must be orthogonal to the row`);
  }
});

Deno.test("TopK keeps at most k active codes per row", () => {
  const spec: SaeSpec = { kind: "topk", dIn: 6, dDict: 20, l1: 0, k: 4 };
  const f = referenceForward(spec, paramsFor(spec, 1), randomBatch(9, 6, 2));
  for (let b = 0; b < 9; b++) {
    const active = f.codes.subarray(b * 20, (b + 1) * 20).filter((c) => c > 0).length;
    assert.ok(active <= 4 && active >= 1, `row ${b} has ${active} active codes`);
  }
});

Deno.test("reference training lowers the loss", () => {
  const spec: SaeSpec = { kind: "untied", dIn: 8, dDict: 16, l1: 1e-3 };
  const trainer = new ReferenceTrainer(initWeights(spec, { seed: 5 }), { lr: 1e-2 });
  const x = randomBatch(32, 8, 6);
  const first = trainer.trainStep(x).loss;
  let last = first;
  for (let s = 0; s < 60; s++) last = trainer.trainStep(x).loss;
  assert.ok(last < 0.5 * first, `loss went from ${first} to ${last}`);
  assert.equal(trainer.step, 61);
});
