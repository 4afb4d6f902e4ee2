/**
 * Symmetric eigendecomposition in float64 on the CPU, two ways:
 *
 * - `"jacobi"`: the cyclic Jacobi method — each sweep visits every pair (p, q) and applies the plane
 *   rotation that zeroes `a[p, q]`, until the off-diagonal mass is below `tol` relative to the whole
 *   matrix. Simple and accurate to rounding; the reference.
 * - `"tridiagonal"` (default): Householder reduction to tridiagonal form, then implicit QR steps with
 *   Wilkinson shifts (`_tridiagonal.ts`); the same results several times faster for d in the hundreds.
 *
 * @module
 */
import { tridiagonalEigen } from "./_tridiagonal.ts";

/** Options of {@linkcode symmetricEigen}. */
export interface EigenOptions {
  /** Stop when `sqrt(Σ_{p≠q} a_pq²) ≤ tol · ‖A‖_F`. Default 1e-14. */
  tol?: number;
  /** Most sweeps (Jacobi) or QR steps per eigenvalue (tridiagonal). Default 60. */
  maxSweeps?: number;
  /** Algorithm. Default `"tridiagonal"`. */
  method?: "jacobi" | "tridiagonal";
}

/** Eigenvalues and eigenvectors of a symmetric matrix. */
export interface Eigen {
  /** Eigenvalues, largest first `[n]`. */
  values: Float64Array;
  /** Eigenvectors as rows, in the order of `values` `[n, n]`: row i is the unit vector of `values[i]`. */
  vectors: Float64Array;
  /** Sweeps (Jacobi) or QR steps (tridiagonal) run. */
  sweeps: number;
  /** Whether the iteration reached its tolerance. */
  converged: boolean;
}

/**
 * Eigendecomposition `A = Vᵀ diag(values) V` of a symmetric matrix (rows of `V` are eigenvectors).
 *
 * @param a Symmetric matrix `[n, n]`, row-major (not modified; only its upper triangle is read).
 * @param n Its order.
 * @param options Tolerance and sweep limit.
 * @returns Eigenvalues (descending) and unit eigenvectors as rows.
 * @throws {RangeError} When `a` does not hold `n²` values.
 * @example Eigenvalues of [[2, 1], [1, 2]] are 3 and 1
 * ```ts
 * import { symmetricEigen } from "@saelab/baselines";
 * const { values, vectors } = symmetricEigen(new Float64Array([2, 1, 1, 2]), 2);
 * if (Math.abs(values[0] - 3) > 1e-12 || Math.abs(values[1] - 1) > 1e-12) throw new Error("values");
 * if (Math.abs(Math.abs(vectors[0]) - Math.SQRT1_2) > 1e-12) throw new Error("vector");
 * ```
 */
export function symmetricEigen(a: ArrayLike<number>, n: number, options: EigenOptions = {}): Eigen {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) {
    throw new RangeError(`Cannot decompose a matrix of ${a.length} values as ${n}×${n}`);
  }
  const tol = options.tol ?? 1e-14;
  const maxSweeps = options.maxSweeps ?? 60;
  const method = options.method ?? "tridiagonal";
  if (method === "tridiagonal") {
    const sym = new Float64Array(n * n);
    for (let p = 0; p < n; p++) for (let q = p; q < n; q++) sym[p * n + q] = sym[q * n + p] = a[p * n + q];
    const t = tridiagonalEigen(sym, n, maxSweeps);
    return sorted(t.values, t.vectors, n, { sweeps: t.steps, converged: t.converged });
  }
  if (method !== "jacobi") throw new RangeError(`Cannot decompose: method ${JSON.stringify(method)} is unknown`);
  const m = new Float64Array(n * n);
  for (let p = 0; p < n; p++) {
    for (let q = p; q < n; q++) m[p * n + q] = m[q * n + p] = a[p * n + q];
  }
  const v = new Float64Array(n * n); // rows: eigenvectors
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += m[i] * m[i];
  const limit = tol * tol * total;
  let sweeps = 0, converged = false;
  for (; sweeps <= maxSweeps; sweeps++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += 2 * m[p * n + q] * m[p * n + q];
    if (off <= limit || off === 0) {
      converged = true;
      break;
    }
    if (sweeps === maxSweeps) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) if (m[p * n + q] !== 0) rotate(m, v, n, p, q);
    }
  }
  return sorted(Float64Array.from({ length: n }, (_, i) => m[i * n + i]), v, n, { sweeps, converged });
}

function sorted(
  vals: Float64Array,
  vecs: Float64Array,
  n: number,
  info: { sweeps: number; converged: boolean },
): Eigen {
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => vals[j] - vals[i]);
  const values = new Float64Array(n), vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = vals[src];
    vectors.set(vecs.subarray(src * n, src * n + n), dst * n);
  });
  return { values, vectors, ...info };
}

/** Apply the Jacobi rotation that zeroes m[p, q] to m (both sides) and to the rows of v. */
function rotate(m: Float64Array, v: Float64Array, n: number, p: number, q: number): void {
  const apq = m[p * n + q], app = m[p * n + p], aqq = m[q * n + q];
  const tau = (aqq - app) / (2 * apq);
  const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
  const c = 1 / Math.sqrt(1 + t * t), s = t * c;
  const rp = p * n, rq = q * n;
  for (let k = 0; k < n; k++) {
    if (k === p || k === q) continue;
    const akp = m[rp + k], akq = m[rq + k];
    const np = c * akp - s * akq, nq = s * akp + c * akq;
    m[rp + k] = np;
    m[k * n + p] = np;
    m[rq + k] = nq;
    m[k * n + q] = nq;
  }
  m[rp + p] = app - t * apq;
  m[rq + q] = aqq + t * apq;
  m[rp + q] = 0;
  m[rq + p] = 0;
  for (let k = 0; k < n; k++) {
    const vp = v[rp + k], vq = v[rq + k];
    v[rp + k] = c * vp - s * vq;
    v[rq + k] = s * vp + c * vq;
  }
}
