/**
 * The element types of the safetensors format as a table: bytes per element, and the types whose
 * values are only available as raw bytes. Data only, so that the test oracle can share it without
 * sharing any of the reading code it checks.
 *
 * @module
 */

/** Bytes per element of every dtype the format knows. */
export const DTYPE_SIZES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  F8_E8M0: 1,
  C64: 8,
} as const;

/** Dtypes that may appear in a file but whose values are not decoded (raw bytes only). */
export const RAW_ONLY_DTYPES: readonly string[] = ["F8_E4M3", "F8_E5M2", "F8_E8M0", "C64"];
