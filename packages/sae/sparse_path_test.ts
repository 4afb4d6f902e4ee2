import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { initWeights, type SaeSpec, type SaeWeights, SweepTrainer } from "./mod.ts";
import { Rng } from "./_random.ts";
import { assertFollows, normalBatches, stepInLockstep } from "./_test_support.ts";
import { ReferenceTrainer } from "./reference_train.ts";

const gpu = await createGpu();
addEventListener("unload", () => gpu.destroy());

const d = 16, n = 64, rows = 64, lr = 3e-3;
const batches = normalBatches(new Rng(5), { count: 4, rows, d });

/** Weights whose codes fire on about `fire` of the rows of the first batch: each encoder bias at minus that quantile. */
function sparseWeights(spec: SaeSpec, seed: number, fire = 0.04): SaeWeights {
  const w = initWeights(spec, { seed });
  const x = batches[0], pre = new Float64Array(rows);
  for (let j = 0; j < n; j++) {
    const row = w.encoder.subarray(j * d, (j + 1) * d);
    const scale = spec.kind === "tied" ? 1 / Math.hypot(...row) : 1; // tied encodes with the unit rows of M
    for (let b = 0; b < rows; b++) {
      let acc = 0;
      for (let i = 0; i < d; i++) acc += row[i] * x[b * d + i];
      pre[b] = acc * scale;
    }
    pre.sort();
    const q = Math.floor((1 - fire) * (rows - 1));
    w.encoderBias[j] = -(pre[q] + pre[q + 1]) / 2; // midway: no row's code sits at the ReLU's kink
  }
  return w;
}

const SPECS: SaeSpec[] = [
  { kind: "untied", dIn: d, dDict: n, l1: 1e-2 },
  { kind: "tied", dIn: d, dDict: n, l1: 1e-2 },
  { kind: "untied", dIn: d, dDict: n, l1: 1e-2, decoderBias: true },
  { kind: "untied", dIn: d, dDict: n, l1: 3e-2, decoderBias: true, l1Penalty: "decoder-norm" },
  { kind: "topk", dIn: d, dDict: n, l1: 0, k: 3 },
  { kind: "batchtopk", dIn: d, dDict: n, l1: 0, k: 3 },
  { kind: "jumprelu", dIn: d, dDict: n, l1: 1e-3 },
];

/** Trains one member on `batches` next to its reference; returns the weights and the members' non-zero codes. */
async function train(spec: SaeSpec, options: { operands: "texture" | "storage"; sparseLimit?: number }) {
  const weights = sparseWeights(spec, 3);
  const trainer = new SweepTrainer(gpu, [spec], {
    batchSize: rows,
    weights: [weights],
    logEvery: 0,
    adam: { lr },
    operands: options.operands,
    sparseLimit: options.sparseLimit,
  });
  try {
    const refs = [new ReferenceTrainer(weights, { lr })];
    const { got } = await stepInLockstep(trainer, { refs, batches });
    const codes = trainer.groups[0].group.sparseCodes;
    const totals = codes ? [...await codes.totals.read()] : null;
    return { got, refs, totals, limit: codes?.limit ?? 0 };
  } finally {
    trainer.dispose();
  }
}

const KEYS = { keys: ["encoder", "encoderBias"] as const, ifPresent: ["decoder", "decoderBias", "threshold"] as const };

for (const operands of ["texture", "storage"] as const) {
  Deno.test(`sparse path (${operands}): every kind on the shared path trains over its firing lists like the float64 reference`, async () => {
    for (const spec of SPECS) {
      const { got, refs, totals, limit } = await train(spec, { operands });
      const name = `${spec.kind}${spec.decoderBias ? " + b_dec" : ""}${spec.l1Penalty ? ` ${spec.l1Penalty}` : ""}`;
      assert.ok(totals, `${name}: has firing lists`);
      assert.ok(totals[0] > 0 && totals[0] <= limit, `${name}: ${totals[0]} codes, the last step went sparse`);
      assertFollows(got, { refs, keys: [...KEYS.keys], ifPresent: [...KEYS.ifPresent], member: () => name });
    }
  });
}

Deno.test("sparse path: the sparse and the dense path train the same weights", async () => {
  for (const spec of SPECS.slice(0, 5)) {
    const sparse = await train(spec, { operands: "texture" });
    const dense = await train(spec, { operands: "texture", sparseLimit: 0 });
    assert.equal(dense.totals, null, "sparseLimit 0: no firing lists");
    for (const key of ["encoder", "encoderBias", "decoder", "decoderBias"] as const) {
      const a = sparse.got[0][key], b = dense.got[0][key];
      if (!a || !b) continue;
      // the same fma's in the same order: equal but for the compiler's freedom
      assertClose(a as Float32Array, b as Float32Array, { atol: 1e-7, rtol: 1e-6 }, `${spec.kind} ${key}`);
    }
  }
});

Deno.test("sparse path: codes past the limit fall back to the dense path and train as the reference", async () => {
  // 4% of the codes fire, over a limit of 1%: the lists would overflow, the dense kernels run instead
  for (const spec of [SPECS[0], SPECS[4]]) {
    const { got, refs, totals, limit } = await train(spec, { operands: "texture", sparseLimit: 0.01 });
    assert.ok(totals && totals[0] > limit, `${spec.kind}: ${totals?.[0]} codes over the limit ${limit}`);
    assertFollows(got, { refs, keys: [...KEYS.keys], ifPresent: [...KEYS.ifPresent], member: () => spec.kind });
  }
});
