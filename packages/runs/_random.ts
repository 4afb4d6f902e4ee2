/**
 * Seeded randomness for synthetic data, over the one generator of `@saelab/core`.
 *
 * @module
 */
import { gaussian, randomInt, seededRandom } from "@saelab/core";

/** A seeded source of uniform and normal numbers. */
export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
  /** Integer in [0, n). */
  int(n: number): number;
}

/** A generator seeded with `seed` (any integer). */
export function makeRng(seed: number): Rng {
  const uniform = seededRandom(seed);
  return { uniform, normal: () => gaussian(uniform), int: (n) => randomInt(uniform, n) };
}
