/**
 * FastICA (Hyvärinen 1999) with the logcosh contrast `G(u) = log cosh(αu)/α`:
 * the rows are centred and whitened with the covariance's eigenvectors, then
 * the unmixing matrix is found by the fixed-point iteration
 * `w⁺ = E[z g(wᵀz)] − E[g'(wᵀz)] w`, either for all components at once with
 * symmetric decorrelation `W ← (WWᵀ)^{-1/2} W` ("symmetric") or one after the
 * other with Gram–Schmidt against those found ("deflation"). The products over
 * rows run on the GPU; the small `c × c` algebra in float64 on the CPU.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { colSum, logcosh, matmul, sum } from "@saelab/kernels";
import { covariance } from "./covariance.ts";
import { symmetricEigen } from "./eigen.ts";
import { gaussian, seededRandom } from "@saelab/core";

/** Options of {@linkcode fastIca}. */
export interface FastIcaOptions {
  /** Components to find (≤ d; whitening keeps the largest-variance ones). Default: d. */
  components?: number;
  /** `"symmetric"` (all at once) or `"deflation"` (one by one). Default `"symmetric"`. */
  algorithm?: "symmetric" | "deflation";
  /** α of the logcosh contrast, in [1, 2]. Default 1. */
  alpha?: number;
  /** Converged when `max |1 − |w⁺·w|| < tol`. Default 1e-4. */
  tol?: number;
  /** Most fixed-point iterations (per component with deflation). Default 200. */
  maxIter?: number;
  /** Seed of the initial unmixing matrix. Default 0. */
  seed?: number;
  /** Stop iterating after this many seconds (the result then reports `converged: false`). Default: no limit. */
  maxSeconds?: number;
  /** Stops between iterations with `signal.reason`. */
  signal?: AbortSignal;
  /** Called after each iteration (with deflation: per component). */
  onIteration?: (info: { iteration: number; change: number; component?: number }) => void;
}

/** A fitted ICA. Sources are `s = U (x − μ)` and `x ≈ μ + Σ_j s_j a_j`. */
export interface Ica {
  /** Input width. */
  d: number;
  /** Number of components c. */
  components: number;
  /** Rows fitted on. */
  rows: number;
  /** Mean μ `[d]`. */
  mean: Float64Array;
  /** Unmixing rows `U [c, d]` (whitening included): source j is `U_j · (x − μ)`, of unit variance. */
  unmixing: Float64Array;
  /** Mixing rows `A [c, d]`: `a_j`, the direction along which source j moves the data. */
  mixing: Float64Array;
  /** Algorithm used. */
  algorithm: "symmetric" | "deflation";
  /** Iterations run (deflation: the sum over components). */
  iterations: number;
  /** Iterations per component (deflation only). */
  componentIterations?: number[];
  /** Whether the fixed point was reached within `tol` (deflation: for every component). */
  converged: boolean;
  /** Last change `max |1 − |w⁺·w||` (deflation: the largest over components). */
  change: number;
}

/**
 * FastICA on rows `x [rows, d]`.
 *
 * @param gpu The GPU context.
 * @param x Rows, row-major.
 * @param options Width `d` and the options above.
 * @returns The unmixing and mixing matrices and whether the iteration converged.
 * @throws {RangeError} For bad sizes or options, or data whose covariance has no positive eigenvalue.
 * @example
 * ```ts ignore
 * import { fastIca } from "@saelab/baselines";
 * const ica = await fastIca(gpu, rows, { d: 128, seed: 0, maxIter: 200 });
 * console.log(ica.converged, ica.iterations);
 * ```
 */
