import assert from "node:assert/strict";
import { assertClose, createGpu, Gpu } from "@saelab/gpu";
import { createMatrix, type MatrixOperand, type OperandMode } from "./sae_operands.ts";
import { LARGE_TILE, SMALL_TILE, tileMatmul } from "./sae_tile_matmul.ts";
import { textureReads } from "./sae_textures.ts";
import { allocKList, buildKList } from "./sae_k_lists.ts";
import { randomFloats } from "./_testing.ts";

const gpu = await createGpu();
let seed = 11;
const rand = (n: number) => randomFloats(n, seed++);

/** acc[z][m, n] = Σ_k At[z][k, m] Bt[z][k, n] in float64. */
function reference(at: Float32Array[], bt: Float32Array[], m: number, n: number, k: number, z: number) {
  const A = at[at.length === 1 ? 0 : z], B = bt[bt.length === 1 ? 0 : z];
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += A[q * m + i] * B[q * n + j];
      out[i * n + j] = s;
    }
  }
  return out;
}

function transpose(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c];
  return t;
}

const MODES: readonly OperandMode[] = ["texture", "storage"];
/** Test-name suffix of a mode (texture tests keep their names). */
const named = (mode: OperandMode) => (mode === "texture" ? "" : " with storage operands");

function textures(label: string, layers: Float32Array[], rows: number, cols: number, mode: OperandMode): MatrixOperand {
  const t = createMatrix(gpu, mode, { shape: [layers.length, rows, cols], label });
  layers.forEach((data, z) => t.write(gpu, data, z));
  return t;
}

// m = 20 and n = 12 leave partial 8×8 tiles; k = 7 is odd; A shared, B per member.
const M = 20, N = 12, K = 7, Z = 2;
const at = [rand((K + 1) * M)];
const bt = [rand((K + 1) * N), rand((K + 1) * N)];
const operands = MODES.map((mode) => ({
  mode,
  ta: textures(`test.a.${mode}`, at, K + 1, M, mode),
  tb: textures(`test.b.${mode}`, bt, K + 1, N, mode), // row K holds the encode bias
}));

