import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { saeOperandMode } from "@saelab/kernels";
import { initWeights, ReferenceTrainer, type SaeSpec, type StepLog, SweepTrainer } from "./mod.ts";
import { Rng } from "./_random.ts";

const gpu = await createGpu();

function batches(count: number, rows: number, d: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: rows * d }, () => rng.normal()));
}

const d = 8;
const specs: SaeSpec[] = [
  { kind: "untied", dIn: d, dDict: 16, l1: 1e-3 },
  { kind: "untied", dIn: d, dDict: 16, l1: 3e-2 },
  { kind: "untied", dIn: d, dDict: 32, l1: 1e-2 },
  { kind: "tied", dIn: d, dDict: 16, l1: 1e-2 },
  { kind: "topk", dIn: d, dDict: 24, l1: 0, k: 3 },
];

for (const operands of ["texture", "storage"] as const) {
  const named = operands === "texture" ? "" : " with storage operands";
  Deno.test(`the GPU sweep trainer matches the float64 reference step for step${named}`, async () => {
    const data = batches(6, 12, d, 21);
    const logs: StepLog[] = [];
    const trainer = new SweepTrainer(gpu, specs, {
      batchSize: 12,
      seed: 5,
      logEvery: 2,
      onLog: (l) => logs.push(l),
      operands,
    });
    assert.equal(trainer.operands, operands);
    const refs = specs.map((s, i) => new ReferenceTrainer(initWeights(s, { seed: 5 + i })));
    const refLosses: number[][] = [], refMse: number[][] = [];
    for (const x of data) {
      trainer.step(x);
      const losses = refs.map((r) => r.trainStep(x));
      refLosses.push(losses.map((l) => l.loss));
      refMse.push(losses.map((l) => l.mse));
    }
    await trainer.settle();
    const got = await trainer.weights();
    specs.forEach((_, i) => {
      const want = refs[i].toWeights();
      const tol = { atol: 2e-6, rtol: 1e-4 };
      assertClose(got[i].encoder, want.encoder, tol, `${trainer.names[i]} encoder`);
      assertClose(got[i].encoderBias, want.encoderBias, tol, `${trainer.names[i]} encoder bias`);
      if (want.decoder) assertClose(got[i].decoder!, want.decoder, tol, `${trainer.names[i]} decoder`);
      else assert.equal(got[i].decoder, null);
    });
    assert.deepEqual(logs.map((l) => l.step), [2, 4, 6]);
    for (const log of logs) {
      const want = refLosses[log.step - 1];
      assertClose(log.members.map((m) => m.loss), want, { atol: 1e-6, rtol: 1e-5 }, `losses at step ${log.step}`);
      const x = data[log.step - 1];
      let variance = 0;
      for (let i = 0; i < d; i++) {
        let mean = 0;
        for (let b = 0; b < 12; b++) mean += x[b * d + i] / 12;
        for (let b = 0; b < 12; b++) variance += (x[b * d + i] - mean) ** 2;
      }
      const wantFvu = refMse[log.step - 1].map((mse) => (mse * 12 * d) / variance);
      assertClose(log.members.map((m) => m.fvu), wantFvu, { atol: 1e-6, rtol: 1e-5 }, `FVU at step ${log.step}`);
    }
    trainer.dispose();
  });
}

Deno.test("storage and texture operands train to the same weights, and auto picks storage off software adapters", async () => {
  const data = batches(4, 8, d, 9);
  const run = async (operands?: "texture" | "storage") => {
    const t = new SweepTrainer(gpu, specs, { batchSize: 8, seed: 3, logEvery: 0, operands });
    for (const x of data) t.step(x);
    const w = await t.weights();
    const mode = t.operands;
    t.dispose();
    return { w, mode };
  };
  const texture = await run("texture");
  assert.equal(saeOperandMode(gpu), gpu.isSoftware ? "texture" : "storage");
  const software = gpu.isSoftware;
  Object.defineProperty(gpu, "isSoftware", { value: false, configurable: true, writable: true });
  let auto;
  try {
    auto = await run();
  } finally {
    Object.defineProperty(gpu, "isSoftware", { value: software, configurable: true, writable: true });
  }
  assert.equal(auto.mode, "storage");
  Object.defineProperty(gpu, "isSoftware", { value: true, configurable: true, writable: true });
  try {
    assert.equal((await run()).mode, "texture");
  } finally {
    Object.defineProperty(gpu, "isSoftware", { value: software, configurable: true, writable: true });
  }
  specs.forEach((_, i) => {
    const tol = { atol: 1e-6, rtol: 1e-5 };
    assertClose(auto.w[i].encoder, texture.w[i].encoder, tol, `member ${i} encoder`);
    assertClose(auto.w[i].encoderBias, texture.w[i].encoderBias, tol, `member ${i} encoder bias`);
    if (texture.w[i].decoder) assertClose(auto.w[i].decoder!, texture.w[i].decoder!, tol, `member ${i} decoder`);
  });
  assert.throws(() => new SweepTrainer(gpu, specs, { batchSize: 8, operands: "shared" as "texture" }), /unknown mode/);
});

