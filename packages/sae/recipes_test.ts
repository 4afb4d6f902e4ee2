import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { initWeights, l1Coefficient, ReferenceTrainer, type SaeSpec, type StepLog, SweepTrainer } from "./mod.ts";
import { Rng } from "./_random.ts";

const gpu = await createGpu();
addEventListener("unload", () => gpu.destroy());

const d = 8;
const tol = { atol: 2e-6, rtol: 1e-4 };

function batches(count: number, rows: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: rows * d }, () => rng.normal()));
}

for (const operands of ["texture", "storage"] as const) {
  Deno.test(`L1 warm-up: the GPU sweep matches the float64 reference ramping α from 0 (${operands} operands)`, async () => {
    const specs: SaeSpec[] = [
      { kind: "untied", dIn: d, dDict: 16, l1: 3e-2 },
      { kind: "tied", dIn: d, dDict: 16, l1: 3e-2 },
      { kind: "untied", dIn: d, dDict: 32, l1: 1e-1 },
    ];
    const data = batches(7, 12, 31);
    const warm = 4;
    const logs: StepLog[] = [];
    const trainer = new SweepTrainer(gpu, specs, {
      batchSize: 12,
      seed: 2,
      l1WarmupSteps: warm,
      logEvery: 1,
      onLog: (l) => logs.push(l),
      operands,
    });
    const refs = specs.map((s, i) => new ReferenceTrainer(initWeights(s, { seed: 2 + i }), { l1WarmupSteps: warm }));
    const plain = specs.map((s, i) => new ReferenceTrainer(initWeights(s, { seed: 2 + i })));
    const want: number[][] = [];
    for (const x of data) {
      trainer.step(x);
      want.push(refs.map((r) => r.trainStep(x).loss));
      for (const r of plain) r.trainStep(x);
    }
    await trainer.settle();
    const got = await trainer.weights();
    specs.forEach((_, i) => {
      const w = refs[i].toWeights();
      assertClose(got[i].encoder, w.encoder, tol, `${trainer.names[i]} encoder`);
      assertClose(got[i].encoderBias, w.encoderBias, tol, `${trainer.names[i]} encoder bias`);
      if (w.decoder) assertClose(got[i].decoder!, w.decoder, tol, `${trainer.names[i]} decoder`);
      // the warm-up changed the training: without it the encoder bias ends elsewhere
      const p = plain[i].toWeights().encoderBias;
      assert.ok(w.encoderBias.some((v, j) => Math.abs(v - p[j]) > 1e-4), `${trainer.names[i]}: warm-up has an effect`);
    });
    assert.equal(logs.length, data.length);
    for (const log of logs) {
      assertClose(log.members.map((m) => m.loss), want[log.step - 1], { atol: 1e-6, rtol: 1e-5 }, `loss ${log.step}`);
    }
    // step 1 trains at α 0: its loss is the MSE alone
    logs[0].members.forEach((m) => assertClose([m.loss], [m.mse], { atol: 1e-9, rtol: 1e-7 }, "step 1"));
    assert.equal(l1Coefficient(warm + 1, { l1: 3e-2, warmupSteps: warm }), 3e-2);
    trainer.dispose();
  });
}

Deno.test("L1 warm-up lengths must be whole numbers ≥ 0", () => {
  const spec: SaeSpec = { kind: "untied", dIn: d, dDict: 16, l1: 1e-3 };
  for (const bad of [-1, 1.5, Number.NaN]) {
    assert.throws(() => new SweepTrainer(gpu, [spec], { batchSize: 4, l1WarmupSteps: bad }), /l1WarmupSteps/);
  }
});