export async function fastIca(gpu: Gpu, x: Float32Array, options: FastIcaOptions & { d: number }): Promise<Ica> {
  const { d } = options;
  const rows = x.length / d;
  if (!Number.isInteger(rows) || rows < 2) {
    throw new RangeError(`Cannot run FastICA on ${x.length} values of width ${d}`);
  }
  const algorithm = options.algorithm ?? "symmetric";
  if (algorithm !== "symmetric" && algorithm !== "deflation") {
    throw new RangeError(`Cannot run FastICA: algorithm ${JSON.stringify(algorithm)} is not symmetric or deflation`);
  }
  const alpha = options.alpha ?? 1;
  if (!(alpha >= 1 && alpha <= 2)) throw new RangeError(`Cannot run FastICA: alpha ${alpha} is not in [1, 2]`);
  const tol = options.tol ?? 1e-4, maxIter = options.maxIter ?? 200;
  if (!Number.isInteger(maxIter) || maxIter < 1) {
    throw new RangeError(`Cannot run FastICA: maxIter ${maxIter} is not ≥ 1`);
  }
  if (!(tol > 0)) throw new RangeError(`Cannot run FastICA: tol ${tol} is not positive`);
  const moments = await covariance(gpu, [x], { d });
  const eig = symmetricEigen(moments.cov, d);
  const positive = eig.values.filter((v) => v > 1e-10 * Math.max(eig.values[0], 0)).length;
  let c = options.components ?? d;
  if (!Number.isInteger(c) || c < 1 || c > d) {
    throw new RangeError(`Cannot run FastICA: components ${c} not in 1..${d}`);
  }
  if (positive === 0) throw new RangeError("Cannot run FastICA: the data has no variance");
  c = Math.min(c, positive);
  // whitening K [c, d]: row k = e_k / sqrt(λ_k)
  const whiten = new Float64Array(c * d);
  for (let k = 0; k < c; k++) {
    const s = 1 / Math.sqrt(eig.values[k]);
    for (let i = 0; i < d; i++) whiten[k * d + i] = eig.vectors[k * d + i] * s;
  }
  const kBias = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    let dot = 0;
    for (let i = 0; i < d; i++) dot += whiten[k * d + i] * moments.mean[i];
    kBias[k] = -dot;
  }
  const xt = gpu.upload(x, [rows, d], "fastica.x"); // [N, d]
  const kt = gpu.upload(Float32Array.from(whiten), [c, d], "fastica.whiten"); // [c, d]
  const kb = gpu.upload(kBias, [c], "fastica.whiten_bias");
  const z = matmul(gpu, xt, kt, { transposeB: true, bias: kb }); // [N, c] whitened rows
  xt.dispose();
  kt.dispose();
  kb.dispose();
  const random = seededRandom(options.seed ?? 0);
  const deadline = performance.now() + (options.maxSeconds ?? Infinity) * 1000;
  const fit = { gpu, z, rows, c, alpha, tol, maxIter, random, options, deadline };
  let w: Float64Array, result: { iterations: number; converged: boolean; change: number; per?: number[] };
  try {
    ({ w, ...result } = algorithm === "symmetric" ? await symmetric(fit) : await deflation(fit));
  } finally {
    z.dispose();
  }
  // unmixing U = W K; mixing a_j = Σ_k W[j, k] sqrt(λ_k) e_k
  const unmixing = new Float64Array(c * d), mixing = new Float64Array(c * d);
  for (let j = 0; j < c; j++) {
    for (let k = 0; k < c; k++) {
      const wjk = w[j * c + k], root = Math.sqrt(eig.values[k]);
      for (let i = 0; i < d; i++) {
        unmixing[j * d + i] += wjk * whiten[k * d + i];
        mixing[j * d + i] += wjk * root * eig.vectors[k * d + i];
      }
    }
  }
  return {
    d,
    components: c,
    rows,
    mean: moments.mean,
    unmixing,
    mixing,
    algorithm,
    iterations: result.iterations,
    ...(result.per ? { componentIterations: result.per } : {}),
    converged: result.converged,
    change: result.change,
  };
}

interface Fit {
  gpu: Gpu;
  z: Tensor<"f32">; // [N, c]
  rows: number;
  c: number;
  alpha: number;
  tol: number;
  maxIter: number;
  random: () => number;
  options: FastIcaOptions;
  deadline: number;
}

async function symmetric(f: Fit) {
  const { gpu, z, rows, c } = f;
  let w = decorrelate(Float64Array.from({ length: c * c }, () => gaussian(f.random)), c);
  const g = gpu.empty([rows, c], "f32", "fastica.g"), gp = gpu.empty([rows, c], "f32", "fastica.gp");
  let change = Infinity, iterations = 0;
  try {
    while (iterations < f.maxIter && (iterations === 0 || performance.now() < f.deadline)) {
      f.options.signal?.throwIfAborted();
      using wt = gpu.upload(Float32Array.from(w), [c, c], "fastica.w");
      using y = matmul(gpu, z, wt, { transposeB: true }); // [N, c]: y_j = w_j · z
      logcosh(gpu, y, { alpha: f.alpha, g, gp });
      using gz = matmul(gpu, g, z, { transposeA: true, alpha: 1 / rows }); // [c, c]: E[g(y_j) z]
      using gpCol = colSum(gpu, gp, { scale: 1 / rows }); // [c]: E[g'(y_j)]
      const [gzH, gpH] = await Promise.all([gz.read(), gpCol.read()]);
      const next = new Float64Array(c * c);
      for (let j = 0; j < c; j++) for (let k = 0; k < c; k++) next[j * c + k] = gzH[j * c + k] - gpH[j] * w[j * c + k];
      const w1 = decorrelate(next, c);
      change = 0;
      for (let j = 0; j < c; j++) {
        let dot = 0;
        for (let k = 0; k < c; k++) dot += w1[j * c + k] * w[j * c + k];
        change = Math.max(change, Math.abs(Math.abs(dot) - 1));
      }
      w = w1;
      iterations++;
      f.options.onIteration?.({ iteration: iterations, change });
      if (change < f.tol) break;
    }
  } finally {
    g.dispose();
    gp.dispose();
  }
  return { w, iterations, converged: change < f.tol, change };
}

