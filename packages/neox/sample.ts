/**
 * Choosing the next token from logits: argmax, or a draw from the
 * temperature-scaled softmax.
 *
 * @module
 */

/**
 * Pick a token from one row of logits.
 *
 * @param logits The row.
 * @param temperature 0 for argmax.
 * @param rand Uniform `[0, 1)` generator.
 * @returns The token id.
 * @example
 * ```ts
 * import { sampleToken } from "./sample.ts";
 * console.log(sampleToken(new Float32Array([0, 3, 1]), 0, Math.random)); // 1
 * ```
 */
export function sampleToken(logits: ArrayLike<number>, temperature: number, rand: () => number): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  if (temperature === 0) return best;
  const max = logits[best];
  let sum = 0;
  const p = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp((logits[i] - max) / temperature);
  let u = rand() * sum;
  for (let i = 0; i < p.length; i++) {
    u -= p[i];
    if (u < 0) return i;
  }
  return best;
}
