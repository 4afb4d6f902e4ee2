/**
 * Exact conversions between numbers and the 16-bit float formats: IEEE 754 binary16 (`F16`)
 * and bfloat16 (`BF16`). Encoding rounds to nearest, ties to even; overflow gives ±∞;
 * NaN encodes as the canonical quiet NaN. Decoding is exact.
 *
 * @module
 */

interface HalfFormat {
  /** Explicit mantissa bits. */
  mant: number;
  /** Smallest normal exponent. */
  emin: number;
  /** Largest finite exponent. */
  emax: number;
}

const F16: HalfFormat = { mant: 10, emin: -14, emax: 15 };
const BF16: HalfFormat = { mant: 7, emin: -126, emax: 127 };

let pow2Table: Float64Array | undefined;

/** 2^n, exact, for -1074 ≤ n ≤ 1023. */
function pow2(n: number): number {
  if (pow2Table === undefined) {
    const t = new Float64Array(2098);
    let v = 1;
    for (let i = 0; i <= 1023; i++, v *= 2) t[i + 1074] = v;
    v = 1;
    for (let i = 0; i >= -1074; i--, v /= 2) t[i + 1074] = v;
    pow2Table = t;
  }
  return pow2Table[n + 1074];
}

/** floor(log2(a)) for a finite a > 0, exactly. */
function exponentOf(a: number): number {
  let e = Math.floor(Math.log2(a));
  if (e > 1023) e = 1023;
  if (e < -1074) e = -1074;
  while (pow2(e) > a) e--;
  while (e < 1023 && pow2(e + 1) <= a) e++;
  return e;
}

function encodeHalf(x: number, f: HalfFormat): number {
  const bias = 1 - f.emin;
  const inf = (2 * bias + 1) << f.mant;
  if (x !== x) return inf | (1 << (f.mant - 1));
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === 0) return sign;
  if (a === Infinity) return sign | inf;
  const e = Math.max(exponentOf(a), f.emin);
  if (e > f.emax) return sign | inf;
  // Adding 2^(e − mant + 52) leaves a double whose last mantissa bit weighs 2^(e − mant): the
  // addition itself rounds |x| to that grid, to nearest with ties to even, and the subtraction is exact.
  const s = pow2(e - f.mant + 52);
  const r = (a + s) - s;
  if (r === 0) return sign;
  const er = exponentOf(r);
  if (er > f.emax) return sign | inf;
  if (er < f.emin) return sign | (r / pow2(f.emin - f.mant));
  return sign | ((er + bias) << f.mant) | (r / pow2(er - f.mant) - (1 << f.mant));
}

function decodeHalf(bits: number, f: HalfFormat): number {
  const bias = 1 - f.emin;
  const expMask = 2 * bias + 1;
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> f.mant) & expMask;
  const mant = bits & ((1 << f.mant) - 1);
  if (exp === expMask) return mant === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * mant * pow2(f.emin - f.mant);
  return sign * ((1 << f.mant) + mant) * pow2(exp - bias - f.mant);
}

/**
 * The binary16 bit pattern nearest to a number (ties to even).
 *
 * @param x Any number.
 * @returns The 16-bit pattern, 0…0xffff.
 * @example
 * ```ts
 * import { float16Bits } from "@saelab/safetensors";
 * console.log(float16Bits(1).toString(16), float16Bits(65520)); // "3c00" 31744 (= +∞)
 * ```
 */
export function float16Bits(x: number): number {
  return encodeHalf(x, F16);
}

/**
 * The bfloat16 bit pattern nearest to a number (ties to even).
 *
 * @param x Any number.
 * @returns The 16-bit pattern, 0…0xffff.
 * @example
 * ```ts
 * import { bfloat16Bits } from "@saelab/safetensors";
 * console.log(bfloat16Bits(1).toString(16)); // "3f80"
 * ```
 */
export function bfloat16Bits(x: number): number {
  return encodeHalf(x, BF16);
}

/**
 * The value of a binary16 bit pattern.
 *
 * @param bits A 16-bit pattern.
 * @returns Its value (exact).
 * @example
 * ```ts
 * import { float16Value } from "@saelab/safetensors";
 * console.log(float16Value(0x0001)); // 5.960464477539063e-8 (2^-24)
 * ```
 */
export function float16Value(bits: number): number {
  return decodeHalf(bits & 0xffff, F16);
}

/**
 * The value of a bfloat16 bit pattern.
 *
 * @param bits A 16-bit pattern.
 * @returns Its value (exact).
 * @example
 * ```ts
 * import { bfloat16Value } from "@saelab/safetensors";
 * console.log(bfloat16Value(0xc000)); // -2
 * ```
 */
