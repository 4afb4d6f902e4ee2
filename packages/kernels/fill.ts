/**
 * Memory kernels for tensors of any dtype: `fill` with a constant (a WGSL
 * kernel writing the value's bit pattern) and `copy` (a buffer-to-buffer copy
 * recorded in the pending command encoder, ordered with the dispatches).
 *
 * Bindings of `fill`: the tensor as `array<u32>`, uniforms `{ n, bits }`. Workgroup size 64.
 *
 * @module
 */
import type { Gpu, Tensor } from "@saelab/gpu";
import { checkNumber, checkTensor, dispatchLinear, outTensor, Uniforms } from "./_util.ts";
import { perItemProgram } from "./_wgsl.ts";

const WG = 64;
const ALL = ["f32", "i32", "u32"] as const;

const FILL = perItemProgram({
  name: "fill",
  wg: WG,
  buffers: [["x", "read_write", "u32"]],
  uniforms: "bits: u32",
  body: "x[i] = u.bits;",
});

/**
 * Set every element of `x` to `value`, in place.
 *
 * @param gpu The GPU context.
 * @param x Tensor of any dtype; `value` must be representable in it (f32 takes ±Infinity and NaN too).
 * @param value The constant.
 * @returns `x`.
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { fill } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = fill(gpu, gpu.empty([2, 3]), 0.5);
 * console.log(await x.read()); // six 0.5s
 * ```
 */
export function fill<T extends Tensor>(gpu: Gpu, x: T, value: number): T {
  checkTensor(gpu, "fill", "x", x, { dtypes: ALL });
  if (x.dtype !== "f32" || typeof value !== "number") checkNumber("fill", "value", value, { integer: true });
  const view = new DataView(new ArrayBuffer(4));
  if (x.dtype === "f32") view.setFloat32(0, value, true);
  else if (x.dtype === "i32") {
    if (value < -(2 ** 31) || value >= 2 ** 31) throw new RangeError(`Cannot run fill: ${value} is outside i32`);
    view.setInt32(0, value, true);
  } else {
    if (value < 0 || value >= 2 ** 32) throw new RangeError(`Cannot run fill: ${value} is outside u32`);
    view.setUint32(0, value, true);
  }
  dispatchLinear(gpu, FILL, {
    bindings: [x],
    uniforms: new Uniforms().u32(x.size).u32(view.getUint32(0, true)),
    count: x.size,
    wg: WG,
  });
  return x;
}

/**
 * Copy a tensor.
 *
 * @param gpu The GPU context.
 * @param x Source, any dtype.
 * @param options `out`: destination of the same shape and dtype.
 * @returns The copy (`out` when given).
 * @example
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * import { copy } from "@saelab/kernels";
 * const gpu = await createGpu();
 * const x = gpu.upload(new Float32Array([1, 2]), [2]);
 * console.log(await copy(gpu, x).read()); // [1, 2]
 * ```
 */
export function copy<T extends Tensor>(gpu: Gpu, x: T, options: { out?: T } = {}): T {
  checkTensor(gpu, "copy", "x", x, { dtypes: ALL });
  const out = outTensor(gpu, "copy", options.out, x.shape, { dtype: x.dtype }) as T;
  if (out.buffer !== x.buffer && x.byteLength > 0) {
    gpu.encoder().copyBufferToBuffer(x.buffer, 0, out.buffer, 0, x.byteLength);
  }
  return out;
}
