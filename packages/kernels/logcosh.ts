/**
 * The logcosh contrast of FastICA, elementwise: `g = tanh(α·y)` and `g' = α·(1 − g²)`.
 *
 * Bindings: `y` (read), `g`, `gp` (write), uniforms `{ n, alpha }`.
 * Workgroup size 64 over a 2-D grid.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { dispatchLinear, Uniforms } from "./_util.ts";
import { perItemProgram } from "./_wgsl.ts";

const WG = 64;

const LOGCOSH = perItemProgram({
  name: "logcosh",
  wg: WG,
  buffers: [["y", "read", "f32"], ["g", "read_write", "f32"], ["gp", "read_write", "f32"]],
  uniforms: "alpha: f32",
  // tanh saturates long before |x| = 15; clamping keeps exp() in range on every backend
  body: `let t = tanh(clamp(u.alpha * y[i], -15.0, 15.0));
  g[i] = t;
  gp[i] = u.alpha * (1.0 - t * t);`,
});

/** Options of {@linkcode logcosh}. */
export interface LogcoshOptions {
  /** The contrast's `α` (FastICA uses 1). */
  alpha: number;
  /** `tanh(α·y)`, shaped like `y`. */
  g: Tensor<"f32">;
  /** `α·(1 − g²)`, shaped like `y`. */
  gp: Tensor<"f32">;
}

/**
 * Record `g = tanh(α·y)`, `gp = α·(1 − g²)` for every element of `y`.
 *
 * @param gpu The GPU context.
 * @param y Input (any shape).
 * @param options `alpha` and the outputs `g`, `gp` (shaped like `y`).
 * @returns Nothing; the outputs are written in queue order.
 * @throws {RangeError} When an output does not hold as many values as `y`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { logcosh } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const y = gpu.upload(new Float32Array([0, 1]), [2]);
 * const [g, gp] = [gpu.zeros([2]), gpu.zeros([2])];
 * logcosh(gpu, y, { alpha: 1, g, gp });
 * console.log(await g.read(), await gp.read()); // [0, 0.7616] [1, 0.42]
 * ```
 */
export function logcosh(gpu: Gpu, y: Tensor<"f32">, options: LogcoshOptions): void {
  const n = y.size;
  if (options.g.size !== n || options.gp.size !== n) {
    throw new RangeError(`Cannot run logcosh: outputs must hold ${n} values like y`);
  }
  if (n === 0) return;
  dispatchLinear(gpu, LOGCOSH, {
    bindings: [y, options.g, options.gp],
    uniforms: new Uniforms().u32(n).f32(options.alpha),
    count: n,
    wg: WG,
  });
}