export function bfloat16Value(bits: number): number {
  return decodeHalf(bits & 0xffff, BF16);
}

let f16Table: Uint32Array | undefined;

/** binary16 pattern → binary32 pattern, for all 65 536 patterns (NaN payloads kept). */
function f16ToF32Table(): Uint32Array {
  if (f16Table === undefined) {
    const values = new Float32Array(65536);
    const bits = new Uint32Array(values.buffer);
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) {
        bits[h] = ((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13);
      } else {
        values[h] = decodeHalf(h, F16);
      }
    }
    f16Table = bits;
  }
  return f16Table;
}

/**
 * Decode binary16 patterns to 32-bit floats (exact).
 *
 * @param src The 16-bit patterns.
 * @returns The values.
 * @example
 * ```ts
 * import { decodeFloat16 } from "@saelab/safetensors";
 * console.log(decodeFloat16(new Uint16Array([0x3c00, 0xc000]))); // Float32Array [1, -2]
 * ```
 */
export function decodeFloat16(src: Uint16Array): Float32Array {
  const table = f16ToF32Table();
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = table[src[i]];
  return out;
}

/**
 * Decode bfloat16 patterns to 32-bit floats (exact).
 *
 * @param src The 16-bit patterns.
 * @returns The values.
 * @example
 * ```ts
 * import { decodeBfloat16 } from "@saelab/safetensors";
 * console.log(decodeBfloat16(new Uint16Array([0x3f80]))); // Float32Array [1]
 * ```
 */
export function decodeBfloat16(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  return out;
}

/** binary32 pattern → nearest binary16 pattern (ties to even), with integer operations only. */
function float16BitsOfFloat32Bits(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const a = u & 0x7fffffff;
  if (a > 0x7f800000) return 0x7e00; // NaN
  if (a >= 0x477ff000) return sign | 0x7c00; // ≥ 65520 (the midpoint above 65504) and ∞
  if (a >= 0x38800000) {
    // Normal in binary16: re-bias the exponent (127 → 15) and round away the low 13 mantissa bits.
    let r = (a >>> 13) - (112 << 10);
    const rest = a & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) r++;
    return sign | r;
  }
  if (a <= 0x33000000) return sign; // ≤ 2^-25: zero (2^-25 itself ties to the even zero)
  // Subnormal in binary16: the value × 2^24, i.e. the 24-bit significand shifted right by 126 − exponent.
  const shift = 126 - (a >>> 23);
  const m = (a & 0x7fffff) | 0x800000;
  let q = m >>> shift;
  const rest = m & ((1 << shift) - 1), half = 1 << (shift - 1);
  if (rest > half || (rest === half && (q & 1) === 1)) q++;
  return sign | q;
}

/**
 * Encode numbers as binary16 patterns, rounding to nearest with ties to even.
 *
 * @param src The values (doubles are rounded once, directly to binary16); a `Float32Array` takes a
 *   bit-level fast path with the same results.
 * @returns The 16-bit patterns.
 * @example
 * ```ts
 * import { encodeFloat16 } from "@saelab/safetensors";
 * console.log(encodeFloat16([1, 1 + 2 ** -11])); // Uint16Array [15360, 15360] (the tie goes to even)
 * ```
 */
export function encodeFloat16(src: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(src.length);
  if (src instanceof Float32Array) {
    const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
    for (let i = 0; i < bits.length; i++) out[i] = float16BitsOfFloat32Bits(bits[i]);
    return out;
  }
  for (let i = 0; i < src.length; i++) out[i] = encodeHalf(src[i], F16);
  return out;
}

/**
 * Encode numbers as bfloat16 patterns, rounding to nearest with ties to even.
 *
 * @param src The values; a `Float32Array` takes a bit-level fast path with the same results.
 * @returns The 16-bit patterns.
 * @example
 * ```ts
 * import { encodeBfloat16 } from "@saelab/safetensors";
 * console.log(encodeBfloat16(new Float32Array([1, -2]))); // Uint16Array [16256, 49152]
 * ```
 */
export function encodeBfloat16(src: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(src.length);
  if (src instanceof Float32Array) {
    const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
    for (let i = 0; i < bits.length; i++) {
      const u = bits[i];
      if ((u & 0x7fffffff) > 0x7f800000) out[i] = 0x7fc0;
      else out[i] = (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
    }
    return out;
  }
  for (let i = 0; i < src.length; i++) out[i] = encodeHalf(src[i], BF16);
  return out;
}
