/**
 * Column sums `[B, n] → [n]` (bias gradients) and the full sum of a tensor,
 * by chunked row reductions (see `_reduce.ts`: no workgroup memory, about
 * `log₂₅₆(B)` passes, workgroup size 64).
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { reduceRows } from "./_reduce.ts";
import { checkNumber, checkTensor, outTensor } from "./_util.ts";

/** Options of {@linkcode colSum} and {@linkcode sum}. */
export interface SumOptions {
  /** Multiply the sums by this (`1/B` for a mean). Default 1. */
  scale?: number;
  /** Write here instead of a new tensor. Must not be the input. */
  out?: Tensor<"f32">;
  /** Add the sums into this tensor and return it (not with `out`). */
  accumulate?: Tensor<"f32">;
}

function target(gpu: Gpu, kernel: string, x: Tensor, shape: number[], options: SumOptions): Tensor<"f32"> {
  if (options.accumulate !== undefined && options.out !== undefined && options.out !== options.accumulate) {
    throw new TypeError(`Cannot run ${kernel}: give either out or accumulate, not both`);
  }
  const given = options.accumulate ?? options.out;
  const name = options.accumulate !== undefined ? "accumulate" : "out";
  const out = outTensor(gpu, kernel, given, shape, { name });
  if (out.buffer === x.buffer) throw new RangeError(`Cannot run ${kernel}: ${name} must not be the input`);
  return out;
}

/**
 * Sum a matrix over its rows: `out[j] = scale · Σ_i x[i, j]`.
 *
 * @param gpu The GPU context.
 * @param x Matrix [B, n].
 * @param options `scale`, `out` or `accumulate`.
 * @returns Column sums [n].
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { colSum } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * console.log(await colSum(gpu, x).read()); // [5, 7, 9]
 * ```
 */
export function colSum(gpu: Gpu, x: Tensor<"f32">, options: SumOptions = {}): Tensor<"f32"> {
  checkTensor(gpu, "colSum", "x", x, { rank: 2 });
  const scale = checkNumber("colSum", "scale", options.scale ?? 1);
  const [rows, cols] = x.shape;
  const out = target(gpu, "colSum", x, [cols], options);
  reduceRows(gpu, x, out, { rows, cols }, { scale, accumulate: options.accumulate !== undefined });
  return out;
}

/**
 * Sum of all elements, times `scale` (`1/x.size` for a mean).
 *
 * @param gpu The GPU context.
 * @param x Tensor of any shape.
 * @param options `scale`, `out` or `accumulate` (shape [1]).
 * @returns The sum, shape [1].
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { sum } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * console.log(await sum(gpu, x, { scale: 1 / 4 }).read()); // [2.5]
 * ```
 */
export function sum(gpu: Gpu, x: Tensor<"f32">, options: SumOptions = {}): Tensor<"f32"> {
  checkTensor(gpu, "sum", "x", x);
  const scale = checkNumber("sum", "scale", options.scale ?? 1);
  const out = target(gpu, "sum", x, [1], options);
  reduceRows(gpu, x, out, { rows: x.size, cols: 1 }, { scale, accumulate: options.accumulate !== undefined });
  return out;
}
