import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { createMatrix, type OperandMode } from "./sae_operands.ts";
import { auxkSelect, scaleRows } from "./sae_auxk.ts";
import { auxkSelectRef } from "./sae_auxk_ref.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());
const EXACT = { atol: 0, rtol: 0 };

function transpose(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c];
  return t;
}

for (const mode of ["texture", "storage"] as OperandMode[]) {
  Deno.test(`sae_auxk keeps each row's k_aux largest positive pre-activations of dead latents (${mode})`, async () => {
    const Z = 3, rows = 8, n = 24, step = 50, windowSteps = 10;
    const kAux = [4];
    const p = randomFloats(Z * rows * n, 21);
    const c = randomFloats(Z * rows * n, 22, 0, 1).map((v) => (v < 0.8 ? 0 : v));
    const fired = Uint32Array.from({ length: Z * n }, (_, e) => [0, 45, 39, 40, 12][e % 5] + (e % 7 === 0 ? 5 : 0));
    const ops = Object.fromEntries(
      ["p", "c", "a"].map((k) => [k, createMatrix(gpu, mode, { shape: [Z, rows, n], label: `test.${k}` })]),
    );
    const st = createMatrix(gpu, mode, { shape: [Z, n, rows], label: "test.st" });
    for (let z = 0; z < Z; z++) {
      ops.p.write(gpu, p.subarray(z * rows * n, (z + 1) * rows * n), z);
      ops.c.write(gpu, c.subarray(z * rows * n, (z + 1) * rows * n), z);
    }
    const firedBuf = gpu.upload(fired, [fired.length]);
    const sigma = gpu.zeros([Z], "f32");
    auxkSelect(gpu, { p: ops.p, c: ops.c, fired: firedBuf }, {
      a: ops.a,
      st,
      sigma,
      rows,
      n,
      kAux: kAux[0],
      members: Z,
      step,
      windowSteps,
    });
    const gotSigma = await sigma.read();
    for (let z = 0; z < Z; z++) {
      const want = auxkSelectRef(p.subarray(z * rows * n, (z + 1) * rows * n), {
        fired: fired.subarray(z * n, (z + 1) * n),
        n,
        kAux: kAux[0],
        step,
        windowSteps,
      });
      const dead = want.dead.reduce((a, b) => a + b, 0);
      assert.ok(dead > kAux[0] && dead < n, `member ${z}: some latents dead, some alive (${dead})`);
      assert.ok(want.codes.some((v) => v > 0), "some aux codes");
      assertClose(await ops.a.read(gpu, z), want.codes, EXACT, `A of member ${z}`);
      const sum = want.codes.map((v, e) => Math.fround(v + c[z * rows * n + e]));
      assertClose(await st.read(gpu, z), transpose(sum, rows, n), EXACT, `(A + C)ᵀ of member ${z}`);
      assertClose([gotSigma[z]], [want.sigma], EXACT, `σ of member ${z}`);
    }
    firedBuf.dispose();
    sigma.dispose();
    for (const t of [...Object.values(ops), st]) t.destroy();
  });

  Deno.test(`sae_auxk: fewer dead latents than k_aux keeps them all and scales by dead/k_aux (${mode})`, async () => {
    const rows = 4, n = 8;
    const p = Float32Array.from({ length: rows * n }, (_, e) => ((e * 7) % 11) / 10 - 0.2);
    const fired = Uint32Array.from([0, 9, 9, 0, 9, 9, 9, 0]); // latents 0, 3, 7 dead at step 9, window 2
    const P = createMatrix(gpu, mode, { shape: [1, rows, n], label: "test.p" });
    const C = createMatrix(gpu, mode, { shape: [1, rows, n], label: "test.c" });
    const A = createMatrix(gpu, mode, { shape: [1, rows, n], label: "test.a" });
    const ST = createMatrix(gpu, mode, { shape: [1, n, rows], label: "test.st" });
    P.write(gpu, p, 0);
    const f = gpu.upload(fired, [n]), sigma = gpu.zeros([1], "f32");
    auxkSelect(gpu, { p: P, c: C, fired: f }, {
      a: A,
      st: ST,
      sigma,
      rows,
      n,
      kAux: 6,
      members: 1,
      step: 9,
      windowSteps: 2,
    });
    const want = auxkSelectRef(p, { fired, n, kAux: 6, step: 9, windowSteps: 2 });
    assertClose(await A.read(gpu, 0), want.codes, EXACT, "A");
    assertClose(await sigma.read(), [0.5], EXACT, "σ = 3 dead / k_aux 6");
    assert.ok(want.codes.every((v, e) => v === 0 || [0, 3, 7].includes(e % n)), "only dead latents");
    for (const t of [P, C, A, ST]) t.destroy();
    f.dispose();
    sigma.dispose();
  });

  Deno.test(`sae_scale_rows multiplies each member's rows by its factor (${mode})`, async () => {
    const Z = 2, rows = 5, cols = 8;
    const x = randomFloats(Z * rows * cols, 4);
    const src = createMatrix(gpu, mode, { shape: [Z, 8, cols], label: "test.src" });
    const dst = createMatrix(gpu, mode, { shape: [Z, 8, cols], label: "test.dst" });
    for (let z = 0; z < Z; z++) {
      const full = new Float32Array(8 * cols);
      full.set(x.subarray(z * rows * cols, (z + 1) * rows * cols));
      src.write(gpu, full, z);
    }
    const factor = gpu.upload(new Float32Array([0.5, -3]), [2]);
    scaleRows(gpu, src, { dst, factor, rows, cols, members: Z });
    for (let z = 0; z < Z; z++) {
      const want = new Float64Array(8 * cols);
      for (let e = 0; e < rows * cols; e++) want[e] = [0.5, -3][z] * x[z * rows * cols + e];
      assertClose(await dst.read(gpu, z), want, { atol: 1e-7, rtol: 1e-6 }, `member ${z}`);
    }
    assert.throws(() => scaleRows(gpu, src, { dst: src, factor, rows, cols, members: Z }), /dst must not be src/);
    src.destroy();
    dst.destroy();
    factor.dispose();
  });
}
