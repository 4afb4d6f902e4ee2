import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { codeGradSparse } from "./sae_code_grad.ts";
import { allocKList, buildKList } from "./sae_k_lists.ts";
import { createMatrix, type OperandMode } from "./sae_operands.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();

for (
  const [tm, mode] of [8, 16].flatMap((tm) => (["texture", "storage"] as OperandMode[]).map((m) => [tm, m] as const))
) {
  const named = mode === "texture" ? "" : " with storage operands";
  Deno.test(`sae_code_grad: ∂P = G·D̂ᵀ + α/B exactly where a code fired, zero elsewhere (${tm}-row tiles)${named}`, async () => {
    // 20 rows (a partial 8-row tile), 140 features (more than one workgroup's 128 per tile), d = 12
    const rows = 20, n = 140, d = 12, Z = 2;
    const g = [0, 1].map((z) => randomFloats(rows * d, 7 + z));
    const dh = [0, 1].map((z) => randomFloats(n * d, 9 + z));
    const density = [0.9, 0.05]; // member 0 dense, member 1 sparse
    const c = density.map((p, z) => {
      const keep = randomFloats(rows * n, 11 + z, 0, 1), value = randomFloats(rows * n, 13 + z, 0, 1);
      return keep.map((u, e) => (u < p ? value[e] : 0));
    });
    const ct = c.map((m) => {
      const t = new Float32Array(n * rows);
      for (let b = 0; b < rows; b++) for (let j = 0; j < n; j++) t[j * rows + b] = m[b * n + j];
      return t;
    });
    const tex = (label: string, layers: Float32Array[], r: number, cols: number) => {
      const t = createMatrix(gpu, mode, { shape: [Z, r, cols], label });
      layers.forEach((data, z) => t.write(gpu, data, z));
      return t;
    };
    const tg = tex("test.g", g, rows, d), tdh = tex("test.dh", dh, n, d), tc = tex("test.c", c, rows, n);
    const tct = tex("test.ct", ct, n, rows);
    const list = allocKList(gpu, { k: n, m: 32, members: Z, tm }, "test.list");
    buildKList(gpu, tct, { list, k: n, m: rows, members: Z });
    const alphas = gpu.upload(new Float32Array([0.5, 2]), [2]);
    const out = gpu.zeros([Z * rows * n]);
    codeGradSparse(gpu, { g: tg, dh: tdh, c: tc, list, alphas }, { dp: out, rows, n, d, members: Z });
    const got = await out.read();
    for (let z = 0; z < Z; z++) {
      const want = new Float64Array(rows * n);
      for (let b = 0; b < rows; b++) {
        for (let j = 0; j < n; j++) {
          if (!(c[z][b * n + j] > 0)) continue;
          let s = [0.5, 2][z] / rows;
          for (let i = 0; i < d; i++) s += g[z][b * d + i] * dh[z][j * d + i];
          want[b * n + j] = s;
        }
      }
      assertClose(got.subarray(z * rows * n, (z + 1) * rows * n), want, { atol: 1e-5, rtol: 1e-5 }, `member ${z}`);
    }
    // with a weight per feature (the decoder-norm penalty): α_z · w_zj / B
    const w = randomFloats(Z * n, 17, 0.1, 3);
    const weights = gpu.upload(w, [Z * n]);
    const weighted = gpu.zeros([Z * rows * n]);
    codeGradSparse(gpu, { g: tg, dh: tdh, c: tc, list, alphas, weights }, { dp: weighted, rows, n, d, members: Z });
    const gotW = await weighted.read();
    for (let z = 0; z < Z; z++) {
      for (let b = 0; b < rows; b++) {
        for (let j = 0; j < n; j++) {
          const e = z * rows * n + b * n + j;
          const want = c[z][b * n + j] > 0 ? got[e] + ([0.5, 2][z] / rows) * (w[z * n + j] - 1) : 0;
          assert.ok(Math.abs(gotW[e] - want) <= 1e-5 + 1e-5 * Math.abs(want), `weighted ${z}/${b}/${j}`);
        }
      }
    }
    weights.dispose();
    weighted.dispose();
    assert.throws(
      () =>
        codeGradSparse(gpu, { g: tg, dh: tdh, c: tc, list: { ...list, tm: 32 }, alphas }, {
          dp: out,
          rows,
          n,
          d,
          members: Z,
        }),
      /tiles of 32 rows/,
    );
    for (const t of [tg, tdh, tc, tct]) t.destroy();
    for (const t of [list.indices, list.counts, alphas, out]) t.dispose();
  });
}

globalThis.addEventListener("unload", () => gpu.destroy());
