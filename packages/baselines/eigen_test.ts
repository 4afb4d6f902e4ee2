import assert from "node:assert/strict";
import { seededRandom } from "@saelab/core";
import { symmetricEigen } from "@saelab/baselines";
import { randomOrthogonal } from "./_random.ts";

const METHODS = ["jacobi", "tridiagonal"] as const;

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

/** max |A v − λ v| and max |VVᵀ − I| over all pairs. */
function residuals(a: Float64Array, n: number, e: { values: Float64Array; vectors: Float64Array }) {
  let res = 0, orth = 0;
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < n; r++) {
      let av = 0;
      for (let t = 0; t < n; t++) av += a[r * n + t] * e.vectors[i * n + t];
      res = Math.max(res, Math.abs(av - e.values[i] * e.vectors[i * n + r]));
    }
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let t = 0; t < n; t++) dot += e.vectors[i * n + t] * e.vectors[j * n + t];
      orth = Math.max(orth, Math.abs(dot - (i === j ? 1 : 0)));
    }
  }
  return { res, orth };
}

for (const method of METHODS) {
  Deno.test(`${method}: recovers planted eigenvalues and eigenvectors (up to sign) to rounding`, () => {
    const values = [9, 4.5, 3, 1, 0.25, -0.5, -2];
    const { a, q } = planted(values, 3);
    const n = values.length;
    const eig = symmetricEigen(a, n, { method });
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

  Deno.test(`${method}: A·v = λ·v and orthonormal V with repeated eigenvalues, a diagonal and a zero matrix`, () => {
    const cases: [Float64Array, number][] = [
      [planted([5, 2, 2, 2, -1, 0, 7, 3, 3], 11).a, 9],
      [Float64Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? i : 0)), 4],
      [new Float64Array(9), 3],
    ];
    for (const [a, n] of cases) {
      const e = symmetricEigen(a, n, { method });
      const { res, orth } = residuals(a, n, e);
      assert.ok(res <= 1e-11 && orth <= 1e-12, `residual ${res}, orthogonality ${orth}`);
      for (let i = 1; i < n; i++) assert.ok(e.values[i - 1] >= e.values[i], "descending");
    }
  });
}

Deno.test("tridiagonal QR agrees with Jacobi on random symmetric matrices up to order 60", () => {
  const random = seededRandom(8);
  for (const n of [2, 3, 17, 60]) {
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = random() * 2 - 1;
    const jac = symmetricEigen(a, n, { method: "jacobi" });
    const tri = symmetricEigen(a, n, { method: "tridiagonal" });
    assert.ok(tri.converged);
    const scale = Math.max(...jac.values.map(Math.abs));
    for (let i = 0; i < n; i++) assert.ok(Math.abs(jac.values[i] - tri.values[i]) <= 1e-12 * scale, `n ${n} λ${i}`);
    const { res, orth } = residuals(a, n, tri);
    assert.ok(res <= 1e-11 * n && orth <= 1e-12 * n, `n ${n}: residual ${res}, orthogonality ${orth}`);
    for (let i = 0; i < n; i++) {
      const gap = Math.min(
        i > 0 ? jac.values[i - 1] - jac.values[i] : Infinity,
        i < n - 1 ? jac.values[i] - jac.values[i + 1] : Infinity,
      );
      if (gap < 1e-3) continue; // eigenvectors of close eigenvalues are ill-determined
      let dot = 0;
      for (let t = 0; t < n; t++) dot += jac.vectors[i * n + t] * tri.vectors[i * n + t];
      assert.ok(Math.abs(Math.abs(dot) - 1) <= 1e-9, `n ${n} vector ${i}: |cos| ${Math.abs(dot)}`);
    }
  }
});

Deno.test("non-convergence is reported when the iteration limit is too small; bad sizes are refused", () => {
  const { a } = planted([1, 2, 3, 4, 5, 6], 2);
  assert.equal(symmetricEigen(a, 6, { maxSweeps: 0, method: "jacobi" }).converged, false);
  assert.equal(symmetricEigen(a, 6, { maxSweeps: 0 }).converged, false);
  assert.throws(() => symmetricEigen(new Float64Array(5), 2), RangeError);
  assert.throws(() => symmetricEigen(new Float64Array(4), 2, { method: "qr" as "jacobi" }), RangeError);
  assert.deepEqual([...symmetricEigen(new Float64Array([4]), 1).values], [4]);
});
