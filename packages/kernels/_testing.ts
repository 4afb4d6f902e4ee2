/**
 * Seeded test data for the kernel tests.
 *
 * @module
 */
import { seededRandom } from "@saelab/core";

/**
 * Deterministic pseudo-random floats in `[lo, hi)` (the seeded generator of `@saelab/core`).
 *
 * @param n How many.
 * @param seed Seed.
 * @returns The values.
 */
export function randomFloats(n: number, seed: number, lo = -1, hi = 1): Float32Array<ArrayBuffer> {
  const random = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * random();
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
