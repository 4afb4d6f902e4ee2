/**
 * CPU reference of {@linkcode matmul}, accumulating in float64.
 *
 * @module
 */

/** Shapes and epilogue of {@linkcode matmulRef}. */
export interface MatmulRefOptions {
  /** Rows of the result. */
  m: number;
  /** Columns of the result. */
  n: number;
  /** Inner dimension. */
  k: number;
  /** `a` is stored [k, m]. */
  transposeA?: boolean;
  /** `b` is stored [n, k]. */
  transposeB?: boolean;
  /** Added to every row: length n. */
  bias?: ArrayLike<number>;
  /** `max(x, 0)` last. */
  relu?: boolean;
  /** Scale of the product. Default 1. */
  alpha?: number;
  /** Values [m, n] to add the result to (the `accumulate` option's previous `out`). */
  accumulate?: ArrayLike<number>;
}

/**
 * `relu?(alpha · op(A)·op(B) + bias + accumulate)`, row-major, every sum taken in float64.
 *
 * @param a Left operand, row-major: [m, k], or [k, m] with `transposeA`.
 * @param b Right operand, row-major: [k, n], or [n, k] with `transposeB`.
 * @param options Shapes, transposes and epilogue.
 * @returns The result [m, n] in float64.
 * @example
 * ```ts
 * import { matmulRef, type MatmulRefOptions } from "@saelab/kernels";
 * const shape: MatmulRefOptions = { m: 2, n: 2, k: 2 };
 * const c = matmulRef([1, 2, 3, 4], [5, 6, 7, 8], shape);
 * if (c.join() !== "19,22,43,50") throw new Error("wrong product");
 * ```
 */
export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, options: MatmulRefOptions): Float64Array {
  const { m, n, k } = options;
  const alpha = options.alpha ?? 1;
  if (a.length !== m * k || b.length !== k * n) {
    throw new RangeError(
      `Cannot run matmulRef: a has ${a.length} values and b ${b.length}, expected ${m * k} and ${k * n}`,
    );
  }
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) {
        const av = options.transposeA ? a[l * m + i] : a[i * k + l];
        const bv = options.transposeB ? b[j * k + l] : b[l * n + j];
        s += av * bv;
      }
      let x = alpha * s;
      if (options.bias) x += options.bias[j];
      if (options.accumulate) x += options.accumulate[i * n + j];
      if (options.relu) x = Math.max(x, 0);
      c[i * n + j] = x;
    }
  }
  return c;
}
