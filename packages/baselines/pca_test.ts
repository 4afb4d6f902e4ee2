import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { covariance, covarianceHost, fitPca, pcaDictionary } from "@saelab/baselines";
import { gaussian, seededRandom } from "@saelab/core";
import { randomOrthogonal } from "./_random.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

const D = 8;
const VALUES = [16, 9, 4, 2, 1, 0.5, 0.25, 0.1];
const N = 20000;
/** Rows x = μ + Σ_k sqrt(λ_k) g_k q_k with a large mean, so a naive float32 covariance would cancel. */
function plantedRows(seed: number) {
  const random = seededRandom(seed);
  const q = randomOrthogonal(D, random);
  const mean = Float64Array.from({ length: D }, (_, i) => 50 + 3 * i);
  const x = new Float32Array(N * D);
  for (let r = 0; r < N; r++) {
    const row = Float64Array.from(mean);
    for (let k = 0; k < D; k++) {
      const g = Math.sqrt(VALUES[k]) * gaussian(random);
      for (let i = 0; i < D; i++) row[i] += g * q[k * D + i];
    }
    x.set(row, r * D);
  }
  return { x, q, mean };
}
const { x, q, mean } = plantedRows(5);
function* batches(size: number) {
  for (let r = 0; r < N; r += size) yield x.subarray(r * D, Math.min(N, r + size) * D);
}

Deno.test("covariance on the GPU matches the float64 CPU covariance of the same rows", async () => {
  const gpuM = await covariance(gpu, batches(4096), { d: D });
  const ref = covarianceHost(x, D);
  assert.equal(gpuM.rows, N);
  assertClose(gpuM.mean, ref.mean, { atol: 1e-4, rtol: 1e-6 });
  assertClose(gpuM.cov, ref.cov, { atol: 2e-3, rtol: 1e-3 });
  const capped = await covariance(gpu, batches(4096), { d: D, maxRows: 5000 });
  assert.equal(capped.rows, 5000);
  assertClose(capped.cov, covarianceHost(x.subarray(0, 5000 * D), D).cov, { atol: 2e-3, rtol: 1e-3 });
});

Deno.test("PCA recovers a planted covariance's eigenvalues and leading subspace", async () => {
  const pca = await fitPca(gpu, batches(4096), { d: D });
  // sample eigenvalues scatter by about λ·sqrt(2/N) ≈ 1% of λ; allow 5%
  for (let k = 0; k < D; k++) {
    assert.ok(Math.abs(pca.values[k] - VALUES[k]) <= 0.05 * VALUES[k], `λ${k}: ${pca.values[k]} vs ${VALUES[k]}`);
  }
  for (let i = 0; i < D; i++) assert.ok(Math.abs(pca.mean[i] - mean[i]) < 0.1, `mean ${i}`);
  // projector onto the top-3 components vs the planted one: ‖P − P̂‖_F ≤ 0.06
  const top = 3;
  let frob = 0;
  for (let i = 0; i < D; i++) {
    for (let j = 0; j < D; j++) {
      let p = 0, ph = 0;
      for (let k = 0; k < top; k++) {
        p += q[k * D + i] * q[k * D + j];
        ph += pca.components[k * D + i] * pca.components[k * D + j];
      }
      frob += (p - ph) ** 2;
    }
  }
  assert.ok(Math.sqrt(frob) <= 0.06, `subspace distance ${Math.sqrt(frob)}`);
  // each well-separated component individually (eigengaps ≥ 2×)
  for (let k = 0; k < 5; k++) {
    let dot = 0;
    for (let i = 0; i < D; i++) dot += q[k * D + i] * pca.components[k * D + i];
    assert.ok(Math.abs(dot) >= 0.99, `component ${k}: |cos| ${Math.abs(dot)}`);
  }
});

Deno.test("PCA ± split reconstructs exactly on the GPU; PCA top-k keeps the k largest |coefficients|", async () => {
  const pca = await fitPca(gpu, batches(4096), { d: D });
  const rows = 64;
  const sample = x.slice(0, rows * D);
  using xt = gpu.upload(sample, [rows, D]);
  const full = pcaDictionary(pca);
  const topk = pcaDictionary(pca, { k: 3 });
  using fullGpu = full.bind(gpu);
  using topkGpu = topk.bind(gpu);
  {
    assert.equal(full.dDict, 2 * D);
    using c = fullGpu.encode(xt);
    const ch = await c.read();
    assertClose(ch, full.encodeHost(sample), { atol: 1e-3, rtol: 1e-4 });
    for (const v of ch) assert.ok(v >= 0, "non-negative");
    using back = fullGpu.decode(c);
    assertClose(await back.read(), sample, { atol: 2e-3, rtol: 1e-5 });
    using ck = topkGpu.encode(xt);
    const kh = await ck.read();
    assertClose(kh, topk.encodeHost(sample), { atol: 1e-3, rtol: 1e-4 });
    for (let r = 0; r < rows; r++) {
      const z = Array.from({ length: D }, (_, i) => ch[r * 2 * D + 2 * i] - ch[r * 2 * D + 2 * i + 1]);
      const kept = Array.from({ length: D }, (_, i) => kh[r * 2 * D + 2 * i] - kh[r * 2 * D + 2 * i + 1]);
      const order = z.map((v, i) => [Math.abs(v), i]).sort((a, b) => b[0] - a[0]);
      for (let t = 0; t < D; t++) {
        const i = order[t][1];
        const expected = t < 3 ? z[i] : 0;
        assert.ok(Math.abs(kept[i] - expected) <= 1e-3 + 1e-4 * Math.abs(z[i]), `row ${r} comp ${i}`);
      }
    }
    assert.throws(() => pcaDictionary(pca, { k: 2, split: false }), RangeError);
    assert.throws(() => pcaDictionary(pca, { components: 0 }), RangeError);
  }
});
