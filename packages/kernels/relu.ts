/**
 * ReLU and its backward, elementwise over f32 tensors of any shape.
 *
 * Bindings: `x`, `y` (or one read-write buffer in place), uniforms `{ n }`.
 * Workgroup size 256; `vec4` loads when the buffers allow (see `_map.ts`).
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { type MapSpec, type MapVariant, runMap } from "./_map.ts";
import { checkSameShape, checkTensor, outTensor } from "./_util.ts";

/** Options of the elementwise kernels. */
export interface ElementwiseOptions {
  /** Write here (same shape; may be an input for an in-place update) instead of a new tensor. */
  out?: Tensor<"f32">;
  /** `"vec4"` (default when possible) or `"scalar"` loads. */
  variant?: MapVariant;
}

/** @internal The map of {@linkcode relu} (benchmarks run it with other tunings). */
export const RELU: MapSpec = {
  name: "relu",
  operands: [{ name: "x", access: "read" }, { name: "y", access: "write" }],
  body: "y = max(x, Z);",
};

const RELU_BACKWARD: MapSpec = {
  name: "relu_backward",
  operands: [{ name: "g", access: "read" }, { name: "x", access: "read" }, { name: "dx", access: "write" }],
  body: "dx = select(Z, g, x > Z);",
};

/**
 * `max(x, 0)` elementwise.
 *
 * @param gpu The GPU context.
 * @param x Input, any shape.
 * @param options `out` (may be `x`) and the load variant.
 * @returns The activations, shaped like `x`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { relu } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([-1, 2]), [2]);
 * console.log(await relu(gpu, x).read()); // Float32Array [0, 2]
 * ```
 */
export function relu(gpu: Gpu, x: Tensor<"f32">, options: ElementwiseOptions = {}): Tensor<"f32"> {
  checkTensor(gpu, "relu", "x", x);
  const y = outTensor(gpu, "relu", options.out, x.shape);
  runMap(gpu, RELU, { tensors: { x, y }, variant: options.variant });
  return y;
}

/**
 * Gradient of ReLU: `gradOut` where `x > 0`, else 0.
 *
 * @param gpu The GPU context.
 * @param gradOut Gradient of the loss with respect to `relu(x)`.
 * @param x The input of the forward pass, shaped like `gradOut`.
 * @param options `out` (may be `gradOut`) and the load variant.
 * @returns The gradient with respect to `x`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { reluBackward } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([-1, 2]), [2]);
 * const g = gpu.upload(new Float32Array([5, 7]), [2]);
 * console.log(await reluBackward(gpu, g, x).read()); // Float32Array [0, 7]
 * ```
 */
export function reluBackward(
  gpu: Gpu,
  gradOut: Tensor<"f32">,
  x: Tensor<"f32">,
  options: ElementwiseOptions = {},
): Tensor<"f32"> {
  checkTensor(gpu, "reluBackward", "gradOut", gradOut);
  checkTensor(gpu, "reluBackward", "x", x);
  checkSameShape("reluBackward", ["gradOut", "x"], gradOut, x);
  const dx = outTensor(gpu, "reluBackward", options.out, x.shape);
  runMap(gpu, RELU_BACKWARD, { tensors: { g: gradOut, x, dx }, variant: options.variant });
  return dx;
}
