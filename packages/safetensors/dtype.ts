/**
 * The element types of the safetensors format and their sizes.
 *
 * @module
 */
import { DTYPE_SIZES, RAW_ONLY_DTYPES } from "./_dtype_table.ts";

/** Element types whose values this package decodes and encodes. */
export type DType =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U64"
  | "U32"
  | "U16"
  | "U8"
  | "BOOL";

/** Element types that may appear in a file but are only available as raw bytes (`getRaw`). */
export type RawDType = "F8_E4M3" | "F8_E5M2" | "F8_E8M0" | "C64";

/** Floating-point element types; they are read as `Float32Array`. */
export type FloatDType = "F64" | "F32" | "F16" | "BF16";

const SIZES: Readonly<Record<DType | RawDType, number>> = DTYPE_SIZES;

const RAW_ONLY = new Set<string>(RAW_ONLY_DTYPES);

/**
 * Whether a string names an element type this package decodes.
 *
 * @param dtype A dtype string from a header or an argument.
 * @returns True for the decodable dtypes (`F32`, `F16`, `BF16`, `I64`, …).
 * @example
 * ```ts
 * import { isDType } from "@saelab/safetensors";
 * console.log(isDType("BF16"), isDType("F8_E4M3"), isDType("f32")); // true false false
 * ```
 */
export function isDType(dtype: string): dtype is DType {
  return Object.hasOwn(SIZES, dtype) && !RAW_ONLY.has(dtype);
}

/** Whether a dtype string is known to the format at all (decodable or raw-only). */
export function isKnownDType(dtype: string): dtype is DType | RawDType {
  return Object.hasOwn(SIZES, dtype);
}

/** Whether a dtype is floating point. */
export function isFloatDType(dtype: string): dtype is FloatDType {
  return dtype === "F32" || dtype === "F16" || dtype === "BF16" || dtype === "F64";
}

/**
 * Bytes per element of a dtype.
 *
 * @param dtype A known dtype.
 * @returns The element size in bytes.
 * @example
 * ```ts
 * import { dtypeSize } from "@saelab/safetensors";
 * console.log(dtypeSize("BF16")); // 2
 * ```
 */
export function dtypeSize(dtype: DType | RawDType): number {
  const size = SIZES[dtype];
  if (size === undefined) throw new TypeError(`Cannot size dtype ${JSON.stringify(dtype)}: unknown dtype`);
  return size;
}
