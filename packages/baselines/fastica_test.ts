import assert from "node:assert/strict";
import { assertClose, createGpu } from "@saelab/gpu";
import { fastIca, icaDictionary } from "@saelab/baselines";
import { gaussian, seededRandom } from "@saelab/core";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

const N = 8000;
const S = 4;
/** Four unit-variance non-Gaussian sources (uniform, Laplace, binary with jitter, centred exponential) mixed by a random A. */
function mixture(seed: number) {
  const random = seededRandom(seed);
  const src = new Float64Array(N * S);
  for (let r = 0; r < N; r++) {
    src[r * S] = (random() * 2 - 1) * Math.sqrt(3);
    const u = random() - 0.5;
    src[r * S + 1] = (-Math.sign(u) * Math.log(1 - 2 * Math.abs(u))) / Math.SQRT2;
    src[r * S + 2] = (random() < 0.5 ? -1 : 1) + 0.05 * gaussian(random);
    src[r * S + 3] = -Math.log(1 - random()) - 1;
  }
  const a = Float64Array.from({ length: S * S }, () => gaussian(random)); // x = A s, A [S, S]
  const x = new Float32Array(N * S);
  for (let r = 0; r < N; r++) {
    for (let i = 0; i < S; i++) {
      let v = 3 + i; // offset
      for (let k = 0; k < S; k++) v += a[i * S + k] * src[r * S + k];
      x[r * S + i] = v;
    }
  }
  return { x, a };
}

/**
 * Amari distance of P = U·A from a scaled permutation, in [0, 1]:
 * (Σ_i (Σ_j |p_ij| / max_j |p_ij| − 1) + Σ_j (Σ_i |p_ij| / max_i |p_ij| − 1)) / (2n(n − 1)).
 */
function amari(u: Float64Array, a: Float64Array, n: number): number {
  const p = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) p[i * n + j] += u[i * n + k] * a[k * n + j];
  }
  let s = 0;
  for (let i = 0; i < n; i++) {
    let row = 0, rmax = 0, col = 0, cmax = 0;
    for (let j = 0; j < n; j++) {
      row += Math.abs(p[i * n + j]);
      rmax = Math.max(rmax, Math.abs(p[i * n + j]));
      col += Math.abs(p[j * n + i]);
      cmax = Math.max(cmax, Math.abs(p[j * n + i]));
    }
    s += row / rmax - 1 + col / cmax - 1;
  }
  return s / (2 * n * (n - 1));
}

const { x, a } = mixture(7);

for (const algorithm of ["symmetric", "deflation"] as const) {
  Deno.test(`FastICA (${algorithm}) unmixes four non-Gaussian sources: Amari distance < 0.05`, async () => {
    const ica = await fastIca(gpu, x, { d: S, algorithm, seed: 1, tol: 1e-5, maxIter: 300 });
    assert.ok(ica.converged, `converged (change ${ica.change} after ${ica.iterations})`);
    assert.equal(ica.components, S);
    const dist = amari(ica.unmixing, a, S);
    assert.ok(dist < 0.05, `Amari distance ${dist}`);
    // a random unmixing is far from a permutation: the bound is meaningful
    const random = seededRandom(99);
    const guess = Float64Array.from({ length: S * S }, () => gaussian(random));
    assert.ok(amari(guess, a, S) > 0.2, "a random matrix should fail the bound");
    // mixing rows are the pseudo-inverse of the unmixing rows: U Aᵀ = I
    for (let i = 0; i < S; i++) {
      for (let j = 0; j < S; j++) {
        let dot = 0;
        for (let t = 0; t < S; t++) dot += ica.unmixing[i * S + t] * ica.mixing[j * S + t];
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-6, `U·a ${i},${j} = ${dot}`);
      }
    }
    if (algorithm === "deflation") assert.equal(ica.componentIterations?.length, S);
  });
}

Deno.test("FastICA reports non-convergence at the iteration limit and is reproducible by seed", async () => {
  const one = await fastIca(gpu, x, { d: S, seed: 3, maxIter: 1, tol: 1e-12 });
  assert.equal(one.converged, false);
  assert.equal(one.iterations, 1);
  const again = await fastIca(gpu, x, { d: S, seed: 3, maxIter: 1, tol: 1e-12 });
  assert.deepEqual(again.unmixing, one.unmixing);
  await assert.rejects(() => fastIca(gpu, x, { d: S, alpha: 3 }), RangeError);
  await assert.rejects(() => fastIca(gpu, x, { d: S, components: 5 }), RangeError);
});

Deno.test("ICA ± split dictionary reconstructs exactly; ICA top-k keeps k features per row", async () => {
  const ica = await fastIca(gpu, x, { d: S, seed: 1, tol: 1e-5, maxIter: 300 });
  const dict = icaDictionary(ica);
  const topk = icaDictionary(ica, { k: 2 });
  using dictGpu = dict.bind(gpu);
  using topkGpu = topk.bind(gpu);
  {
    const rows = 32;
    const sample = x.slice(0, rows * S);
    using xt = gpu.upload(sample, [rows, S]);
    using c = dictGpu.encode(xt);
    assertClose(await c.read(), dict.encodeHost(sample), { atol: 1e-3, rtol: 1e-4 });
    using back = dictGpu.decode(c);
    assertClose(await back.read(), sample, { atol: 1e-3, rtol: 1e-5 });
    const u = dict.directions();
    for (let j = 0; j < dict.dDict; j++) {
      assert.ok(Math.abs(Math.hypot(...u.subarray(j * S, (j + 1) * S)) - 1) < 1e-5, "unit decoder rows");
    }
    using ck = topkGpu.encode(xt);
    const kh = await ck.read();
    for (let r = 0; r < rows; r++) {
      assert.ok(kh.subarray(r * 2 * S, (r + 1) * 2 * S).filter((v) => v !== 0).length <= 2, `row ${r}`);
    }
    assertClose(kh, topk.encodeHost(sample), { atol: 1e-3, rtol: 1e-4 });
  }
});
