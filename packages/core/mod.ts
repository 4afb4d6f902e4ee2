/**
 * The few things every SAE Lab package shares: the one seeded random generator (with Gaussian
 * draws, shuffles and string hashes), canonical JSON, and the progress callback type. This entry
 * point runs in browsers too; the atomic file writes are in `@saelab/core/fs` and the SHA-256 JSON
 * hash in `@saelab/core/hash`.
 *
 * @example
 * ```ts
 * import { gaussian, seededRandom, shuffleInPlace } from "@saelab/core";
 * const r = seededRandom(1);
 * const order = shuffleInPlace([0, 1, 2, 3], r);
 * console.log(order.length, Number.isFinite(gaussian(r))); // 4 true
 * ```
 *
 * @module
 */
export { gaussian, hashString, hashUnit, randomInt, seededRandom, shuffleInPlace } from "./random.ts";
export type { Random } from "./random.ts";
export { canonicalJson, finiteJson } from "./json.ts";
export type { FiniteJsonOptions } from "./json.ts";
export { noProgress } from "./progress.ts";
export type { ProgressEvent, ProgressFn } from "./progress.ts";
