/**
 * Numerical comparison used by every kernel test: `|a − b| ≤ atol + rtol·|ref|`, and a fresh GPU context
 * for tests that own their device.
 *
 * @module
 */
import { createGpu, type Gpu } from "./gpu.ts";

/** Absolute and relative tolerance. */
export interface Tolerance {
  /** Absolute tolerance. Default 1e-5. */
  atol?: number;
  /** Relative tolerance (times `|ref|`). Default 1e-4. */
  rtol?: number;
}

/** The worst element of a comparison. */
export interface Closeness {
  /** Index of the worst element (largest excess over its bound), or -1. */
  index: number;
  /** Largest `|a − b| − (atol + rtol·|ref|)`; ≤ 0 when everything is within tolerance. */
  excess: number;
  /** Largest absolute difference. */
  maxAbs: number;
}

/**
 * Compare two arrays elementwise.
 *
 * @param actual Computed values.
 * @param expected Reference values.
 * @param tol Tolerances.
 * @returns The worst element.
 * @example
 * ```ts
 * import { closeness } from "@saelab/gpu";
 * const c = closeness([1, 2.00001], [1, 2], { atol: 1e-4 });
 * if (c.excess > 0) throw new Error("not close");
 * ```
 */
export function closeness(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance = {},
): Closeness {
  const atol = tol.atol ?? 1e-5;
  const rtol = tol.rtol ?? 1e-4;
  if (actual.length !== expected.length) {
    throw new RangeError(`Cannot compare arrays of lengths ${actual.length} and ${expected.length}`);
  }
  let index = -1, excess = -Infinity, maxAbs = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], b = expected[i];
    const d = Math.abs(a - b);
    const e = Number.isNaN(d) ? (Number.isNaN(a) && Number.isNaN(b) ? -1 : Infinity) : d - (atol + rtol * Math.abs(b));
    if (a === b) continue; // covers equal infinities
    if (e > excess) {
      excess = e;
      index = i;
    }
    if (d > maxAbs) maxAbs = d;
  }
  return { index, excess: index < 0 ? 0 : excess, maxAbs };
}

/**
 * Throw when `actual` and `expected` differ beyond `atol + rtol·|expected|`.
 *
 * @param actual Computed values.
 * @param expected Reference values.
 * @param tol Tolerances.
 * @param what Name used in the message.
 * @example
 * ```ts
 * import { assertClose } from "@saelab/gpu";
 * assertClose(new Float32Array([0.1 + 0.2]), [0.3], { atol: 1e-6 });
 * ```
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance = {},
  what = "values",
): void {
  const c = closeness(actual, expected, tol);
  if (c.excess > 0) {
    throw new Error(
      `${what} differ at index ${c.index}: got ${actual[c.index]}, expected ${expected[c.index]} ` +
        `(max |diff| ${c.maxAbs.toExponential(3)}, atol ${tol.atol ?? 1e-5}, rtol ${tol.rtol ?? 1e-4})`,
    );
  }
}

/**
 * Run `fn` on a fresh GPU context, destroyed afterwards whatever happens (tests that own their device).
 *
 * @param fn The work.
 * @returns When `fn` has finished and the context is destroyed.
 * @example
 * ```ts ignore
 * await withGpu(async (gpu) => console.log(await gpu.zeros([2]).read()));
 * ```
 */
export async function withGpu(fn: (gpu: Gpu) => Promise<void> | void): Promise<void> {
  const gpu = await createGpu();
  try {
    await fn(gpu);
  } finally {
    gpu.destroy();
  }
}
