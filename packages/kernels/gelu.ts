/**
 * Exact GELU, `x · Φ(x) = x/2 · (1 + erf(x/√2))`, as `torch.nn.GELU()` (not the tanh form).
 *
 * WGSL has no `erf`, so the kernel evaluates `erfc` by Numerical Recipes'
 * Chebyshev-fitted exponential (fractional error below 1.2e-7 everywhere) and
 * takes `Φ(x) = erfc(−x/√2)/2`, which keeps the relative accuracy in the
 * negative tail. Elementwise over f32 tensors of any shape; bindings and
 * workgroups as the other map kernels (`_map.ts`).
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { type MapSpec, type MapVariant, runMap } from "./_map.ts";
import { checkTensor, outTensor } from "./_util.ts";

/** Options of {@linkcode gelu}. */
export interface GeluOptions {
  /** Write here (same shape; may be `x`) instead of a new tensor. */
  out?: Tensor<"f32">;
  /** `"vec4"` (default when possible) or `"scalar"` loads. */
  variant?: MapVariant;
}

/** WGSL statements computing `phi = Φ(x)` for `x` of type `T` (f32 or vec4). */
export const PHI_WGSL = `
    let z = abs(x) * 0.7071067811865476;
    let t = 1.0 / (1.0 + 0.5 * z);
    let erfc = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
      t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 +
      t * 0.17087277)))))))));
    let phi = select(0.5 * erfc, 1.0 - 0.5 * erfc, x >= Z);`;

const GELU: MapSpec = {
  name: "gelu",
  operands: [{ name: "x", access: "read" }, { name: "y", access: "write" }],
  body: `${PHI_WGSL}
    y = x * phi;`,
};

const GELU_INPLACE: MapSpec = {
  name: "gelu",
  operands: [{ name: "x", access: "readwrite" }],
  body: `${PHI_WGSL}
    x = x * phi;`,
};

/**
 * Exact (erf) GELU elementwise.
 *
 * @param gpu The GPU context.
 * @param x Input, any shape.
 * @param options `out` (may be `x`) and the load variant.
 * @returns `x · Φ(x)`, shaped like `x`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { gelu } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([-1, 0, 1]), [3]);
 * console.log(await gelu(gpu, x).read()); // ≈ [-0.1587, 0, 0.8413]
 * ```
 */
export function gelu(gpu: Gpu, x: Tensor<"f32">, options: GeluOptions = {}): Tensor<"f32"> {
  checkTensor(gpu, "gelu", "x", x);
  const y = outTensor(gpu, "gelu", options.out, x.shape);
  if (y.buffer === x.buffer) runMap(gpu, GELU_INPLACE, { tensors: { x }, variant: options.variant });
  else runMap(gpu, GELU, { tensors: { x, y }, variant: options.variant });
  return y;
}
