/**
 * WebGPU runtime for SAE Lab: device acquisition with clear errors,
 * {@linkcode Tensor}s, a buffer pool, a pipeline cache keyed by compile-time
 * facts, and batched dispatch into one command encoder per step.
 *
 * ```ts ignore
 * import { createGpu } from "@saelab/gpu";
 * const gpu = await createGpu();
 * using t = gpu.upload(new Float32Array([1, 2, 3]), [3]);
 * console.log(await t.read()); // Float32Array [1, 2, 3]
 * gpu.destroy();
 * ```
 *
 * @module
 */
export { createGpu, Gpu } from "./gpu.ts";
export type { Binding, DispatchOptions, GpuOptions, Program } from "./gpu.ts";
export { GpuError } from "./errors.ts";
export { BufferPool, sizeClass } from "./pool.ts";
export { byteSize, Tensor } from "./tensor.ts";
export type { DType, HostArray, HostArrayOf } from "./tensor.ts";
export { assertClose, closeness, withGpu } from "./testing.ts";
export type { Tolerance } from "./testing.ts";
