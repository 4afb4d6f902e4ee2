/**
 * Symmetric eigendecomposition by Householder reduction to tridiagonal form
 * followed by implicit symmetric QR steps with Wilkinson shifts (Golub & Van
 * Loan, §8.3), in float64. About `4n³` flops with row-contiguous access only:
 * several times faster than cyclic Jacobi for d in the hundreds. The Jacobi
 * method stays the reference it is tested against.
 *
 * @module
 */

/**
 * Eigenvalues (unsorted) and eigenvectors as rows of a symmetric matrix.
 *
 * @param a Symmetric `[n, n]` (not modified).
 * @param n Order.
 * @param maxSweeps Most QR steps per eigenvalue.
 * @returns `values [n]`, `vectors [n, n]` (row i belongs to `values[i]`) and whether every eigenvalue converged.
 */
export function tridiagonalEigen(
  a: ArrayLike<number>,
  n: number,
  maxSweeps = 60,
): { values: Float64Array; vectors: Float64Array; converged: boolean; steps: number } {
  const m = Float64Array.from(a as ArrayLike<number>); // working copy, row-major, kept symmetric
  const qt = new Float64Array(n * n); // rows: columns of the accumulated orthogonal Q
  for (let i = 0; i < n; i++) qt[i * n + i] = 1;
  const v = new Float64Array(n), p = new Float64Array(n), s = new Float64Array(n);
  // Householder: zero column k below the subdiagonal, k = 0 … n − 3
  for (let k = 0; k < n - 2; k++) {
    const lo = k + 1;
    let norm = 0;
    for (let i = lo; i < n; i++) norm += m[i * n + k] ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const x0 = m[lo * n + k];
    const alpha = x0 > 0 ? -norm : norm;
    let vn = 0;
    for (let i = lo; i < n; i++) {
      v[i] = m[i * n + k] - (i === lo ? alpha : 0);
      vn += v[i] * v[i];
    }
    if (vn === 0) continue;
    vn = 1 / Math.sqrt(vn);
    for (let i = lo; i < n; i++) v[i] *= vn;
    // p = A_sub v, w = p − (vᵀp) v, A_sub −= 2 v wᵀ + 2 w vᵀ
    let vp = 0;
    for (let i = lo; i < n; i++) {
      let acc = 0;
      const row = i * n;
      for (let j = lo; j < n; j++) acc += m[row + j] * v[j];
      p[i] = acc;
      vp += v[i] * acc;
    }
    for (let i = lo; i < n; i++) p[i] -= vp * v[i];
    for (let i = lo; i < n; i++) {
      const row = i * n, vi = 2 * v[i], pi = 2 * p[i];
      for (let j = lo; j < n; j++) m[row + j] -= vi * p[j] + pi * v[j];
    }
    m[lo * n + k] = m[k * n + lo] = alpha;
    for (let i = lo + 1; i < n; i++) m[i * n + k] = m[k * n + i] = 0;
    // Qᵀ ← H Qᵀ on rows lo … n − 1
    s.fill(0);
    for (let i = lo; i < n; i++) {
      const row = i * n, vi = v[i];
      for (let j = 0; j < n; j++) s[j] += vi * qt[row + j];
    }
    for (let i = lo; i < n; i++) {
      const row = i * n, vi = 2 * v[i];
      for (let j = 0; j < n; j++) qt[row + j] -= vi * s[j];
    }
  }
  const d = new Float64Array(n), e = new Float64Array(Math.max(0, n - 1));
  for (let i = 0; i < n; i++) d[i] = m[i * n + i];
  for (let i = 0; i < n - 1; i++) e[i] = m[(i + 1) * n + i];
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]) + (i < n - 1 ? Math.abs(e[i]) : 0));
  const small = (i: number) => Math.abs(e[i]) <= 1e-15 * (Math.abs(d[i]) + Math.abs(d[i + 1])) + 1e-17 * norm;
  let steps = 0, converged = true;
  let hi = n - 1, sinceDeflation = 0;
  while (hi > 0) {
    if (small(hi - 1)) {
      e[hi - 1] = 0;
      hi--;
      sinceDeflation = 0;
      continue;
    }
    if (sinceDeflation >= maxSweeps) {
      converged = false;
      e[hi - 1] = 0;
      hi--;
      sinceDeflation = 0;
      continue;
    }
    let lo = hi - 1;
    while (lo > 0 && !small(lo - 1)) lo--;
    qrStep(d, e, qt, { lo, hi, n });
    steps++;
    sinceDeflation++;
  }
  return { values: d, vectors: qt, converged, steps };
}

/** One implicit symmetric QR step with a Wilkinson shift on the unreduced block lo … hi. */
function qrStep(d: Float64Array, e: Float64Array, qt: Float64Array, o: { lo: number; hi: number; n: number }): void {
  const { lo, hi, n } = o;
  const half = (d[hi - 1] - d[hi]) / 2;
  const b = e[hi - 1];
  const mu = d[hi] - (b * b) / (half + (half >= 0 ? 1 : -1) * Math.hypot(half, b));
  let x = d[lo] - mu, z = e[lo];
  for (let k = lo; k < hi; k++) {
    const r = Math.hypot(x, z);
    const c = r === 0 ? 1 : x / r, s = r === 0 ? 0 : z / r;
    if (k > lo) e[k - 1] = r;
    const app = d[k], aqq = d[k + 1], apq = e[k];
    d[k] = c * c * app + 2 * c * s * apq + s * s * aqq;
    d[k + 1] = s * s * app - 2 * c * s * apq + c * c * aqq;
    e[k] = c * s * (aqq - app) + (c * c - s * s) * apq;
    if (k + 1 < hi) {
      z = s * e[k + 1];
      e[k + 1] *= c;
      x = e[k];
    }
    const rp = k * n, rq = (k + 1) * n;
    for (let j = 0; j < n; j++) {
      const qp = qt[rp + j], qq = qt[rq + j];
      qt[rp + j] = c * qp + s * qq;
      qt[rq + j] = -s * qp + c * qq;
    }
  }
}
