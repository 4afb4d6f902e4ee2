/**
 * Backward pass of exact GELU (`gelu.ts`): `dx = dy · (Φ(x) + x·φ(x))` with `φ`
 * the standard normal density. Elementwise; bindings and workgroups as the other
 * map kernels (`_map.ts`); `out` may be `dy` (in place).
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { type MapSpec, type MapVariant, runMap } from "./_map.ts";
import { checkSameShape, checkTensor, outTensor } from "./_util.ts";
import { PHI_WGSL } from "./gelu.ts";

/** Options of {@linkcode geluBackward}. */
export interface GeluBackwardOptions {
  /** Write here (shape of `x`; may be `dy`) instead of a new tensor. */
  out?: Tensor<"f32">;
  /** `"vec4"` (default when possible) or `"scalar"` loads. */
  variant?: MapVariant;
}

const GELU_BACKWARD: MapSpec = {
  name: "gelu_backward",
  operands: [{ name: "x", access: "read" }, { name: "g", access: "read" }, { name: "y", access: "write" }],
  body: `${PHI_WGSL}
    y = g * (phi + x * 0.3989422804014327 * exp(-0.5 * x * x));`,
};

/**
 * Gradient of GELU with respect to its input.
 *
 * @param gpu The GPU context.
 * @param x The forward input (pre-activation), any shape.
 * @param dy The gradient of the output, shaped like `x`.
 * @param options `out` (may be `dy`) and the load variant.
 * @returns `dy · GELU'(x)`, shaped like `x`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { geluBackward } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([0]), [1]);
 * console.log(await geluBackward(gpu, x, gpu.upload(new Float32Array([2]), [1])).read()); // [1]
 * ```
 */
export function geluBackward(
  gpu: Gpu,
  x: Tensor<"f32">,
  dy: Tensor<"f32">,
  options: GeluBackwardOptions = {},
): Tensor<"f32"> {
  const k = "geluBackward";
  checkTensor(gpu, k, "x", x);
  checkTensor(gpu, k, "dy", dy);
  checkSameShape(k, ["x", "dy"], x, dy);
  const y = outTensor(gpu, k, options.out, x.shape);
  if (y.buffer === x.buffer) throw new RangeError(`Cannot run ${k}: out must not be x`);
  runMap(gpu, GELU_BACKWARD, { tensors: { x, g: dy, y }, variant: options.variant });
  return y;
}
