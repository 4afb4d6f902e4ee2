/**
 * Seeded orders over the one generator of `@saelab/core`.
 *
 * @module
 */
import { seededRandom, shuffleInPlace } from "@saelab/core";

/** Uniform numbers in [0, 1) from a seed. */
export const seeded: (seed: number) => () => number = seededRandom;

/** A shuffled copy (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  return shuffleInPlace([...items], rand);
}
