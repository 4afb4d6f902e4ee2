/**
 * Mean and covariance of a stream of row batches, accumulated on the GPU:
 * every batch is shifted by a fixed reference (the first batch's mean, so the
 * float32 sums do not cancel), then `Σ xᵀx` grows by one accumulating matmul
 * and `Σ x` by a column sum. Nothing is read back until the stream ends.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { addBias, colSum, matmul } from "@saelab/kernels";

/** First and second moments of a set of rows. */
export interface Moments {
  /** Row width. */
  d: number;
  /** Rows seen. */
  rows: number;
  /** Mean `[d]`. */
  mean: Float64Array;
  /** Covariance `[d, d]`, normalised by the number of rows (not rows − 1). */
  cov: Float64Array;
}

/** Options of {@linkcode covariance}. */
export interface CovarianceOptions {
  /** Stop after this many rows (a batch is cut). Default: all. */
  maxRows?: number;
  /** Stops between batches with `signal.reason`. */
  signal?: AbortSignal;
  /** Called after each batch with the rows so far. */
  onRows?: (rows: number) => void;
}

/**
 * Mean and covariance of row batches, on the GPU.
 *
 * @param gpu The GPU context.
 * @param batches Batches of rows `[rows, d]`, row-major.
 * @param options Row width `d`, row limit, abort signal, progress.
 * @returns The moments (float64 on the host).
 * @throws {RangeError} When there are no rows or a batch is not a whole number of rows.
 * @example
 * ```ts ignore
 * import { covariance } from "@saelab/baselines";
 * const m = await covariance(gpu, batchesOf(store), { d: store.d, maxRows: 65536 });
 * ```
 */
export async function covariance(
  gpu: Gpu,
  batches: Iterable<Float32Array> | AsyncIterable<Float32Array>,
  options: CovarianceOptions & { d: number },
): Promise<Moments> {
  const { d } = options;
  const maxRows = options.maxRows ?? Infinity;
  const shift = new Float64Array(d);
  const s = gpu.zeros([d, d], "f32", "cov.xtx"); // [d, d]
  const sum = gpu.zeros([d], "f32", "cov.sum"); // [d]
  let negShift: Tensor<"f32"> | null = null;
  let rows = 0;
  try {
    for await (const batch of batches) {
      options.signal?.throwIfAborted();
      if (batch.length % d !== 0) {
        throw new RangeError(`Cannot accumulate a covariance: a batch of ${batch.length} values is not rows of ${d}`);
      }
      const take = Math.min(batch.length / d, maxRows - rows);
      if (take <= 0) break;
      const x = batch.subarray(0, take * d);
      if (negShift === null) {
        for (let r = 0; r < take; r++) for (let i = 0; i < d; i++) shift[i] += x[r * d + i] / take;
        negShift = gpu.upload(Float32Array.from(shift, (v) => -v), [d], "cov.shift");
        for (let i = 0; i < d; i++) shift[i] = Math.fround(shift[i]); // what the GPU subtracts
      }
      const xt = gpu.upload(x, [take, d], "cov.batch"); // [B, d]
      addBias(gpu, xt, negShift, { out: xt });
      matmul(gpu, xt, xt, { transposeA: true, out: s, accumulate: true });
      colSum(gpu, xt, { accumulate: sum });
      xt.dispose();
      rows += take;
      options.onRows?.(rows);
      if (rows >= maxRows) break;
    }
    if (rows === 0) throw new RangeError("Cannot compute a covariance: no rows were given");
    const [sh, su] = await Promise.all([s.read(), sum.read()]);
    const mean = new Float64Array(d), cov = new Float64Array(d * d);
    const m = Float64Array.from(su, (v) => v / rows); // mean of the shifted rows
    for (let i = 0; i < d; i++) mean[i] = shift[i] + m[i];
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) {
        const c = (sh[i * d + j] + sh[j * d + i]) / (2 * rows) - m[i] * m[j];
        cov[i * d + j] = cov[j * d + i] = c;
      }
    }
    return { d, rows, mean, cov };
  } finally {
    s.dispose();
    sum.dispose();
    negShift?.dispose();
  }
}

/**
 * Mean and covariance on the CPU in float64 (the reference for {@linkcode covariance}).
 *
 * @param x Rows `[rows, d]`.
 * @param d Row width.
 * @returns The moments.
 * @example
 * ```ts
 * import { covarianceHost } from "@saelab/baselines";
 * const m = covarianceHost(new Float32Array([1, 0, 3, 2]), 2); // rows (1, 0) and (3, 2)
 * if (m.mean[0] !== 2 || m.cov[1] !== 1) throw new Error("moments");
 * ```
 */
export function covarianceHost(x: Float32Array, d: number): Moments {
  const rows = x.length / d;
  if (!Number.isInteger(rows) || rows === 0) throw new RangeError(`Cannot compute a covariance of ${x.length} values`);
  const mean = new Float64Array(d), cov = new Float64Array(d * d);
  for (let r = 0; r < rows; r++) for (let i = 0; i < d; i++) mean[i] += x[r * d + i] / rows;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < d; i++) {
      const a = x[r * d + i] - mean[i];
      for (let j = i; j < d; j++) cov[i * d + j] += (a * (x[r * d + j] - mean[j])) / rows;
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) cov[i * d + j] = cov[j * d + i];
  return { d, rows, mean, cov };
}
