/**
 * CPU references of the error function and exact GELU (float64).
 *
 * @module
 */

/**
 * The error function to double precision: its Maclaurin series below 2, a
 * continued fraction of `erfc` above.
 *
 * @param x Argument.
 * @returns `erf(x)`.
 * @example
 * ```ts
 * import { erfRef, geluRef } from "./gelu_ref.ts";
 * console.log(erfRef(0.5).toFixed(10), geluRef([0])[0]); // 0.5204998778 0
 * ```
 */
export function erfRef(x: number): number {
  const z = Math.abs(x);
  if (z < 2) {
    let term = z, sum = z;
    for (let n = 1; n < 60; n++) {
      term *= -z * z / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(z) = exp(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), evaluated by Lentz's method
  let f = z, c = z, d = 0;
  for (let n = 1; n < 200; n++) {
    d = z + (n / 2) * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = z + (n / 2) / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.sign(x) * (1 - Math.exp(-z * z) / (Math.sqrt(Math.PI) * f));
}

/**
 * Exact GELU of each value, `x/2 · (1 + erf(x/√2))`.
 *
 * @param x Input values.
 * @returns The activations.
 * @example
 * ```ts
 * import { erfRef, geluRef } from "./gelu_ref.ts";
 * console.log(geluRef([1])[0].toFixed(6), 0.5 * (1 + erfRef(Math.SQRT1_2)) === geluRef([1])[0]); // 0.841345 true
 * ```
 */
export function geluRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => 0.5 * v * (1 + erfRef(v / Math.SQRT2)));
}
