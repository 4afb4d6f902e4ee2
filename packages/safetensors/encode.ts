/**
 * Typed arrays → tensor bytes (little-endian), with value checks and F16/BF16 rounding.
 *
 * @module
 */
import { type DType, dtypeSize, isDType, isKnownDType, type RawDType } from "./dtype.ts";
import { encodeBfloat16, encodeFloat16 } from "./half.ts";

/**
 * A tensor to write: values in `data` (converted to `dtype`: numbers to F32/F16/BF16/F64 with
 * rounding to nearest even; integers checked against the dtype's range), or already-encoded
 * little-endian `bytes`.
 */
export type TensorInput =
  | {
    /** Element type on disk. */
    dtype: DType;
    /** Dimensions, row-major. */
    shape: readonly number[];
    /** Values, row-major: numbers (any typed array), bigints (I64/U64) or booleans (BOOL). */
    data: ArrayLike<number | bigint | boolean>;
  }
  | {
    /** Element type on disk. */
    dtype: DType | RawDType;
    /** Dimensions, row-major. */
    shape: readonly number[];
    /** The encoded data, exactly elements × dtype size bytes. */
    bytes: Uint8Array;
  };

/**
 * Check a tensor's dtype, shape and length (not its values).
 *
 * @param name The tensor's name, for errors.
 * @param t The tensor.
 * @returns Its size in bytes on disk.
 */
export function checkInput(name: string, t: TensorInput): number {
  const what = `Cannot write tensor ${JSON.stringify(name)}`;
  if (name === "__metadata__") throw new TypeError(`${what}: the name is reserved for metadata`);
  if (t === null || typeof t !== "object") throw new TypeError(`${what}: expected {dtype, shape, data}`);
  if (typeof t.dtype !== "string" || !isKnownDType(t.dtype)) {
    throw new TypeError(`${what}: unknown dtype ${JSON.stringify(t.dtype)}`);
  }
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new TypeError(`${what}: bad shape ${JSON.stringify(t.shape)} (expected non-negative integers)`);
  }
  const count = t.shape.reduce((a, b) => a * b, 1);
  const size = dtypeSize(t.dtype);
  if (!Number.isSafeInteger(count * size)) throw new RangeError(`${what}: shape [${t.shape}] is too large`);
  if ("bytes" in t) {
    if (!(t.bytes instanceof Uint8Array)) throw new TypeError(`${what}: bytes must be a Uint8Array`);
    if (t.bytes.length !== count * size) {
      throw new RangeError(
        `${what}: ${t.bytes.length} bytes given but shape [${t.shape}] of ${t.dtype} needs ${count * size}`,
      );
    }
  } else {
    if (!isDType(t.dtype)) throw new TypeError(`${what}: dtype ${t.dtype} can only be written from bytes`);
    const data = t.data as ArrayLike<unknown> | undefined;
    if (data === null || typeof data !== "object" || typeof data.length !== "number") {
      throw new TypeError(`${what}: data must be an array or typed array`);
    }
    if (data.length !== count) {
      throw new RangeError(`${what}: data has ${data.length} elements but shape [${t.shape}] holds ${count}`);
    }
  }
  return count * size;
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const INT_RANGES: Record<string, [number, number]> = {
  I32: [-(2 ** 31), 2 ** 31 - 1],
  I16: [-32768, 32767],
  I8: [-128, 127],
  U32: [0, 2 ** 32 - 1],
  U16: [0, 65535],
  U8: [0, 255],
  BOOL: [0, 1],
};

type IntArrayCtor = { new (n: number): ArrayBufferView & { [i: number]: number } };
const INT_ARRAYS: Record<string, IntArrayCtor> = {
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U32: Uint32Array,
  U16: Uint16Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

/**
 * Encode a checked tensor (see {@linkcode checkInput}) to its on-disk bytes. The result may be a
 * view of the input's memory (F32 from a `Float32Array`, `bytes` inputs, …); do not modify it.
 *
 * @param name The tensor's name, for errors.
 * @param t The tensor.
 * @returns Its little-endian bytes.
 */
export function encodeTensor(name: string, t: TensorInput): Uint8Array {
  if ("bytes" in t) return t.bytes;
  const what = `Cannot write tensor ${JSON.stringify(name)} as ${t.dtype}`;
  const data = t.data;
  const numbers = (): ArrayLike<number> => {
    if (ArrayBuffer.isView(data) && !(data instanceof BigInt64Array || data instanceof BigUint64Array)) {
      return data as ArrayLike<number>;
    }
    for (let i = 0; i < data.length; i++) {
      if (typeof data[i] !== "number") {
        throw new TypeError(`${what}: element ${i} (${String(data[i])}) is not a number`);
      }
    }
    return data as ArrayLike<number>;
  };
  switch (t.dtype) {
    case "F32":
      return bytesOf(data instanceof Float32Array ? data : Float32Array.from(numbers()));
    case "F64":
      return bytesOf(data instanceof Float64Array ? data : Float64Array.from(numbers()));
    case "F16":
      return bytesOf(encodeFloat16(numbers()));
    case "BF16":
      return bytesOf(encodeBfloat16(numbers()));
    case "I64":
    case "U64":
      return bytesOf(encode64(what, t.dtype, data));
    default: {
      const Ctor = INT_ARRAYS[t.dtype];
      if (data instanceof Ctor && t.dtype !== "BOOL") return bytesOf(data);
      const [lo, hi] = INT_RANGES[t.dtype];
      const out = new Ctor(data.length);
      for (let i = 0; i < data.length; i++) {
        let v = data[i] as unknown;
        if (typeof v === "boolean" && t.dtype === "BOOL") v = v ? 1 : 0;
        else if (typeof v === "bigint" && v >= BigInt(lo) && v <= BigInt(hi)) v = Number(v);
        if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
          throw new RangeError(`${what}: element ${i} (${String(data[i])}) is not an integer in [${lo}, ${hi}]`);
        }
        out[i] = v;
      }
      return bytesOf(out);
    }
  }
}

function encode64(what: string, dtype: "I64" | "U64", data: ArrayLike<unknown>): BigInt64Array | BigUint64Array {
  const Ctor = dtype === "I64" ? BigInt64Array : BigUint64Array;
  if (data instanceof Ctor) return data;
  const lo = dtype === "I64" ? -(2n ** 63n) : 0n, hi = dtype === "I64" ? 2n ** 63n - 1n : 2n ** 64n - 1n;
  const out = new Ctor(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    const b = typeof v === "bigint" ? v : typeof v === "number" && Number.isSafeInteger(v) ? BigInt(v) : undefined;
    if (b === undefined || b < lo || b > hi) {
      throw new RangeError(`${what}: element ${i} (${String(v)}) is not a safe integer or bigint in [${lo}, ${hi}]`);
    }
    out[i] = b;
  }
  return out;
}
