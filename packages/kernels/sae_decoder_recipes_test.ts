import { assertClose, createGpu } from "@saelab/gpu";
import { decoderBiasGrad, encoderBiasShift, encoderGradShift } from "./sae_decoder_bias.ts";
import { decoderNormBackward, decoderRows, weightedL1Rows } from "./sae_decoder_norm.ts";
import { createMatrix, type OperandMode } from "./sae_operands.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

const Z = 2, n = 12, d = 8, rows = 10;
const tol = { atol: 1e-5, rtol: 1e-5 };

function operand(mode: OperandMode, layers: Float32Array[], r: number, cols: number) {
  const t = createMatrix(gpu, mode, { shape: [Z, r, cols], label: "test.operand" });
  layers.forEach((data, z) => t.write(gpu, data, z));
  return t;
}

const norm = (m: Float32Array, j: number) => Math.max(Math.hypot(...m.subarray(j * d, (j + 1) * d)), 1e-8);

for (const mode of ["texture", "storage"] as const) {
  Deno.test(`sae_decoder_norm: raw rows and norms, the weighted-penalty backward and weighted L1 (${mode})`, async () => {
    // parameters: 4 floats of padding, then D [Z][n, d]
    const offset = 4, params = randomFloats(offset + Z * n * d, 3);
    const p = gpu.upload(params, [params.length]);
    const dh = createMatrix(gpu, mode, { shape: [Z, n, d], label: "test.dh" }), norms = gpu.zeros([Z * n]);
    decoderRows(gpu, p, { dh, norms, n, d, members: Z, at: { offset, stride: n * d } });
    const D = [0, 1].map((z) => params.slice(offset + z * n * d, offset + (z + 1) * n * d));
    const normsHost = await norms.read();
    for (let z = 0; z < Z; z++) {
      assertClose(await dh.read(gpu, z), D[z], tol, `D member ${z} copied unnormalised`);
      assertClose(normsHost.subarray(z * n, (z + 1) * n), Array.from({ length: n }, (_, j) => norm(D[z], j)), tol);
    }
    // codes ≥ 0 with zeros, gd = Cᵀ G stand-in
    const c = [0, 1].map((z) => randomFloats(rows * n, 5 + z, -1, 1).map((v) => Math.max(v, 0)));
    const tc = operand(mode, c, rows, n);
    const gdHost = randomFloats(Z * n * d, 7);
    const gd = gpu.upload(gdHost, [gdHost.length]), alphas = gpu.upload(new Float32Array([0.3, 2]), [Z]);
    const grad = gpu.zeros([params.length]);
    decoderNormBackward(gpu, { gd, params: p, c: tc, norms, alphas }, {
      grad,
      rows,
      n,
      d,
      members: Z,
      at: { offset, stride: n * d },
    });
    const got = await grad.read();
    for (let z = 0; z < Z; z++) {
      const want = new Float64Array(n * d);
      for (let j = 0; j < n; j++) {
        let mass = 0;
        for (let b = 0; b < rows; b++) mass += c[z][b * n + j];
        for (let i = 0; i < d; i++) {
          want[j * d + i] = gdHost[(z * n + j) * d + i] + ([0.3, 2][z] / rows) * mass * D[z][j * d + i] / norm(D[z], j);
        }
      }
      assertClose(got.subarray(offset + z * n * d, offset + (z + 1) * n * d), want, tol, `∂D member ${z}`);
    }
    const stats = gpu.upload(new Float32Array(Z * rows * 4).fill(9), [Z * rows * 4]);
    weightedL1Rows(gpu, { c: tc, weights: norms }, { stats, rows, n, members: Z });
    const s = await stats.read();
    for (let z = 0; z < Z; z++) {
      for (let b = 0; b < rows; b++) {
        let want = 0;
        for (let j = 0; j < n; j++) want += c[z][b * n + j] * norm(D[z], j);
        assertClose(s.subarray((z * rows + b) * 4, (z * rows + b + 1) * 4), [9, 9, 9, want], tol, `row ${z}/${b}`);
      }
    }
    for (const t of [dh, tc]) t.destroy();
    for (const t of [p, norms, gd, alphas, grad, stats]) t.dispose();
  });

  for (const tied of [false, true]) {
    Deno.test(`sae_decoder_bias: the encoder's bias row, ∂b_dec and the shifted encoder gradient (${tied ? "tied" : "untied"}, ${mode})`, async () => {
      // untied: W_ext [Z][n, d + 4] (b_e at column d) at 0; tied: M [Z][n, d] at 0, b_e [Z][n] after; b_dec [Z][d] last
      const encRow = tied ? d : d + 4, encMember = n * encRow, beAt = Z * encMember;
      const bdecAt = beAt + (tied ? Z * n : 0);
      const params = randomFloats(bdecAt + Z * d, 11);
      const normsHost = randomFloats(Z * n, 13, 0.5, 2);
      const p = gpu.upload(params, [params.length]), norms = gpu.upload(normsHost, [Z * n]);
      const enc = { offset: 0, row: encRow, member: encMember, normalized: tied };
      const W = (z: number, j: number, i: number) =>
        params[z * encMember + j * encRow + i] / (tied ? normsHost[z * n + j] : 1);
      const be = (z: number, j: number) => tied ? params[beAt + z * n + j] : params[z * encMember + j * encRow + d];
      const bdec = (z: number, i: number) => params[bdecAt + z * d + i];
      const wt = createMatrix(gpu, mode, { shape: [Z, d + 4, n], label: "test.wt" });
      encoderBiasShift(gpu, { params: p, norms }, {
        wt,
        n,
        d,
        members: Z,
        enc,
        bias: tied ? { offset: beAt, row: 1, member: n } : { offset: d, row: d + 4, member: encMember },
        bdec: bdecAt,
      });
      for (let z = 0; z < Z; z++) {
        const row = (await wt.read(gpu, z)).subarray(d * n, (d + 1) * n);
        const want = Array.from({ length: n }, (_, j) => {
          let s = be(z, j);
          for (let i = 0; i < d; i++) s -= W(z, j, i) * bdec(z, i);
          return s;
        });
        assertClose(row, want, tol, `bias row member ${z}`);
      }
      // the encoder gradient [Z][n, d + 4] (∂b_e at column d): in the gradient buffer (untied) or apart (tied)
      const encGrad = randomFloats(Z * n * (d + 4), 17);
      const g = [0, 1].map((z) => randomFloats(rows * d, 19 + z));
      const tg = operand(mode, g, rows, d);
      const gradHost = new Float32Array(params.length);
      if (!tied) gradHost.set(encGrad, 0);
      const grad = gpu.upload(gradHost, [gradHost.length]);
      const apart = tied ? gpu.upload(encGrad, [encGrad.length]) : null;
      const at = { offset: 0, row: d + 4, member: n * (d + 4) };
      decoderBiasGrad(gpu, { params: p, norms, g: tg, ...(apart ? { be: apart } : {}) }, {
        grad,
        rows,
        n,
        d,
        members: Z,
        enc,
        be: { ...at, offset: d },
        out: bdecAt,
      });
      encoderGradShift(gpu, p, { grad: apart ?? grad, at, n, d, members: Z, bdec: bdecAt });
      const got = await grad.read();
      const shifted = apart ? await apart.read() : got;
      for (let z = 0; z < Z; z++) {
        const want = Array.from({ length: d }, (_, i) => {
          let s = 0;
          for (let b = 0; b < rows; b++) s += g[z][b * d + i];
          for (let j = 0; j < n; j++) s -= encGrad[z * n * (d + 4) + j * (d + 4) + d] * W(z, j, i);
          return s;
        });
        assertClose(got.subarray(bdecAt + z * d, bdecAt + (z + 1) * d), want, tol, `∂b_dec member ${z}`);
        const wantShift = new Float64Array(n * (d + 4));
        for (let j = 0; j < n; j++) {
          const o = z * n * (d + 4) + j * (d + 4);
          for (let i = 0; i < d + 4; i++) {
            wantShift[j * (d + 4) + i] = encGrad[o + i] - (i < d ? encGrad[o + d] * bdec(z, i) : 0);
          }
        }
        assertClose(shifted.subarray(z * n * (d + 4), (z + 1) * n * (d + 4)), wantShift, tol, `∂W member ${z}`);
      }
      for (const t of [wt, tg]) t.destroy();
      for (const t of [p, norms, grad, ...(apart ? [apart] : [])]) t.dispose();
    });
  }
}
