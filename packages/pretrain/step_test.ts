import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { parseConfig, referenceForward, weightSpecs } from "@saelab/neox";
import { MICRO_NEOX } from "@saelab/neox/testing";
import { disposeParams, initialWeights, uploadParams } from "./params.ts";
import { trainPass } from "./step.ts";
import { learningRate, optimizerStep } from "./optimizer.ts";

const gpu = await createGpu();

const config = parseConfig({ ...MICRO_NEOX, vocab_size: 24, rotary_pct: 0.5 });
const B = 2, T = 5;
const IDS = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 24);

/** Mean next-token loss of the float64 reference model. */
function referenceLoss(weights: Record<string, ArrayLike<number>>): number {
  const rows = [0, 1].map((b) => [...IDS.subarray(b * T, (b + 1) * T)]);
  const logits = referenceForward(config, (n) => weights[n], rows).logits!;
  const V = config.vocabSize;
  let total = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T - 1; t++) {
      const o = (b * T + t) * V;
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, logits[o + v]);
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(logits[o + v] - max);
      total += max + Math.log(s) - logits[o + IDS[b * T + t + 1]];
    }
  }
  return total / (B * (T - 1));
}

Deno.test("trainPass gives the loss of the float64 reference and gradients that match its finite differences", async () => {
  const weights = initialWeights(config, 3);
  // non-trivial LayerNorm gains and biases, so their gradients are tested too
  for (const [name, w] of Object.entries(weights)) {
    if (w.length === config.hiddenSize || name.endsWith(".bias")) {
      w.forEach((_, i) => (w[i] += 0.1 * Math.sin(i + name.length)));
    }
  }
  const params = uploadParams(gpu, config, weights);
  try {
    using losses = trainPass(gpu, config, params, IDS, { batch: B, seq: T });
    const mean = (await losses.read()).reduce((a, b) => a + b, 0) / (B * (T - 1));
    const w64: Record<string, Float64Array> = {};
    for (const [n, w] of Object.entries(weights)) w64[n] = Float64Array.from(w);
    assertClose([mean], [referenceLoss(w64)], { atol: 1e-5, rtol: 1e-5 }, "loss");
    for (const { name } of weightSpecs(config)) {
      const grad = await params.get(name)!.grad.read();
      const w = w64[name];
      const picks = [0, 1, Math.floor(w.length / 2), w.length - 1].filter((i, k, a) => a.indexOf(i) === k);
      const fd = picks.map((i) => {
        const keep = w[i], h = 1e-5;
        w[i] = keep + h;
        const up = referenceLoss(w64);
        w[i] = keep - h;
        const down = referenceLoss(w64);
        w[i] = keep;
        return (up - down) / (2 * h);
      });
      assertClose(picks.map((i) => grad[i]), fd, { atol: 2e-5, rtol: 2e-3 }, `gradient of ${name}`);
    }
  } finally {
    disposeParams(params);
  }
});

Deno.test("a few AdamW steps on one small batch lower its loss", async () => {
  const params = uploadParams(gpu, config, initialWeights(config, 5));
  const schedule = { lr: 1e-2, warmup: 2, total: 12 };
  const mean = async (t: { read(): Promise<Float32Array>; dispose(): void }) => {
    const v = (await t.read()).reduce((a, b) => a + b, 0) / (B * (T - 1));
    t.dispose();
    return v;
  };
  try {
    const first = await mean(trainPass(gpu, config, params, IDS, { batch: B, seq: T, backward: false }));
    for (let step = 1; step <= schedule.total; step++) {
      trainPass(gpu, config, params, IDS, { batch: B, seq: T }).dispose();
      optimizerStep(gpu, params, { lr: learningRate(step, schedule), step }).dispose();
    }
    const last = await mean(trainPass(gpu, config, params, IDS, { batch: B, seq: T, backward: false }));
    assert.ok(last < first - 0.5, `loss went from ${first} to ${last}`);
  } finally {
    disposeParams(params);
  }
});

Deno.test("trainPass refuses the sequential residual, whose backward pass it does not compute", () => {
  const params = uploadParams(gpu, config, initialWeights(config, 5));
  try {
    assert.throws(() => trainPass(gpu, { ...config, parallelResidual: false }, params, IDS, { batch: B, seq: T }), {
      name: "RangeError",
      message: /Cannot pretrain this GPT-NeoX config: use_parallel_residual must be true/,
    });
  } finally {
    disposeParams(params);
  }
});

globalThis.addEventListener("unload", () => gpu.destroy());
