/**
 * Generic elementwise arithmetic on equally shaped f32 tensors: `add`, `sub`,
 * `mul`, `scale` and `axpy`. Sums are one program (`alpha·a + beta·b`).
 *
 * Bindings: the operands, the output (bound once with an input it aliases),
 * uniforms `{ n, alpha, beta }`. Workgroup size 256; `vec4` loads when the buffers allow.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { type MapSpec, runMap } from "./_map.ts";
import { checkNumber, checkSameShape, checkTensor, outTensor } from "./_util.ts";
import type { ElementwiseOptions } from "./relu.ts";

const LINEAR: MapSpec = {
  name: "lincomb",
  operands: [{ name: "a", access: "read" }, { name: "b", access: "read" }, { name: "y", access: "write" }],
  params: ["alpha", "beta"],
  body: "y = u.alpha * a + u.beta * b;",
};

const SCALE: MapSpec = {
  name: "scale",
  operands: [{ name: "a", access: "read" }, { name: "y", access: "write" }],
  params: ["alpha"],
  body: "y = u.alpha * a;",
};

const MUL: MapSpec = {
  name: "mul",
  operands: [{ name: "a", access: "read" }, { name: "b", access: "read" }, { name: "y", access: "write" }],
  body: "y = a * b;",
};

function binary(
  gpu: Gpu,
  kernel: string,
  a: Tensor<"f32">,
  b: Tensor<"f32">,
  options: ElementwiseOptions,
): Tensor<"f32"> {
  checkTensor(gpu, kernel, "a", a);
  checkTensor(gpu, kernel, "b", b);
  checkSameShape(kernel, ["a", "b"], a, b);
  return outTensor(gpu, kernel, options.out, a.shape);
}

/**
 * `a + b` elementwise.
 *
 * @param gpu The GPU context.
 * @param a First operand.
 * @param b Second operand, shaped like `a`.
 * @param options `out` (may be `a` or `b`) and the load variant.
 * @returns The sum.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { add } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const a = gpu.upload(new Float32Array([1, 2]), [2]);
 * console.log(await add(gpu, a, a).read()); // [2, 4]
 * ```
 */
export function add(gpu: Gpu, a: Tensor<"f32">, b: Tensor<"f32">, options: ElementwiseOptions = {}): Tensor<"f32"> {
  const y = binary(gpu, "add", a, b, options);
  runMap(gpu, LINEAR, { tensors: { a, b, y }, params: { alpha: 1, beta: 1 }, variant: options.variant });
  return y;
}

/**
 * `a − b` elementwise.
 *
 * @param gpu The GPU context.
 * @param a First operand.
 * @param b Second operand, shaped like `a`.
 * @param options `out` (may be `a` or `b`) and the load variant.
 * @returns The difference.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { sub } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const a = gpu.upload(new Float32Array([1, 2]), [2]);
 * const b = gpu.upload(new Float32Array([3, 1]), [2]);
 * console.log(await sub(gpu, a, b).read()); // [-2, 1]
 * ```
 */
export function sub(gpu: Gpu, a: Tensor<"f32">, b: Tensor<"f32">, options: ElementwiseOptions = {}): Tensor<"f32"> {
  const y = binary(gpu, "sub", a, b, options);
  runMap(gpu, LINEAR, { tensors: { a, b, y }, params: { alpha: 1, beta: -1 }, variant: options.variant });
  return y;
}

/**
 * `a · b` elementwise (Hadamard product).
 *
 * @param gpu The GPU context.
 * @param a First operand.
 * @param b Second operand, shaped like `a`.
 * @param options `out` (may be `a` or `b`) and the load variant.
 * @returns The product.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { mul } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const a = gpu.upload(new Float32Array([1, 2]), [2]);
 * console.log(await mul(gpu, a, a).read()); // [1, 4]
 * ```
 */
export function mul(gpu: Gpu, a: Tensor<"f32">, b: Tensor<"f32">, options: ElementwiseOptions = {}): Tensor<"f32"> {
  const y = binary(gpu, "mul", a, b, options);
  runMap(gpu, MUL, { tensors: { a, b, y }, variant: options.variant });
  return y;
}

/**
 * `alpha · x` elementwise.
 *
 * @param gpu The GPU context.
 * @param x Operand.
 * @param alpha Factor.
 * @param options `out` (may be `x`) and the load variant.
 * @returns The scaled tensor.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { scale } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([1, 2]), [2]);
 * scale(gpu, x, 0.5, { out: x }); // in place
 * console.log(await x.read()); // [0.5, 1]
 * ```
 */
export function scale(gpu: Gpu, x: Tensor<"f32">, alpha: number, options: ElementwiseOptions = {}): Tensor<"f32"> {
  checkTensor(gpu, "scale", "x", x);
  checkNumber("scale", "alpha", alpha);
  const y = outTensor(gpu, "scale", options.out, x.shape);
  runMap(gpu, SCALE, { tensors: { a: x, y }, params: { alpha }, variant: options.variant });
  return y;
}

/** Options of {@linkcode axpy}. */
export interface AxpyOptions extends ElementwiseOptions {
  /** Factor of `x`. */
  alpha: number;
}

/**
 * `alpha · x + y` elementwise; `{ out: y }` gives the in-place BLAS update `y ← alpha·x + y`.
 *
 * @param gpu The GPU context.
 * @param x Scaled operand.
 * @param y Added operand, shaped like `x`.
 * @param options `alpha`, `out` (may be `x` or `y`) and the load variant.
 * @returns The result.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { axpy } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([1, 2]), [2]);
 * const y = gpu.upload(new Float32Array([10, 10]), [2]);
 * axpy(gpu, x, y, { alpha: -1, out: y });
 * console.log(await y.read()); // [9, 8]
 * ```
 */
export function axpy(gpu: Gpu, x: Tensor<"f32">, y: Tensor<"f32">, options: AxpyOptions): Tensor<"f32"> {
  const alpha = checkNumber("axpy", "alpha", options?.alpha);
  const out = binary(gpu, "axpy", x, y, options);
  runMap(gpu, LINEAR, { tensors: { a: x, b: y, y: out }, params: { alpha, beta: 1 }, variant: options.variant });
  return out;
}
