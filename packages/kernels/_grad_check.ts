/**
 * Central finite differences for the backward-pass tests.
 *
 * @module
 */

/**
 * Numerical gradient of a scalar function by central differences, in float64.
 *
 * @param f The function of a flat parameter vector.
 * @param x The point (not modified).
 * @param h Step. Default 1e-5.
 * @returns `∂f/∂x_i` for every `i`.
 */
export function numericGrad(f: (x: Float64Array) => number, x: ArrayLike<number>, h = 1e-5): Float64Array {
  const p = Float64Array.from(x);
  const g = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const keep = p[i];
    p[i] = keep + h;
    const up = f(p);
    p[i] = keep - h;
    const down = f(p);
    p[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** `Σ a_i · b_i`: a scalar loss whose gradient with respect to `a` is `b`. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
