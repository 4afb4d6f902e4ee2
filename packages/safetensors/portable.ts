/**
 * The parts of `@saelab/safetensors` that need no file system, for browsers and workers:
 * parse from bytes, read lazily from a `Blob`, serialise to bytes, F16/BF16 conversions.
 *
 * ```ts
 * import { parseSafetensors, serializeSafetensors } from "@saelab/safetensors/portable";
 * const bytes = serializeSafetensors({ b: { dtype: "F32", shape: [2], data: [0.5, 1] } });
 * console.log(parseSafetensors(bytes).getSync("b").data); // Float32Array [0.5, 1]
 * ```
 *
 * @module
 */
export { SafetensorsError } from "./errors.ts";
export type { SafetensorsErrorOptions } from "./errors.ts";
export { dtypeSize, isDType } from "./dtype.ts";
export type { DType, FloatDType, RawDType } from "./dtype.ts";
export * from "./half.ts";
export { MAX_HEADER_BYTES } from "./header.ts";
export type { TensorInfo } from "./header.ts";
export { toInt32Array, toNumberArray } from "./decode.ts";
export type { TensorArray, TensorData } from "./decode.ts";
export type { TensorInput } from "./encode.ts";
export { serializeSafetensors } from "./serialize.ts";
export type { WriteOptions } from "./serialize.ts";
export { blobSource, bytesSource, openSafetensorsFrom, parseSafetensors, SafetensorsFile } from "./reader.ts";
export type { ByteSource, TensorReader } from "./reader.ts";
export { planShards } from "./shard.ts";
