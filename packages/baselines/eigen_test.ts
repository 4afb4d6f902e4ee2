import assert from "node:assert/strict";
import { seededRandom } from "@saelab/corpus";
import { symmetricEigen } from "@saelab/baselines";
import { randomOrthogonal } from "./_random.ts";

/** A = Qᵀ diag(λ) Q built in float64 from a random orthogonal Q. */
function planted(values: number[], seed: number): { a: Float64Array; q: Float64Array } {
  const n = values.length;
  const q = randomOrthogonal(n, seededRandom(seed));
  const a = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] += values[k] * q[k * n + i] * q[k * n + j];
  }
  return { a, q };
}

Deno.test("Jacobi recovers planted eigenvalues and eigenvectors (up to sign) to rounding", () => {
  const values = [9, 4.5, 3, 1, 0.25, -0.5, -2];
  const { a, q } = planted(values, 3);
  const n = values.length;
  const eig = symmetricEigen(a, n);
  assert.ok(eig.converged);
  const sorted = [...values].sort((x, y) => y - x);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(eig.values[i] - sorted[i]) <= 1e-12 * 9, `value ${i}`);
  for (let i = 0; i < n; i++) {
    const k = values.indexOf(sorted[i]);
    let dot = 0;
    for (let t = 0; t < n; t++) dot += eig.vectors[i * n + t] * q[k * n + t];
    assert.ok(Math.abs(Math.abs(dot) - 1) <= 1e-10, `vector ${i}: |cos| = ${Math.abs(dot)}`);
  }
});

Deno.test("Jacobi: A·v = λ·v and V orthonormal on a random symmetric matrix with a repeated eigenvalue", () => {
  const { a } = planted([5, 2, 2, 2, -1, 0, 7, 3, 3], 11);
  const n = 9;
  const { values, vectors } = symmetricEigen(a, n);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < n; r++) {
      let av = 0;
      for (let t = 0; t < n; t++) av += a[r * n + t] * vectors[i * n + t];
      assert.ok(Math.abs(av - values[i] * vectors[i * n + r]) <= 1e-11, `residual ${i},${r}`);
    }
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let t = 0; t < n; t++) dot += vectors[i * n + t] * vectors[j * n + t];
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) <= 1e-12, `orthonormal ${i},${j}`);
    }
  }
  for (let i = 1; i < n; i++) assert.ok(values[i - 1] >= values[i], "descending");
});

Deno.test("Jacobi reports non-convergence when the sweep limit is too small, and rejects bad sizes", () => {
  const { a } = planted([1, 2, 3, 4, 5, 6], 2);
  assert.equal(symmetricEigen(a, 6, { maxSweeps: 0 }).converged, false);
  assert.throws(() => symmetricEigen(new Float64Array(5), 2), RangeError);
  const one = symmetricEigen(new Float64Array([4]), 1);
  assert.deepEqual([...one.values], [4]);
});
