import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { createMatrix, type OperandMode } from "./sae_operands.ts";
import { rowStats, topkSelect } from "./sae_stats_kernels.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();

for (const mode of ["texture", "storage"] as OperandMode[]) {
  const named = ` (${mode} operands)`;
  const filled = (layers: Float32Array[], rows: number, cols: number, label: string) => {
    const t = createMatrix(gpu, mode, { shape: [layers.length, rows, cols], label });
    layers.forEach((data, z) => t.write(gpu, data, z));
    return t;
  };

  Deno.test(`sae_row_stats: squared error, L0 and L1 per row and member${named}`, async () => {
    const rows = 8, n = 12, d = 8, Z = 2, inv = 4;
    const c = [0, 1].map((z) => randomFloats(rows * n, 3 + z).map((v) => Math.max(v, 0)));
    const g = [0, 1].map((z) => randomFloats(rows * d, 5 + z));
    const tc = filled(c, rows, n, "test.c"), tg = filled(g, rows, d, "test.g");
    const stats = gpu.zeros([Z * rows * 4]);
    rowStats(gpu, { c: tc, g: tg }, { stats, rows, n, d, members: Z, inv });
    const got = await stats.read();
    const want = new Float64Array(Z * rows * 4);
    for (let z = 0; z < Z; z++) {
      for (let b = 0; b < rows; b++) {
        const o = (z * rows + b) * 4;
        for (let i = 0; i < d; i++) want[o] += (g[z][b * d + i] * inv) ** 2;
        for (let j = 0; j < n; j++) {
          const v = c[z][b * n + j];
          want[o + 1] += v > 0 ? 1 : 0;
          want[o + 2] += Math.abs(v);
        }
      }
    }
    assertClose(got, want, { atol: 1e-5, rtol: 1e-5 });
    for (const t of [tc, tg]) t.destroy();
    stats.dispose();
  });

  Deno.test(`sae_topk keeps each row's k largest pre-activations, ReLU'd, with Cᵀ and fired marks${named}`, async () => {
    const rows = 8, n = 16, k = 3, Z = 2;
    const p = [0, 1].map((z) => randomFloats(rows * n, 9 + z));
    p[1].fill(-1, 0, n); // a row with no positive pre-activation: no codes
    const tp = filled(p, rows, n, "test.p");
    const c = createMatrix(gpu, mode, { shape: [Z, rows, n], label: "test.c" });
    const ct = createMatrix(gpu, mode, { shape: [Z, n, rows], label: "test.ct" });
    const fired = gpu.zeros([Z * n], "u32");
    topkSelect(gpu, { p: tp }, { c, ct, fired, rows, n, k, members: Z, step: 5 });
    const firedHost = await fired.read();
    for (let z = 0; z < Z; z++) {
      const want = new Float64Array(rows * n), wantT = new Float64Array(n * rows);
      for (let b = 0; b < rows; b++) {
        const row = Array.from(p[z].subarray(b * n, (b + 1) * n));
        const kth = [...row].sort((x, y) => y - x)[k - 1];
        row.forEach((v, j) => {
          want[b * n + j] = v >= kth ? Math.max(v, 0) : 0;
          wantT[j * rows + b] = want[b * n + j];
        });
      }
      assertClose(await c.read(gpu, z), want, { atol: 0, rtol: 0 }, `C member ${z}`);
      assertClose(await ct.read(gpu, z), wantT, { atol: 0, rtol: 0 }, `Cᵀ member ${z}`);
      for (let j = 0; j < n; j++) {
        let any = false;
        for (let b = 0; b < rows; b++) any ||= want[b * n + j] > 0;
        assert.equal(firedHost[z * n + j], any ? 5 : 0, `fired ${z}/${j}`);
      }
    }
    for (const t of [tp, c, ct]) t.destroy();
    fired.dispose();
  });

  Deno.test(`sae_topk keeps exactly k codes per row from 2048 features on, ties included${named}`, async () => {
    // rows of 2048+ features are where one invocation per 4 rows ran out of llvmpipe's 65535 loop iterations
    const rows = 36, Z = 2;
    for (const n of [2048, 2052, 4096, 8192]) {
      for (const k of [1, Math.round(0.04 * n), 256]) {
        const p = [0, 1].map((z) => randomFloats(rows * n, n + k + z));
        const tied = p[1].subarray(3 * n, 4 * n); // row 3 of member 1: the k-th largest value three more times
        const kth = Float32Array.from(tied).sort().reverse()[k - 1];
        tied.set([kth, kth, kth], n - 3);
        p[0].subarray(5 * n, 6 * n).fill(-0.5); // nothing positive: no codes
        const tp = filled(p, rows, n, "test.p");
        const c = createMatrix(gpu, mode, { shape: [Z, rows, n], label: "test.c" });
        const ct = createMatrix(gpu, mode, { shape: [Z, n, rows], label: "test.ct" });
        using fired = gpu.zeros([Z * n], "u32");
        topkSelect(gpu, { p: tp }, { c, ct, fired, rows, n, k, members: Z, step: 2 });
        const firedHost = await fired.read();
        for (let z = 0; z < Z; z++) {
          const want = topkRef(p[z], { rows, n, k });
          const gotC = await c.read(gpu, z), gotCt = await ct.read(gpu, z);
          const at = `member ${z}, n ${n}, k ${k}`;
          for (let b = 0; b < rows; b++) {
            const kept = gotC.subarray(b * n, (b + 1) * n).filter((v) => v > 0).length;
            const wantKept = z === 0 && b === 5 ? 0 : z === 1 && b === 3 ? k + 3 : k;
            assert.equal(kept, wantKept, `codes kept in row ${b}, ${at}`);
          }
          assertClose(gotC, want, { atol: 0, rtol: 0 }, `C ${at}`);
          const wantT = new Float64Array(n * rows);
          for (let b = 0; b < rows; b++) for (let j = 0; j < n; j++) wantT[j * rows + b] = want[b * n + j];
          assertClose(gotCt, wantT, { atol: 0, rtol: 0 }, `Cᵀ ${at}`);
          for (let j = 0; j < n; j++) {
            let any = false;
            for (let b = 0; b < rows; b++) any ||= want[b * n + j] > 0;
            if (firedHost[z * n + j] !== (any ? 2 : 0)) assert.fail(`fired mark of feature ${j}, ${at}`);
          }
        }
        for (const t of [tp, c, ct]) t.destroy();
      }
    }
  });
}

Deno.test("sae_topk refuses rows too wide for the loop iterations of one invocation", () => {
  const p = createMatrix(gpu, "storage", { shape: [1, 4, 4], label: "test.p" });
  using fired = gpu.zeros([4], "u32");
  const out = { c: p, ct: p, fired, rows: 4, k: 1, members: 1, step: 1 };
  assert.throws(
    () => topkSelect(gpu, { p }, { ...out, n: 1 << 20 }),
    /1048576 features per row need more than the 65535/,
  );
  p.destroy();
});

/** Float64 TopK by sorting each row: the values at or above the row's k-th largest, ReLU'd. */
function topkRef(p: Float32Array, size: { rows: number; n: number; k: number }): Float64Array {
  const { rows, n, k } = size;
  const out = new Float64Array(rows * n);
  for (let b = 0; b < rows; b++) {
    const row = Float64Array.from(p.subarray(b * n, (b + 1) * n));
    const kth = Float64Array.from(row).sort().reverse()[k - 1];
    row.forEach((v, j) => out[b * n + j] = v >= kth ? Math.max(v, 0) : 0);
  }
  return out;
}

globalThis.addEventListener("unload", () => gpu.destroy());
