/**
 * CPU reference of rotate-half rotary position embedding (float64).
 *
 * @module
 */
import type { RotaryOptions } from "./rotary.ts";

/** Options of {@linkcode rotaryRef}: the kernel's `RotaryOptions` without the output tensor. */
export type RotaryRefOptions = Omit<RotaryOptions, "out">;

/**
 * Rotate the first `rotaryDims` entries of the selected head vectors of `x` `[B, T, C]`.
 *
 * @param x Input values, row-major.
 * @param shape `[B, T, C]`.
 * @param options Head size, rotary width, base and the rotated-vector pattern.
 * @returns The rotated values.
 * @example
 * ```ts
 * import { rotaryRef, type RotaryRefOptions } from "./rotary_ref.ts";
 * const options: RotaryRefOptions = { headSize: 2, rotaryDims: 2 };
 * const y = rotaryRef([1, 0, 1, 0], [1, 2, 2], options);
 * console.log(y[2] === Math.cos(1), y[3] === Math.sin(1)); // true true
 * ```
 */
export function rotaryRef(x: ArrayLike<number>, shape: readonly number[], options: RotaryRefOptions): Float64Array {
  const [b, t, c] = shape;
  const { headSize, rotaryDims } = options;
  const base = options.base ?? 10000, rotate = options.rotate ?? 1, every = options.every ?? 1;
  const sign = options.inverse ? -1 : 1, half = rotaryDims / 2;
  const y = Float64Array.from(x);
  for (let s = 0; s < b; s++) {
    for (let p = 0; p < t; p++) {
      const pos = p + (options.positionOffset ?? 0);
      for (let v = 0; v < c / headSize; v++) {
        if (v % every >= rotate) continue;
        const o = (s * t + p) * c + v * headSize;
        for (let i = 0; i < half; i++) {
          const theta = pos * Math.pow(base, (-2 * i) / rotaryDims);
          const cos = Math.cos(theta), sin = sign * Math.sin(theta);
          const a = x[o + i], bb = x[o + i + half];
          y[o + i] = a * cos - bb * sin;
          y[o + i + half] = bb * cos + a * sin;
        }
      }
    }
  }
  return y;
}
