import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { createMatrix, type OperandMode } from "./sae_operands.ts";
import { MAX_NESTED_LEVELS, nestedExpand, nestedFold } from "./sae_nested.ts";
import { nestedExpandRef, nestedFoldRef } from "./sae_nested_ref.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());
const EXACT = { atol: 0, rtol: 0 };

for (const mode of ["texture", "storage"] as OperandMode[]) {
  Deno.test(`sae_nested_expand lays the levels side by side, rows past a level's limit zeroed (${mode})`, async () => {
    const Z = 2, rows = 12, d = 8, limits = [12, 3, 7, 0];
    const src = randomFloats(Z * rows * d, 11);
    const a = createMatrix(gpu, mode, { shape: [Z, rows, d], label: "test.src" });
    const b = createMatrix(gpu, mode, { shape: [Z, rows, limits.length * d], label: "test.dst" });
    for (let z = 0; z < Z; z++) a.write(gpu, src.subarray(z * rows * d, (z + 1) * rows * d), z);
    nestedExpand(gpu, a, { dst: b, rows, d, limits, layers: Z });
    const want = nestedExpandRef(src, { rows, d, limits });
    for (let z = 0; z < Z; z++) {
      const size = rows * limits.length * d;
      assertClose(await b.read(gpu, z), want.subarray(z * size, (z + 1) * size), EXACT, `layer ${z}`);
    }
    assert.ok(want.some((v) => v === 0) && want.some((v) => v !== 0), "the reference zeroes some rows only");
    a.destroy();
    b.destroy();
  });
}

Deno.test("sae_nested_fold sums a row's blocks over the levels that hold it", async () => {
  const Z = 3, rows = 16, d = 12, limits = [16, 5, 9];
  const src = randomFloats(Z * rows * limits.length * d, 12);
  const s = gpu.upload(src, [src.length]);
  const dst = gpu.zeros([Z * rows * d], "f32");
  nestedFold(gpu, s, { dst, rows, d, limits, layers: Z });
  assertClose(await dst.read(), nestedFoldRef(src, { rows, d, limits }), { atol: 1e-6, rtol: 1e-6 });
  s.dispose();
  dst.dispose();
});

Deno.test("the nested kernels refuse more levels than they hold and widths not a multiple of 4", () => {
  const s = gpu.zeros([64], "f32"), t = gpu.zeros([64], "f32");
  const many = Array.from({ length: MAX_NESTED_LEVELS + 1 }, () => 1);
  assert.throws(() => nestedFold(gpu, s, { dst: t, rows: 1, d: 4, limits: many, layers: 1 }), /levels \(9\) 1\.\.8/);
  assert.throws(() => nestedFold(gpu, s, { dst: t, rows: 1, d: 6, limits: [1], layers: 1 }), /multiple of 4/);
  s.dispose();
  t.dispose();
});
