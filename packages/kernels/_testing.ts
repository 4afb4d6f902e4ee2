/**
 * Seeded test data for the kernel tests.
 *
 * @module
 */

/**
 * Deterministic pseudo-random floats in `[lo, hi)` (mulberry32).
 *
 * @param n How many.
 * @param seed Seed.
 * @returns The values.
 */
export function randomFloats(n: number, seed: number, lo = -1, hi = 1): Float32Array<ArrayBuffer> {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = lo + (hi - lo) * r;
  }
  return out;
}

/** Like {@linkcode randomFloats} with about `fraction` of the values set to exactly 0. */
export function sparseFloats(n: number, seed: number, fraction = 0.3): Float32Array<ArrayBuffer> {
  const v = randomFloats(n, seed);
  const r = randomFloats(n, seed + 1, 0, 1);
  for (let i = 0; i < n; i++) if (r[i] < fraction) v[i] = 0;
  return v;
}

/** Shapes that are awkward for kernels: single elements, single columns, odd sizes, tall and wide. */
export const AWKWARD_2D: readonly [number, number][] = [
  [1, 1],
  [1, 7],
  [5, 1],
  [3, 5],
  [17, 33],
  [1000, 3],
  [2, 1025],
];
