import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { allocSparseCodes, buildSparseCodes, disposeSparseCodes } from "./sae_sparse_codes.ts";
import { sparseGate } from "./sae_sparse_gate.ts";
import { sparseCodeGrad, sparseRowsMatmul } from "./sae_sparse_matmul.ts";
import { createMatrix, type MatrixOperand, type OperandMode } from "./sae_operands.ts";
import { packTexture } from "./sae_prep_kernels.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();
addEventListener("unload", () => gpu.destroy());

const TOL = { atol: 1e-5, rtol: 1e-5 };

/** Codes `[Z][rows, n]`: about `p` non-zero; row 3 never fires, feature `always` fires on every row, a few negative. */
function codes(rows: number, n: number, p: number, seed: number, always: number): Float32Array {
  const keep = randomFloats(rows * n, seed, 0, 1), value = randomFloats(rows * n, seed + 1, -0.1, 1);
  return keep.map((u, e) => {
    const b = Math.floor(e / n), j = e % n;
    if (b === 3) return 0;
    return u < p || j === always ? (value[e] === 0 ? 0.5 : value[e]) : 0;
  });
}

function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}

function operand(mode: OperandMode, label: string, layers: Float32Array[], rows: number, cols: number) {
  const t = createMatrix(gpu, mode, { shape: [layers.length, rows, cols], label });
  layers.forEach((data, z) => t.write(gpu, data, z));
  return t;
}

async function layers(t: MatrixOperand): Promise<Float32Array[]> {
  return await Promise.all(Array.from({ length: t.layers }, (_, z) => t.read(gpu, z)));
}

