import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import {
  initWeights,
  l1Coefficient,
  referenceForward,
  ReferenceTrainer,
  saeDictionary,
  type SaeSpec,
  type StepLog,
  SweepTrainer,
  toReferenceParams,
  toSaeLensTensors,
} from "./mod.ts";
import { Rng } from "./_random.ts";
import { assertFollows, normalBatches, stepInLockstep } from "./_test_support.ts";

const gpu = await createGpu();
addEventListener("unload", () => gpu.destroy());

const d = 8;
const tol = { atol: 2e-6, rtol: 1e-4 };

const batches = (count: number, rows: number, seed: number) => normalBatches(new Rng(seed), { count, rows, d });

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
    const { got, losses } = await stepInLockstep(trainer, { refs, batches: data });
    for (const x of data) for (const r of plain) r.trainStep(x);
    const want = losses.map((step) => step.map((s) => s.loss));
    const member = (i: number) => trainer.names[i];
    assertFollows(got, { refs, keys: ["encoder", "encoderBias"], ifPresent: ["decoder"], tol, member });
    specs.forEach((_, i) => {
      const w = refs[i].toWeights();
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

for (const operands of ["texture", "storage"] as const) {
  Deno.test(`decoder-norm L1: the GPU sweep matches the float64 reference step for step (${operands} operands)`, async () => {
    const specs: SaeSpec[] = [
      { kind: "untied", dIn: d, dDict: 16, l1: 3e-2, l1Penalty: "decoder-norm" },
      { kind: "untied", dIn: d, dDict: 16, l1: 3e-2 },
      { kind: "untied", dIn: d, dDict: 32, l1: 1e-1, l1Penalty: "decoder-norm" },
    ];
    const data = batches(6, 12, 41);
    const logs: StepLog[] = [];
    const trainer = new SweepTrainer(gpu, specs, {
      batchSize: 12,
      seed: 4,
      logEvery: 2,
      onLog: (l) => logs.push(l),
      operands,
    });
    assert.deepEqual(trainer.names, ["untied_r2_a3.0e-2_dn", "untied_r2_a3.0e-2", "untied_r4_a1.0e-1_dn"]);
    assert.equal(trainer.groups.length, 3, "one group per penalty and size");
    const init = specs.map((s, i) => initWeights(s, { seed: 4 + i }));
    // decoder rows of norms far from 1, so that an unweighted penalty or a renormalised decoder would show
    const scaled = init.map((w) => ({
      ...w,
      decoder: w.decoder!.map((v, e) => v * (0.3 + 2 * (Math.floor(e / d) % 3))),
    }));
    trainer.groups.forEach(({ group, members }) => group.write("params", members.map((i) => scaled[i])));
    const refs = scaled.map((w) => new ReferenceTrainer(w));
    const { got, losses: want } = await stepInLockstep(trainer, { refs, batches: data });
    const member = (i: number) => trainer.names[i];
    assertFollows(got, { refs, keys: ["encoder", "encoderBias", "decoder"], tol, member });
    // the paper's member keeps unit-norm directions; the decoder-norm members' rows keep (changed) norms of their own
    const norm = (w: Float32Array, j: number) => Math.hypot(...w.subarray(j * d, (j + 1) * d));
    assert.ok(Math.abs(norm(got[0].decoder!, 2) - norm(scaled[0].decoder!, 2)) > 1e-4, "decoder-norm rows move");
    assert.deepEqual(logs.map((l) => l.step), [2, 4, 6]);
    for (const log of logs) {
      const at = want[log.step - 1];
      assertClose(
        log.members.map((m) => m.loss),
        at.map((s) => s.loss),
        { atol: 1e-6, rtol: 1e-5 },
        `loss ${log.step}`,
      );
      assertClose(log.members.map((m) => m.l1), at.map((s) => s.l1), { atol: 1e-6, rtol: 1e-5 }, `l1 ${log.step}`);
    }
    trainer.dispose();
  });
}

Deno.test("decoder-norm L1: the SAELens tensors fold ‖D_j‖ into the encoder and reconstruct as the trained SAE", () => {
  const spec: SaeSpec = { kind: "untied", dIn: d, dDict: 16, l1: 1e-2, l1Penalty: "decoder-norm", decoderBias: true };
  const w = initWeights(spec, { seed: 3 });
  const rng = new Rng(5);
  w.decoder = w.decoder!.map((v) => v * (0.2 + 3 * rng.uniform()));
  w.encoderBias = w.encoderBias.map(() => 0.1 * rng.normal());
  w.decoderBias = w.decoderBias!.map(() => 0.3 * rng.normal());
  const x = batches(1, 12, 6)[0];
  const ref = referenceForward(spec, toReferenceParams(w), x);
  const dict = saeDictionary(w);
  const t = toSaeLensTensors(w);
  for (let j = 0; j < 16; j++) {
    assertClose([Math.hypot(...t.W_dec.subarray(j * d, (j + 1) * d))], [1], tol, "unit rows");
  }
  const recon = dict.decodeHost(dict.encodeHost(x));
  assertClose(
    recon,
    Float32Array.from(ref.recon),
    { atol: 1e-5, rtol: 1e-4 },
    "the folded SAE reconstructs as the trained one",
  );
  // without the fold (the paper's reading of the same weights) the reconstruction differs
  const paper = referenceForward({ ...spec, l1Penalty: "paper" }, toReferenceParams(w), x);
  assert.ok(paper.recon.some((v, e) => Math.abs(v - ref.recon[e]) > 1e-3));
});

Deno.test("the decoder-norm penalty is refused for kinds other than untied", () => {
  for (const kind of ["tied", "topk"] as const) {
    assert.throws(
      () =>
        new SweepTrainer(gpu, [{ kind, dIn: d, dDict: 16, l1: 0, k: 2, l1Penalty: "decoder-norm" }], { batchSize: 4 }),
      /decoder-norm L1 penalty: it is defined for untied SAEs/,
    );
  }
});
