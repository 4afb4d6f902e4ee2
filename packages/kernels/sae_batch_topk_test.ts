import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { createMatrix, type OperandMode } from "./sae_operands.ts";
import { batchTopkSelect } from "./sae_batch_topk.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();
const EXACT = { atol: 0, rtol: 0 };

/** Float64 BatchTopK by sorting: codes of one member's batch, and its smallest kept positive code. */
function batchTopkRef(p: ArrayLike<number>, kept: number): { codes: Float64Array; least: number } {
  const relu = Float64Array.from(p, (v) => Math.max(v, 0));
  const cut = Float64Array.from(relu).sort()[relu.length - kept];
  const codes = relu.map((v) => (v >= cut ? v : 0));
  const least = codes.reduce((m, v) => (v > 0 && v < m ? v : m), Infinity);
  return { codes, least };
}

for (const mode of ["texture", "storage"] as OperandMode[]) {
  const named = ` (${mode} operands)`;

  Deno.test(`sae_batch_topk keeps the k·rows largest codes of each member's batch and moves θ${named}`, async () => {
    const rows = 8, n = 12, members = 3, k = 3, lr = 0.25;
    const p = createMatrix(gpu, mode, { shape: [members, rows, n], label: "test.p" });
    const c = createMatrix(gpu, mode, { shape: [members, rows, n], label: "test.c" });
    const ct = createMatrix(gpu, mode, { shape: [members, n, rows], label: "test.ct" });
    const hp = Array.from({ length: members }, (_, z) => randomFloats(rows * n, 40 + z, -1, 1));
    hp[2] = hp[2].map((v) => -Math.abs(v) - 0.1); // member 2: nothing positive, θ stays
    hp[1][5] = hp[1][17] = 0.75; // an exact tie, kept together when it is the cut
    hp.forEach((x, z) => p.write(gpu, x, z));
    using fired = gpu.zeros([members * n], "u32", "test.fired");
    const theta0 = [0.5, 0.1, 0.3];
    using theta = gpu.upload(Float32Array.from(theta0), [members], "test.theta");
    batchTopkSelect(gpu, { p, state: theta }, { c, ct, fired, rows, n, k, members, step: 7, lr });
    const gotTheta = await theta.read(), gotFired = await fired.read();
    for (let z = 0; z < members; z++) {
      const want = batchTopkRef(hp[z], k * rows);
      const gotC = await c.read(gpu, z), gotCt = await ct.read(gpu, z);
      assertClose(gotC, want.codes, EXACT, `codes of member ${z}`);
      const wantCt = new Float64Array(n * rows);
      for (let b = 0; b < rows; b++) for (let j = 0; j < n; j++) wantCt[j * rows + b] = want.codes[b * n + j];
      assertClose(gotCt, wantCt, EXACT, `transposed codes of member ${z}`);
      for (let j = 0; j < n; j++) {
        let any = false;
        for (let b = 0; b < rows; b++) any ||= want.codes[b * n + j] > 0;
        assert.equal(gotFired[z * n + j], any ? 7 : 0, `fired mark of feature ${j}, member ${z}`);
      }
      const wantTheta = Number.isFinite(want.least) ? (1 - lr) * theta0[z] + lr * want.least : theta0[z];
      assertClose([gotTheta[z]], [wantTheta], { atol: 1e-7, rtol: 1e-6 }, `θ of member ${z}`);
    }
    const positives = hp[0].filter((v) => v > 0).length;
    assert.ok(positives > k * rows, "member 0 has more positive pre-activations than it keeps");
    const codes0 = batchTopkRef(hp[0], k * rows).codes;
    const rowCounts = Array.from(
      { length: rows },
      (_, b) => codes0.slice(b * n, (b + 1) * n).filter((v) => v > 0).length,
    );
    assert.equal(rowCounts.reduce((a, b) => a + b, 0), k * rows, "k·rows codes in all");
    assert.ok(new Set(rowCounts).size > 1, "rows keep different numbers of codes");
    for (const t of [p, c, ct]) t.destroy();
  });

  Deno.test(`sae_batch_topk keeps exactly k·rows codes of large batches, ties included${named}`, async () => {
    // batches of 4096 × 2048 and more are where one workgroup per member ran out of llvmpipe's 65535
    // loop iterations per invocation and left the last blocks unwritten
    const cases = [[4096, 2048, 82], [36, 2052, 1], [36, 2052, 256], [64, 8192, 328]];
    for (const [rows, n, k] of cases) {
      const hp = randomFloats(rows * n, rows + n + k, -1, 1);
      const kth = Float32Array.from(hp).sort()[rows * n - k * rows];
      // the cut three more times, in place of values below it near the batch's end: all kept
      for (let e = rows * n - 1, ties = 0; ties < 3; e--) if (hp[e] < kth) hp[e] = kth, ties++;
      const p = createMatrix(gpu, mode, { shape: [1, rows, n], label: "test.p" });
      p.write(gpu, hp, 0);
      const c = createMatrix(gpu, mode, { shape: [1, rows, n], label: "test.c" });
      const ct = createMatrix(gpu, mode, { shape: [1, n, rows], label: "test.ct" });
      c.write(gpu, new Float32Array(rows * n).fill(9), 0); // stale codes must all be overwritten
      using fired = gpu.zeros([n], "u32", "test.fired");
      using theta = gpu.upload(Float32Array.from([0.5]), [1], "test.theta");
      batchTopkSelect(gpu, { p, state: theta }, { c, ct, fired, rows, n, k, members: 1, step: 3, lr: 0.5 });
      const want = batchTopkRef(hp, k * rows);
      const gotC = await c.read(gpu, 0), gotCt = await ct.read(gpu, 0);
      const at = `rows ${rows}, n ${n}, k ${k}`;
      assert.equal(gotC.filter((v) => v > 0).length, k * rows + 3, `codes kept, ${at}`);
      assertClose(gotC, want.codes, EXACT, `codes, ${at}`);
      const wantCt = new Float64Array(n * rows);
      for (let b = 0; b < rows; b++) for (let j = 0; j < n; j++) wantCt[j * rows + b] = want.codes[b * n + j];
      assertClose(gotCt, wantCt, EXACT, `transposed codes, ${at}`);
      const gotFired = await fired.read();
      for (let j = 0; j < n; j++) {
        let any = false;
        for (let b = 0; b < rows && !any; b++) any = want.codes[b * n + j] > 0;
        if (gotFired[j] !== (any ? 3 : 0)) assert.fail(`fired mark of feature ${j}, ${at}`);
      }
      assertClose(await theta.read(), [0.25 + 0.5 * want.least], { atol: 1e-7, rtol: 1e-6 }, `θ, ${at}`);
      for (const t of [p, c, ct]) t.destroy();
    }
  });
}

Deno.test("sae_batch_topk refuses a missing θ buffer and a k·rows outside the batch", () => {
  const p = createMatrix(gpu, "storage", { shape: [1, 4, 4], label: "test.p" });
  using fired = gpu.zeros([4], "u32");
  using theta = gpu.zeros([1]);
  const out = { c: p, ct: p, fired, rows: 4, n: 4, members: 1, step: 1 };
  assert.throws(() => batchTopkSelect(gpu, { p }, { ...out, k: 1 }), /needs the thresholds θ/);
  assert.throws(() => batchTopkSelect(gpu, { p, state: theta }, { ...out, k: 5 }), /k·rows = 20 .* 1\.\.16/);
  assert.throws(() => batchTopkSelect(gpu, { p, state: theta }, { ...out, k: 0.1 }), /k·rows = 0\.4/);
  p.destroy();
});