/** float64 `A [M, K] · B [K, N]`. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, sizes: { m: number; k: number; n: number }) {
  const { m, k, n } = sizes;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const v = a[i * k + p];
      if (v !== 0) { for (let j = 0; j < n; j++) out[i * n + j] += v * b[p * n + j]; }
    }
  }
  return out;
}

const CASES = [
  { name: "64 rows, 32 features, d 16", rows: 64, n: 32, d: 16, p: 0.1 },
  // a feature on every one of 8192 rows: its lists run 8192 entries × 32 vec4 columns, past 65,535 for
  // any one loop over both; each invocation here loops over the entries only
  { name: "8192 rows, 8 features, d 128 (past the loop cap)", rows: 8192, n: 8, d: 128, p: 0.05 },
];

for (const mode of ["texture", "storage"] as const) {
  for (const { name, rows, n, d, p } of CASES) {
    Deno.test(`sae_sparse (${mode}, ${name}): lists, decoder, code gradient and both weight gradients match float64`, async () => {
      const Z = 2, de = d + 4, alphas = [0.5, 2];
      const c = [0, 1].map((z) => codes(rows, n, p, 21 + 2 * z, z + 1));
      const dh = [0, 1].map((z) => randomFloats(n * d, 31 + z));
      const x = randomFloats(rows * d, 41);
      const xe = new Float32Array(rows * de);
      for (let b = 0; b < rows; b++) {
        xe.set(x.subarray(b * d, (b + 1) * d), b * de);
        xe[b * de + d] = 1;
      }
      const tc = operand(mode, "t.c", c, rows, n),
        tct = operand(mode, "t.ct", c.map((m) => transpose(m, rows, n)), n, rows);
      const tdh = operand(mode, "t.dh", dh, n, d), txe = operand(mode, "t.xe", [xe], rows, de);
      const tg = createMatrix(gpu, mode, { shape: [Z, rows, d], label: "t.g" });
      const sc = allocSparseCodes(gpu, { rows, n, members: Z, capacity: rows * n }, "t.sparse");
      const scale = 2 / (rows * d);
      buildSparseCodes(gpu, { c: tc, ct: tct }, { codes: sc, rows, n, members: Z });
      sparseRowsMatmul(gpu, "decode", {
        op: tdh,
        codes: sc,
        lists: "rows",
        rows,
        n,
        cols: d,
        members: Z,
        outputs: [txe, tg],
        scale,
        gate: sparseGate(gpu, sc, "sparse"),
      });
      const alphaBuf = gpu.upload(new Float32Array(alphas), [Z]);
      sparseCodeGrad(gpu, { g: tg, dh: tdh, codes: sc, alphas: alphaBuf }, {
        rows,
        n,
        d,
        members: Z,
        gate: sparseGate(gpu, sc, "sparse", 32),
      });
      const gd = gpu.zeros([Z * n * d]), gw = gpu.zeros([8 + Z * n * de]);
      sparseRowsMatmul(gpu, "store", {
        op: tg,
        codes: sc,
        lists: "features",
        rows,
        n,
        cols: d,
        members: Z,
        outputs: [gd],
        stride: n * d,
      });
      sparseRowsMatmul(gpu, "store", {
        op: txe,
        codes: sc,
        lists: "features",
        values: "dp",
        rows,
        n,
        cols: de,
        members: Z,
        outputs: [gw],
        base: 8,
        stride: n * de,
      });
      const [counts, totals, rowIdx, colIdx, colFeat, dpEntries, gdGot, gwGot, gGot] = [
        await sc.counts.read(),
        await sc.totals.read(),
        await sc.rowIdx.read(),
        await sc.colIdx.read(),
        await sc.colFeat.read(),
        await sc.dp.read(),
        await gd.read(),
        await gw.read(),
        await layers(tg),
      ];
      for (let z = 0; z < Z; z++) {
        const cz = c[z], at = `member ${z}`;
        // lists: CSR features increasing per row, CSC rows increasing per feature
        const csr: number[] = [], csc: number[] = [], feat: number[] = [];
        for (let b = 0; b < rows; b++) for (let j = 0; j < n; j++) if (cz[b * n + j] !== 0) csr.push(j);
        for (let j = 0; j < n; j++) for (let b = 0; b < rows; b++) if (cz[b * n + j] !== 0) csc.push(b), feat.push(j);
        assert.equal(totals[z], csr.length, `${at}: total`);
        assert.equal(counts[z * (rows + n) + 3], 0, `${at}: row 3 fires nowhere`);
        const on = counts[z * (rows + n) + rows + z + 1];
        assert.equal(on, rows - 1, `${at}: feature ${z + 1} fires on every row but row 3`);
        const base = z * sc.capacity, len = csr.length;
        assert.deepEqual([...rowIdx.subarray(base, base + len)], csr, `${at}: row lists`);
        assert.deepEqual([...colIdx.subarray(base, base + len)], csc, `${at}: feature lists`);
        assert.deepEqual([...colFeat.subarray(base, base + len)], feat, `${at}: features of the entries`);
        // G = scale · (C D̂ − X)
        const recon = matmul(cz, dh[z], { m: rows, k: n, n: d });
        const g = recon.map((v, e) => scale * (v - x[e]));
        assertClose(gGot[z], g, TOL, `${at}: G`);
        // ∂P at each CSC entry: (G D̂ᵀ + α/B) where the code is positive, else 0
        const dpDense = new Float64Array(rows * n);
        csc.forEach((b, e) => {
          const j = feat[e];
          let dot = 0;
          for (let i = 0; i < d; i++) dot += g[b * d + i] * dh[z][j * d + i];
          dpDense[b * n + j] = cz[b * n + j] > 0 ? dot + alphas[z] / rows : 0;
        });
        assertClose(
          dpEntries.subarray(base, base + len),
          csc.map((b, e) => dpDense[b * n + feat[e]]),
          TOL,
          `${at}: ∂P`,
        );
        // ∂D̂ = Cᵀ G, ∂W_ext = ∂Pᵀ X_e (column d: ∂b_e)
        const gdWant = matmul(transpose(cz, rows, n), g, { m: n, k: rows, n: d });
        assertClose(gdGot.subarray(z * n * d, (z + 1) * n * d), gdWant, TOL, `${at}: ∂D̂`);
        const gwWant = matmul(transpose(new Float32Array(dpDense), rows, n), xe, { m: n, k: rows, n: de });
        assertClose(gwGot.subarray(8 + z * n * de, 8 + (z + 1) * n * de), gwWant, TOL, `${at}: ∂W_ext`);
      }
      assert.deepEqual([...gwGot.subarray(0, 8)], new Array(8).fill(0), "nothing written before base");
      for (const t of [tc, tct, tdh, txe, tg]) t.destroy();
      for (const t of [alphaBuf, gd, gw]) t.dispose();
      disposeSparseCodes(sc);
    });
  }

  Deno.test(`sae_sparse (${mode}): past the limit the sparse dispatches skip and the dense ones run`, async () => {
    const rows = 64, n = 32, d = 16;
    const c = codes(rows, n, 0.1, 51, 0);
    const tc = operand(mode, "t.c", [c], rows, n), tct = operand(mode, "t.ct", [transpose(c, rows, n)], n, rows);
    const tdh = operand(mode, "t.dh", [randomFloats(n * d, 52)], n, d);
    const txe = operand(mode, "t.xe", [randomFloats(rows * d, 53)], rows, d);
    const sentinel = new Float32Array(rows * d).fill(7);
    const tg = operand(mode, "t.g", [sentinel], rows, d);
    const nonzero = c.filter((v) => v !== 0).length;
    // capacity one entry short of the codes: the lists would overflow
    const sc = allocSparseCodes(gpu, { rows, n, members: 1, capacity: nonzero - 1 }, "t.sparse");
    buildSparseCodes(gpu, { c: tc, ct: tct }, { codes: sc, rows, n, members: 1 });
    const decode = { op: tdh, codes: sc, lists: "rows" as const, rows, n, cols: d, members: 1, outputs: [txe, tg] };
    sparseRowsMatmul(gpu, "decode", { ...decode, gate: sparseGate(gpu, sc, "sparse") });
    const src = gpu.upload(new Float32Array(rows * n).fill(3), [rows * n]);
    const dst = createMatrix(gpu, mode, { shape: [1, rows, n], label: "t.dst" });
    packTexture(gpu, src, dst, {
      offset: 0,
      stride: rows * n,
      rows,
      cols: n,
      layers: 1,
      gate: sparseGate(gpu, sc, "dense"),
    });
    // slots in recording order: the lists' fill, the decoder, the dense dispatch
    const args = new Uint32Array(await gpu.readBuffer(sc.args, 48));
    assert.equal((await sc.totals.read())[0], nonzero, "the total is counted past the capacity");
    assert.deepEqual([...args.subarray(0, 8)], [0, 0, 0, 0, 0, 0, 0, 0], "sparse dispatches: none, flag 0 (dense)");
    assert.deepEqual(
      [...args.subarray(8, 11)],
      [Math.ceil((rows * n) / 4 / 64), 1, 1],
      "dense dispatches: their workgroups",
    );
    assert.deepEqual([...await tg.read(gpu, 0)], [...sentinel], "the skipped decoder wrote nothing");
    assert.deepEqual([...await dst.read(gpu, 0)], new Array(rows * n).fill(3), "the dense dispatch ran");
    // the same codes within capacity: the sparse decoder runs, the dense dispatch does not
    const fits = allocSparseCodes(gpu, { rows, n, members: 1, capacity: nonzero }, "t.sparse2");
    buildSparseCodes(gpu, { c: tc, ct: tct }, { codes: fits, rows, n, members: 1 });
    sparseRowsMatmul(gpu, "decode", { ...decode, codes: fits, gate: sparseGate(gpu, fits, "sparse") });
    const dst2 = createMatrix(gpu, mode, { shape: [1, rows, n], label: "t.dst2" });
    packTexture(gpu, src, dst2, {
      offset: 0,
      stride: rows * n,
      rows,
      cols: n,
      layers: 1,
      gate: sparseGate(gpu, fits, "dense"),
    });
    assert.ok((await tg.read(gpu, 0)).some((v) => v !== 7), "the sparse decoder ran");
    assert.deepEqual([...await dst2.read(gpu, 0)], new Array(rows * n).fill(0), "the dense dispatch skipped");
    // the next build at this batch size arms its gates in one dispatch: denser codes now flip it to dense
    const dense = c.map((v, e) => (v !== 0 ? v : (e % 3) + 1));
    tc.write(gpu, dense, 0);
    tct.write(gpu, transpose(dense, rows, n), 0);
    tg.write(gpu, sentinel, 0);
    buildSparseCodes(gpu, { c: tc, ct: tct }, { codes: fits, rows, n, members: 1 });
    sparseRowsMatmul(gpu, "decode", { ...decode, codes: fits, gate: sparseGate(gpu, fits, "sparse") });
    packTexture(gpu, src, dst2, {
      offset: 0,
      stride: rows * n,
      rows,
      cols: n,
      layers: 1,
      gate: sparseGate(gpu, fits, "dense"),
    });
    assert.equal(fits.gates.planned?.length, 3, "the repeated step used the plan of the first");
    assert.deepEqual([...await tg.read(gpu, 0)], [...sentinel], "dense codes: the sparse decoder skipped");
    assert.deepEqual([...await dst2.read(gpu, 0)], new Array(rows * n).fill(3), "dense codes: the dense dispatch ran");
    for (const t of [tc, tct, tdh, txe, tg, dst, dst2]) t.destroy();
    src.dispose();
    disposeSparseCodes(sc);
    disposeSparseCodes(fits);
  });
}
