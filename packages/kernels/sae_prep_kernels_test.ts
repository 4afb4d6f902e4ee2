import { assertClose, createGpu } from "@saelab/gpu";
import { createMatrix, type MatrixOperand, type OperandMode } from "./sae_operands.ts";
import { normalizeBackward, normalizeRows } from "./sae_normalize.ts";
import { packTexture, packTransposed, prepInput } from "./sae_prep_kernels.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();
const EXACT = { atol: 0, rtol: 0 };

function transpose(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c];
  return t;
}

async function layers(t: MatrixOperand): Promise<Float32Array[]> {
  return await Promise.all(Array.from({ length: t.layers }, (_, z) => t.read(gpu, z)));
}

for (const mode of ["texture", "storage"] as OperandMode[]) {
  const matrix = (shape: [number, number, number], label: string) => createMatrix(gpu, mode, { shape, label });
  const named = ` (${mode} operands)`;

  Deno.test(`sae_prep_input: X_e = [X, 1, 0, 0, 0] and Xᵀ${named}`, async () => {
    const rows = 12, d = 8;
    const x = randomFloats(rows * d, 3);
    const xb = gpu.upload(x, [rows * d]);
    const xe = matrix([1, rows + 4, d + 4], "test.xe"), xt = matrix([1, d + 4, rows + 4], "test.xt");
    prepInput(gpu, xb, { xe, xt, rows, d });
    const [gotXe, gotXt] = [await xe.read(gpu), await xt.read(gpu)];
    const wantXe = new Float64Array((rows + 4) * (d + 4)), wantXt = new Float64Array((d + 4) * (rows + 4));
    for (let b = 0; b < rows; b++) {
      for (let i = 0; i < d; i++) {
        wantXe[b * (d + 4) + i] = x[b * d + i];
        wantXt[i * (rows + 4) + b] = x[b * d + i];
      }
      wantXe[b * (d + 4) + d] = 1;
    }
    assertClose(gotXe, wantXe, EXACT, "X_e");
    assertClose(gotXt, wantXt, EXACT, "Xᵀ");
    for (const t of [xe, xt]) t.destroy();
    xb.dispose();
  });

  Deno.test(`sae_pack and sae_pack_transposed copy members at an offset and stride${named}`, async () => {
    const rows = 8, cols = 12, Z = 2, offset = 4, stride = rows * cols + 8;
    const src = randomFloats(offset + Z * stride, 5);
    const buf = gpu.upload(src, [src.length]);
    const plain = matrix([Z, rows, cols], "test.pack"), flipped = matrix([Z, cols, rows], "test.pack_t");
    packTexture(gpu, buf, plain, { offset, stride, rows, cols, layers: Z });
    packTransposed(gpu, buf, flipped, { offset, stride, rows, cols, layers: Z });
    const [p, t] = [await layers(plain), await layers(flipped)];
    for (let z = 0; z < Z; z++) {
      const block = src.subarray(offset + z * stride, offset + z * stride + rows * cols);
      assertClose(p[z], block, EXACT, `member ${z}`);
      assertClose(t[z], transpose(block, rows, cols), EXACT, `member ${z} transposed`);
    }
    for (const m of [plain, flipped]) m.destroy();
    buf.dispose();
  });

  for (const tied of [false, true]) {
    Deno.test(`sae_normalize and its backward${tied ? " (tied: bias row, ∂M̂ added)" : ""}${named}`, async () => {
      const n = 8, d = 12, Z = 2, offset = 4, stride = n * d + 4, bias = offset + Z * stride;
      const params = randomFloats(bias + Z * n, 7);
      params.fill(0, offset + d, offset + 2 * d); // a zero row of member 0: norm clamps to 1e-8
      const pb = gpu.upload(params, [params.length]);
      const dh = matrix([Z, n, d], "test.dh"), dht = matrix([Z, d + 4, n], "test.dht");
      const norms = gpu.zeros([Z * n]);
      const at = tied ? { offset, stride, bias } : { offset, stride };
      normalizeRows(gpu, pb, { dh, dht, norms, n, d, members: Z, at });
      const gd = randomFloats(Z * n * d, 9), dw = randomFloats(Z * n * (d + 4), 11);
      const gdb = gpu.upload(gd, [gd.length]), dwb = gpu.upload(dw, [dw.length]);
      const grad = gpu.zeros([bias + Z * n]);
      normalizeBackward(gpu, { gd: gdb, dh, norms, dw: tied ? dwb : undefined }, { grad, n, d, members: Z, at });
      const [gotDh, gotDht, gotNorms, gotGrad] = [
        await layers(dh),
        await layers(dht),
        await norms.read(),
        await grad.read(),
      ];
      const wantGrad = new Float64Array(bias + Z * n);
      for (let z = 0; z < Z; z++) {
        const unit = new Float64Array(n * d), unitT = new Float64Array((d + 4) * n), nrm = new Float64Array(n);
        for (let j = 0; j < n; j++) {
          const row = params.subarray(offset + z * stride + j * d, offset + z * stride + (j + 1) * d);
          nrm[j] = Math.max(Math.hypot(...row), 1e-8);
          const g = Float64Array.from(
            { length: d },
            (_, i) => gd[(z * n + j) * d + i] + (tied ? dw[z * n * (d + 4) + j * (d + 4) + i] : 0),
          );
          let dot = 0;
          for (let i = 0; i < d; i++) {
            unit[j * d + i] = row[i] / nrm[j];
            unitT[i * n + j] = unit[j * d + i];
            dot += g[i] * unit[j * d + i];
          }
          if (nrm[j] <= 1e-8) dot = 0;
          for (let i = 0; i < d; i++) {
            wantGrad[offset + z * stride + j * d + i] = (g[i] - dot * unit[j * d + i]) / nrm[j];
          }
          if (tied) {
            unitT[d * n + j] = params[bias + z * n + j];
            wantGrad[bias + z * n + j] = dw[z * n * (d + 4) + j * (d + 4) + d];
          }
        }
        const tol = { atol: 1e-6, rtol: 1e-5 };
        assertClose(gotDh[z], unit, tol, `D̂ member ${z}`);
        assertClose(gotDht[z], unitT, tol, `D̂ᵀ member ${z}`);
        assertClose(gotNorms.subarray(z * n, (z + 1) * n), nrm, tol, `norms member ${z}`);
      }
      assertClose(gotGrad, wantGrad, { atol: 1e-4, rtol: 1e-5 }, "∂D");
      for (const m of [dh, dht]) m.destroy();
      for (const b of [pb, norms, gdb, dwb, grad]) b.dispose();
    });
  }
}

globalThis.addEventListener("unload", () => gpu.destroy());