for (const { mode, ta, tb } of operands) {
  /** The product of `ta` and `tb` that the store, encode and decode tests run. */
  const PRODUCT = { a: ta, b: tb, m: M, n: N, k: K, members: Z };
  const matrix = (shape: [number, number, number], label: string) => createMatrix(gpu, mode, { shape, label });

  for (const tile of [SMALL_TILE, LARGE_TILE]) {
    Deno.test(`sae_matmul store: batched product into a buffer at an offset and stride (tile ${tile.tm}×${tile.tn})${named(mode)}`, async () => {
      const stride = M * N + 8, base = 4;
      const out = gpu.zeros([base + Z * stride]);
      tileMatmul(gpu, "store", { ...PRODUCT, outputs: [out], base, stride, tile });
      const got = await out.read();
      for (let z = 0; z < Z; z++) {
        assertClose(got.subarray(base + z * stride, base + z * stride + M * N), reference(at, bt, M, N, K, z), {
          atol: 1e-5,
          rtol: 1e-5,
        }, `member ${z}`);
      }
      out.dispose();
    });
  }

  for (const tile of [SMALL_TILE, LARGE_TILE]) {
    Deno.test(`sae_matmul encode: bias, ReLU, C and Cᵀ, fired features (tile ${tile.tm}×${tile.tn})${named(mode)}`, async () => {
      const c = matrix([Z, M, N], "test.c");
      const ct = matrix([Z, N, M], "test.ct");
      const fired = gpu.zeros([Z * N], "u32");
      tileMatmul(gpu, "encode", { ...PRODUCT, tile, outputs: [c, ct, fired], biasRow: K, step: 7 });
      const firedHost = await fired.read();
      for (let z = 0; z < Z; z++) {
        const acc = reference(at, bt, M, N, K, z);
        const want = acc.map((v, e) => Math.max(v + bt[z][K * N + (e % N)], 0));
        assertClose(await c.read(gpu, z), want, { atol: 1e-5, rtol: 1e-5 }, `C member ${z}`);
        assertClose(await ct.read(gpu, z), transpose(want, M, N), { atol: 1e-5, rtol: 1e-5 }, `Cᵀ member ${z}`);
        for (let j = 0; j < N; j++) {
          let any = false;
          for (let i = 0; i < M; i++) any ||= want[i * N + j] > 0;
          assert.equal(firedHost[z * N + j], any ? 7 : 0, `fired ${z}/${j}`);
        }
      }
      c.destroy();
      ct.destroy();
      fired.dispose();
    });

    Deno.test(`sae_matmul decode epilogue (tile ${tile.tm}×${tile.tn})${named(mode)}`, async () => {
      const x = textures("test.x", [rand(M * N)], M, N, mode);
      const xs = await x.read(gpu);
      const g = matrix([Z, M, N], "test.g");
      tileMatmul(gpu, "decode", { ...PRODUCT, tile, outputs: [x, g], scale: 0.5 });
      for (let z = 0; z < Z; z++) {
        const want = reference(at, bt, M, N, K, z).map((v, e) => 0.5 * (v - xs[e]));
        assertClose(await g.read(gpu, z), want, { atol: 1e-5, rtol: 1e-5 }, `G member ${z}`);
      }
      for (const t of [x, g]) t.destroy();
    });

    Deno.test(`sae_matmul decodeBias epilogue adds each member's b_dec (tile ${tile.tm}×${tile.tn})${named(mode)}`, async () => {
      const x = textures("test.x", [rand(M * N)], M, N, mode);
      const xs = await x.read(gpu);
      const g = matrix([Z, M, N], "test.g");
      const base = 8; // b_dec of member z at base + z·N in a larger buffer
      const host = rand(base + Z * N);
      const bdec = gpu.upload(host, [host.length]);
      tileMatmul(gpu, "decodeBias", { ...PRODUCT, tile, outputs: [x, g, bdec], scale: 0.5, base, stride: N });
      for (let z = 0; z < Z; z++) {
        const want = reference(at, bt, M, N, K, z).map((v, e) => 0.5 * (v + host[base + z * N + (e % N)] - xs[e]));
        assertClose(await g.read(gpu, z), want, { atol: 1e-5, rtol: 1e-5 }, `G member ${z}`);
      }
      for (const t of [x, g]) t.destroy();
      bdec.dispose();
    });
  }

  for (const tile of [SMALL_TILE, LARGE_TILE]) {
    Deno.test(`sae_matmul with k-lists loops only over the k where the tile's At is non-zero (tile ${tile.tm}×${tile.tn})${named(mode)}`, async () => {
      // codes-like At [k, m] with m = 36 (a partial last tile): mostly zero, a few non-zeros
      const k = 30, m = 36, n = 8;
      const a = new Float32Array(k * m);
      for (const [q, i, v] of [[0, 3, 1.5], [7, 12, -2], [29, 0, 0.25], [13, 9, 4], [13, 35, 1], [20, 17, 2]]) {
        a[q * m + i] = v;
      }
      const b = rand(k * n);
      const sa = textures("test.sparse_a", [a, a.map((v) => -v)], k, m, mode);
      const sb = textures("test.sparse_b", [b], k, n, mode);
      const list = allocKList(gpu, { k: 40, m: 48, members: 2, tm: tile.tm }, "test.klist");
      buildKList(gpu, sa, { list, k, m, members: 2 });
      const counts = await list.counts.read(), indices = await list.indices.read();
      for (let t = 0; t < list.tiles; t++) {
        const want: number[] = [];
        for (let q = 0; q < k; q++) {
          let any = false;
          for (let i = t * tile.tm; i < Math.min(m, (t + 1) * tile.tm); i++) any ||= a[q * m + i] !== 0;
          if (any) want.push(q);
        }
        for (const z of [0, 1]) {
          const at = z * list.tiles + t;
          assert.deepEqual([...indices.subarray(at * list.stride, at * list.stride + counts[at])], want, `tile ${t}`);
        }
      }
      const out = gpu.zeros([2 * m * n]);
      tileMatmul(gpu, "store", { a: sa, b: sb, m, n, k, members: 2, outputs: [out], stride: m * n, list, tile });
      const got = await out.read();
      assertClose(got.subarray(0, m * n), reference([a], [b], m, n, k, 0), { atol: 1e-6, rtol: 1e-6 });
      assertClose(got.subarray(m * n), reference([a.map((v) => -v)], [b], m, n, k, 0), { atol: 1e-6, rtol: 1e-6 });
      assert.throws(
        () =>
          tileMatmul(gpu, "store", {
            a: sa,
            b: sb,
            m,
            n,
            k,
            members: 2,
            outputs: [out],
            list,
            tile: tile === SMALL_TILE ? LARGE_TILE : SMALL_TILE,
          }),
        /k-list built for/,
      );
      for (const t of [sa, sb]) t.destroy();
      for (const t of [out, list.indices, list.counts]) t.dispose();
    });
  }

  Deno.test(`sae_matmul rejects sizes that are not multiples of 4${named(mode)}`, () => {
    assert.throws(
      () => tileMatmul(gpu, "store", { a: ta, b: tb, m: 6, n: 8, k: 2, members: 1, outputs: [] }),
      /multiples of 4/,
    );
  });
}

Deno.test("sae_matmul refuses operands that mix textures and storage buffers", () => {
  const [t, s] = operands;
  assert.throws(
    () => tileMatmul(gpu, "store", { a: t.ta, b: s.tb, m: M, n: N, k: K, members: Z, outputs: [] }),
    /mix textures and storage buffers/,
  );
  assert.throws(
    () => tileMatmul(gpu, "decode", { a: s.ta, b: s.tb, m: M, n: N, k: K, members: Z, outputs: [t.ta, s.tb] }),
    /mix textures and storage buffers/,
  );
});

Deno.test("sae_matmul refuses textures that kernels would read in two ways (storage and sampled)", async () => {
  if (textureReads(gpu) !== "storage") return; // every texture here is read sampled: nothing to mix
  // a device at WebGPU's default of 4 storage textures per stage reads its textures sampled
  const plain = new Gpu(gpu.adapter, await gpu.adapter.requestDevice());
  const sampled = createMatrix(plain, "texture", { shape: [Z, K, N], label: "sampled.tb" });
  try {
    assert.throws(
      () => tileMatmul(gpu, "store", { a: operands[0].ta, b: sampled, m: M, n: N, k: K, members: Z, outputs: [] }),
      /mix textures read as storage textures and as sampled ones/,
    );
  } finally {
    sampled.destroy();
    plain.destroy();
  }
});

globalThis.addEventListener("unload", () => {
  for (const { ta, tb } of operands) {
    ta.destroy();
    tb.destroy();
  }
  gpu.destroy();
});
