/**
 * Seeded hashing and pseudo-random numbers: the same seed gives the same split, shuffle, sample and
 * initial weights on every machine. This is the project's one generator; everything random takes a
 * {@linkcode Random} made by {@linkcode seededRandom}.
 *
 * @module
 */

/**
 * Hash a string to a 53-bit unsigned integer (two 32-bit multiply-xorshift
 * lanes over its UTF-16 code units, mixed at the end).
 *
 * @param text The string to hash.
 * @param seed Selects an independent hash function.
 * @returns An integer in `[0, 2^53)`.
 * @example
 * ```ts
 * import { hashString } from "@saelab/core";
 * if (hashString("a", 1) === hashString("a", 2)) throw new Error("seeds should differ");
 * ```
 */
export function hashString(text: string, seed = 0): number {
  let h1 = 0x9e3779b9 ^ seed;
  let h2 = 0x41c6ce57 ^ Math.imul(seed, 0x85ebca6b);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x9e3779b1);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) ^ Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b) ^ Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  h2 ^= h2 >>> 15;
  return (h2 >>> 0) * 0x200000 + ((h1 >>> 0) >>> 11);
}

/**
 * Hash a string to a number uniform in `[0, 1)`.
 *
 * @param text The string to hash.
 * @param seed Selects an independent hash function.
 * @returns A number in `[0, 1)`.
 * @example
 * ```ts
 * import { hashUnit } from "@saelab/core";
 * const u = hashUnit("sotu:1790-george-washington", 0);
 * if (!(u >= 0 && u < 1)) throw new Error("out of range");
 * ```
 */
export function hashUnit(text: string, seed = 0): number {
  return hashString(text, seed) / 2 ** 53;
}

/** A pseudo-random source: each call returns a number in `[0, 1)`. */
export type Random = () => number;

/**
 * A seeded pseudo-random generator (SplitMix32-style mixing of a Weyl sequence).
 *
 * @param seed Any finite number; equal seeds give equal sequences.
 * @returns A function returning numbers in `[0, 1)`.
 * @example
 * ```ts
 * import { seededRandom } from "@saelab/core";
 * const a = seededRandom(7), b = seededRandom(7);
 * if (a() !== b()) throw new Error("not deterministic");
 * ```
 */
export function seededRandom(seed: number): Random {
  if (!Number.isFinite(seed)) throw new TypeError(`Cannot seed a random generator with ${seed}: not a finite number`);
  let state = (hashString(String(seed)) % 0x100000000) >>> 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    z ^= z >>> 15;
    return (z >>> 0) / 0x100000000;
  };
}

/**
 * A standard normal draw (Box–Muller; uses two uniforms per draw).
 *
 * @param random The uniform source, e.g. `seededRandom(seed)`.
 * @returns A sample of N(0, 1).
 * @example
 * ```ts
 * import { gaussian, seededRandom } from "@saelab/core";
 * const r = seededRandom(3);
 * let s = 0;
 * for (let i = 0; i < 4000; i++) s += gaussian(r) ** 2;
 * if (Math.abs(s / 4000 - 1) > 0.1) throw new Error("variance is not 1");
 * ```
 */
export function gaussian(random: Random): number {
  let u = random();
  while (u <= 1e-300) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * A uniform integer in `[0, n)`.
 *
 * @param random The uniform source.
 * @param n The number of outcomes (a positive integer).
 * @returns An integer in `[0, n)`.
 * @example
 * ```ts
 * import { randomInt, seededRandom } from "@saelab/core";
 * const i = randomInt(seededRandom(1), 6);
 * if (!(Number.isInteger(i) && i >= 0 && i < 6)) throw new Error("out of range");
 * ```
 */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/**
 * Shuffle an array in place (Fisher–Yates) with a seeded generator.
 *
 * @param items The array (or typed array) to shuffle.
 * @param random The generator, e.g. `seededRandom(seed)`.
 * @returns The same array, shuffled.
 * @example
 * ```ts
 * import { seededRandom, shuffleInPlace } from "@saelab/core";
 * const xs = shuffleInPlace([1, 2, 3, 4], seededRandom(1));
 * if ([...xs].sort().join() !== "1,2,3,4") throw new Error("lost an item");
 * ```
 */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(items: T, random: Random): T {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}
