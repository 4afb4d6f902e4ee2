import assert from "node:assert/strict";
import { createGpu } from "@saelab/gpu";
import { SweepTrainer } from "../mod.ts";
import { resolveSpec } from "../spec.ts";
import type { StepLog } from "../sweep_log.ts";
import { topk } from "./topk.ts";

Deno.test("topk: keeps the k largest pre-activations (ties to the lower index), then ReLU; k in cfg", () => {
  const spec = resolveSpec({ kind: "topk", dIn: 2, dDict: 5, l1: 0, k: 2 });
  const codes = new Float64Array(5).fill(9);
  topk.activate(new Float64Array([0.5, 2, 0.5, -1, 0.1]), codes, spec);
  assert.deepEqual([...codes], [0.5, 2, 0, 0, 0]);
  topk.activate(new Float64Array([-1, -2, -3, -4, -5]), codes, spec);
  assert.deepEqual([...codes], [0, 0, 0, 0, 0], "negative pre-activations give no codes");
  assert.deepEqual(topk.saelens.cfg(spec), {
    architecture: "topk",
    activation_fn_str: "topk",
    activation_fn_kwargs: { k: 2 },
  });
  assert.deepEqual(topk.saelens.spec({ activation_fn_kwargs: { k: 7 } }), { k: 7 });
  assert.equal(topk.nameTail(spec), "k2");
  assert.throws(
    () => resolveSpec({ kind: "topk", dIn: 2, dDict: 5, l1: 0, k: 6 }),
    /k 6 is not a whole number in 1\.\.5/,
  );
  assert.equal(topk.gpu.epilogue, "encodeRaw");
});

for (const operands of ["texture", "storage"] as const) {
  Deno.test(`topk: the GPU trainer (${operands} operands) keeps k codes per row at the paper's shape`, async () => {
    const gpu = await createGpu();
    const dIn = 512, dDict = 2048, k = 82, rows = 64;
    let state = 3;
    const x = Float32Array.from({ length: rows * dIn }, () => (state = (state * 69069 + 1) >>> 0) / 2 ** 31 - 1);
    const l0: number[] = [];
    const spec = { kind: "topk" as const, dIn, dDict, l1: 0, k };
    const trainer = new SweepTrainer(gpu, [spec], {
      batchSize: rows,
      logEvery: 1,
      operands,
      onLog: (log: StepLog) => l0.push(log.members[0].l0),
    });
    trainer.step(x);
    trainer.step(x);
    await trainer.settle();
    trainer.dispose();
    gpu.destroy();
    assert.deepEqual(
      l0,
      [k, k],
      "mean codes per row of each step (rows have far more than k positive pre-activations)",
    );
  });
}