async function deflation(f: Fit) {
  const { gpu, z, rows, c } = f;
  const w = new Float64Array(c * c);
  const g = gpu.empty([rows, 1], "f32", "fastica.g"), gp = gpu.empty([rows, 1], "f32", "fastica.gp");
  const per: number[] = [];
  let converged = true, worst = 0;
  try {
    for (let p = 0; p < c; p++) {
      let v = Float64Array.from({ length: c }, () => gaussian(f.random));
      v = orthogonalize(v, w, p);
      let change = Infinity, it = 0;
      while (it < f.maxIter && (it === 0 || performance.now() < f.deadline)) {
        f.options.signal?.throwIfAborted();
        using vt = gpu.upload(Float32Array.from(v), [c, 1], "fastica.w");
        using y = matmul(gpu, z, vt); // [N, 1]
        logcosh(gpu, y, { alpha: f.alpha, g, gp });
        using gz = matmul(gpu, z, g, { transposeA: true, alpha: 1 / rows }); // [c, 1]
        using gpMean = sum(gpu, gp, { scale: 1 / rows }); // [1]
        const [gzH, gpH] = await Promise.all([gz.read(), gpMean.read()]);
        let next = Float64Array.from(gzH, (val, k) => val - gpH[0] * v[k]);
        next = orthogonalize(next, w, p);
        let dot = 0;
        for (let k = 0; k < c; k++) dot += next[k] * v[k];
        change = Math.abs(Math.abs(dot) - 1);
        v = next;
        it++;
        f.options.onIteration?.({ iteration: it, change, component: p });
        if (change < f.tol) break;
      }
      w.set(v, p * c);
      per.push(it);
      converged &&= change < f.tol;
      worst = Math.max(worst, change);
    }
  } finally {
    g.dispose();
    gp.dispose();
  }
  return { w, iterations: per.reduce((a, b) => a + b, 0), converged, change: worst, per };
}

/** Remove the components along rows 0..p−1 of `w [c, c]` and normalise. */
function orthogonalize(v: Float64Array, w: Float64Array, p: number): Float64Array<ArrayBuffer> {
  const c = v.length;
  const out = Float64Array.from(v);
  for (let j = 0; j < p; j++) {
    let dot = 0;
    for (let k = 0; k < c; k++) dot += out[k] * w[j * c + k];
    for (let k = 0; k < c; k++) out[k] -= dot * w[j * c + k];
  }
  const norm = Math.hypot(...out) || 1;
  for (let k = 0; k < c; k++) out[k] /= norm;
  return out;
}

/**
 * Symmetric decorrelation `W ← (WWᵀ)^{-1/2} W` in float64.
 *
 * @param w Square matrix `[c, c]`.
 * @param c Its order.
 * @returns The nearest orthogonal matrix with the same row directions' span.
 */
export function decorrelate(w: Float64Array, c: number): Float64Array {
  const s = new Float64Array(c * c); // W Wᵀ
  for (let i = 0; i < c; i++) {
    for (let j = i; j < c; j++) {
      let dot = 0;
      for (let k = 0; k < c; k++) dot += w[i * c + k] * w[j * c + k];
      s[i * c + j] = s[j * c + i] = dot;
    }
  }
  const { values, vectors } = symmetricEigen(s, c);
  // (WWᵀ)^{-1/2} = Eᵀ diag(1/√λ) E, rows of E = eigenvectors
  const inv = new Float64Array(c * c);
  for (let k = 0; k < c; k++) {
    const f = 1 / Math.sqrt(Math.max(values[k], 1e-300));
    for (let i = 0; i < c; i++) {
      const a = vectors[k * c + i] * f;
      for (let j = 0; j < c; j++) inv[i * c + j] += a * vectors[k * c + j];
    }
  }
  const out = new Float64Array(c * c);
  for (let i = 0; i < c; i++) {
    for (let k = 0; k < c; k++) {
      const a = inv[i * c + k];
      for (let j = 0; j < c; j++) out[i * c + j] += a * w[k * c + j];
    }
  }
  return out;
}
