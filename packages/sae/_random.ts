/**
 * Seeded uniform, integer and normal draws over the one generator of `@saelab/core`, so the CPU
 * reference and the GPU trainer start from identical weights.
 *
 * @module
 */
import { gaussian, type Random, randomInt, seededRandom } from "@saelab/core";

/** Seeded pseudo-random numbers. */
export class Rng {
  #random: Random;

  /** @param seed Any integer; equal seeds give equal streams. */
  constructor(seed: number) {
    this.#random = seededRandom(seed);
  }

  /** Uniform in `[0, 1)`. */
  uniform(): number {
    return this.#random();
  }

  /** Integer uniform in `[0, n)`. */
  int(n: number): number {
    return randomInt(this.#random, n);
  }

  /** Standard normal. */
  normal(): number {
    return gaussian(this.#random);
  }
}
