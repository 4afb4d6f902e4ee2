/**
 * Tensor bytes → typed arrays, and checked conversions of integer data.
 *
 * @module
 */
import { SafetensorsError } from "./errors.ts";
import { decodeBfloat16, decodeFloat16 } from "./half.ts";
import type { TensorInfo } from "./header.ts";

/** A decoded tensor. Float dtypes (F64, F32, F16, BF16) come back as `Float32Array`. */
export type TensorData =
  | { dtype: "F64" | "F32" | "F16" | "BF16"; shape: number[]; data: Float32Array }
  | { dtype: "I64"; shape: number[]; data: BigInt64Array }
  | { dtype: "U64"; shape: number[]; data: BigUint64Array }
  | { dtype: "I32"; shape: number[]; data: Int32Array }
  | { dtype: "U32"; shape: number[]; data: Uint32Array }
  | { dtype: "I16"; shape: number[]; data: Int16Array }
  | { dtype: "U16"; shape: number[]; data: Uint16Array }
  | { dtype: "I8"; shape: number[]; data: Int8Array }
  | { dtype: "U8" | "BOOL"; shape: number[]; data: Uint8Array };

/** The array of any decoded tensor. */
export type TensorArray = TensorData["data"];

/** The typed array that views each integer dtype's bytes in place. */
const INT_VIEWS = {
  I64: BigInt64Array,
  U64: BigUint64Array,
  I32: Int32Array,
  U32: Uint32Array,
  I16: Int16Array,
  U16: Uint16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
} as const;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decode one tensor's bytes.
 *
 * @param bytes Exactly the tensor's bytes (`info.byteLength` of them), little-endian.
 * @param name The tensor's name, for errors.
 * @param info What the header says about it.
 * @returns The tensor; its array never aliases `bytes`' memory unless `bytes` spans a whole, aligned buffer.
 */
export function decodeTensor(bytes: Uint8Array, name: string, info: TensorInfo): TensorData {
  const where = { file: info.file, tensor: name };
  if (bytes.length !== info.byteLength) {
    throw new SafetensorsError(
      `Cannot read tensor ${
        JSON.stringify(name)
      } from ${info.file}: got ${bytes.length} of its ${info.byteLength} bytes (truncated file?)`,
      where,
    );
  }
  if (!LITTLE_ENDIAN) {
    throw new SafetensorsError(`Cannot read ${info.file}: this host is big-endian`, where);
  }
  // Typed views need an aligned, private buffer: copy unless `bytes` already is one.
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength &&
      bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : bytes.slice().buffer;
  const shape = [...info.shape];
  const dtype = info.dtype;
  if (Object.hasOwn(INT_VIEWS, dtype)) {
    return { dtype, shape, data: new INT_VIEWS[dtype as keyof typeof INT_VIEWS](own) } as TensorData;
  }
  switch (dtype) {
    case "F32":
      return { dtype, shape, data: new Float32Array(own) };
    case "F64":
      return { dtype, shape, data: Float32Array.from(new Float64Array(own)) };
    case "F16":
      return { dtype, shape, data: decodeFloat16(new Uint16Array(own)) };
    case "BF16":
      return { dtype, shape, data: decodeBfloat16(new Uint16Array(own)) };
    default:
      throw new SafetensorsError(
        `Cannot decode tensor ${JSON.stringify(name)} from ${info.file}: dtype ${dtype} is only available as raw bytes`,
        where,
      );
  }
}

/**
 * The values of a floating-point tensor.
 *
 * @param t A decoded tensor.
 * @param name Its name, for errors.
 * @param file Its file, for errors.
 * @returns Its `Float32Array`.
 */
export function floatData(t: TensorData, name: string, file: string): Float32Array {
  if (!(t.data instanceof Float32Array)) {
    throw new SafetensorsError(
      `Cannot read tensor ${JSON.stringify(name)} from ${file} as floats: its dtype is ${t.dtype}`,
      { file, tensor: name },
    );
  }
  return t.data;
}

function checkedValue(v: number | bigint, i: number, lo: number, hi: number, target: string): number {
  const n = typeof v === "bigint" ? (v >= BigInt(lo) && v <= BigInt(hi) ? Number(v) : NaN) : v;
  if (!Number.isInteger(n) || n < lo || n > hi) {
    throw new RangeError(
      `Cannot convert to ${target}: element ${i} (${String(v)}) is not an integer in [${lo}, ${hi}]`,
    );
  }
  return n;
}

/**
 * Convert integer data (e.g. I64 token ids) to `Int32Array`, checking every value.
 *
 * @param data Any decoded array (or numbers); floats must hold integers.
 * @returns A new `Int32Array` (the same array when `data` already is one).
 * @throws {RangeError} When a value is not an integer in the int32 range.
 * @example
 * ```ts
 * import { toInt32Array } from "@saelab/safetensors";
 * console.log(toInt32Array(new BigInt64Array([1n, 50276n]))); // Int32Array [1, 50276]
 * ```
 */
export function toInt32Array(data: TensorArray | ArrayLike<number>): Int32Array {
  if (data instanceof Int32Array) return data;
  const out = new Int32Array(data.length);
  const lo = -(2 ** 31), hi = 2 ** 31 - 1;
  for (let i = 0; i < data.length; i++) out[i] = checkedValue(data[i], i, lo, hi, "Int32Array");
  return out;
}

/**
 * Convert integer data to plain numbers, checking that each is exactly representable.
 *
 * @param data Any decoded array (or numbers); floats must hold integers.
 * @returns The values as a `number[]`.
 * @throws {RangeError} When a value is not a safe integer.
 * @example
 * ```ts
 * import { toNumberArray } from "@saelab/safetensors";
 * console.log(toNumberArray(new BigInt64Array([-3n, 7n]))); // [-3, 7]
 * ```
 */
export function toNumberArray(data: TensorArray | ArrayLike<number>): number[] {
  const out = new Array<number>(data.length);
  const lo = Number.MIN_SAFE_INTEGER, hi = Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < data.length; i++) out[i] = checkedValue(data[i], i, lo, hi, "number[]");
  return out;
}