Deno.test("members of one size are split into groups whose packed buffers stay bindable", async () => {
  const same: SaeSpec[] = [1e-3, 3e-3, 1e-2].map((l1) => ({ kind: "untied", dIn: d, dDict: 16, l1 }));
  const data = batches(3, 8, d, 5);
  const whole = new SweepTrainer(gpu, same, { batchSize: 8, seed: 2, logEvery: 0 });
  for (const x of data) whole.step(x);
  const want = await whole.weights();
  whole.dispose();
  const perMember = ((d + 4) * 16 + 16 * d) * 4;
  Object.defineProperty(gpu, "maxTensorBytes", { value: 2 * perMember, configurable: true });
  try {
    const split = new SweepTrainer(gpu, same, { batchSize: 8, seed: 2, logEvery: 0 });
    assert.deepEqual(split.groups.map((g) => g.members), [[0, 1], [2]]);
    for (const x of data) split.step(x);
    const got = await split.weights();
    same.forEach((_, i) => assert.deepEqual(got[i], want[i], `member ${i}`));
    split.dispose();
    Object.defineProperty(gpu, "maxTensorBytes", { value: perMember / 2, configurable: true });
    assert.throws(
      () => new SweepTrainer(gpu, same, { batchSize: 8 }),
      /more than the device's largest bindable buffer/,
    );
  } finally {
    delete (gpu as { maxTensorBytes?: number }).maxTensorBytes;
  }
});

Deno.test("with storage operands, groups are split by the largest bindable buffer of a member's operands", async () => {
  const same: SaeSpec[] = [1e-3, 3e-3, 1e-2].map((l1) => ({ kind: "untied", dIn: d, dDict: 16, l1 }));
  const batch = 32; // the codes [batch, 16] outgrow the parameters (d + 4)·16 + 16·d
  const data = batches(2, batch, d, 6);
  const options = { batchSize: batch, seed: 2, logEvery: 0, operands: "storage" as const };
  const whole = new SweepTrainer(gpu, same, options);
  for (const x of data) whole.step(x);
  const want = await whole.weights();
  whole.dispose();
  const perMember = batch * 16 * 4;
  Object.defineProperty(gpu, "maxTensorBytes", { value: 2 * perMember, configurable: true });
  try {
    const split = new SweepTrainer(gpu, same, options);
    assert.deepEqual(split.groups.map((g) => g.members), [[0, 1], [2]]);
    for (const x of data) split.step(x);
    const got = await split.weights();
    same.forEach((_, i) => assert.deepEqual(got[i], want[i], `member ${i}`));
    split.dispose();
    Object.defineProperty(gpu, "maxTensorBytes", { value: perMember - 4, configurable: true });
    assert.throws(
      () => new SweepTrainer(gpu, same, options),
      /its parameters or operands need 2048 bytes, more than the device's largest bindable buffer/,
    );
  } finally {
    delete (gpu as { maxTensorBytes?: number }).maxTensorBytes;
  }
});

Deno.test("the sweep trainer rejects mixed widths and bad batches", () => {
  assert.throws(
    () => new SweepTrainer(gpu, [specs[0], { ...specs[0], dIn: 12 }], { batchSize: 8 }),
    /same dIn/,
  );
  const t = new SweepTrainer(gpu, [specs[0]], { batchSize: 8, logEvery: 0 });
  assert.throws(() => t.step(new Float32Array(6 * d)), /multiple of 4 rows/);
  assert.throws(() => t.step(new Float32Array(12 * d)), /at most 8/);
  t.dispose();
});

globalThis.addEventListener("unload", () => gpu.destroy());
