import assert from "node:assert/strict";
import { seededRandom } from "@saelab/core";
import {
  bfloat16Bits,
  bfloat16Value,
  decodeBfloat16,
  decodeFloat16,
  encodeBfloat16,
  encodeFloat16,
  float16Bits,
  float16Value,
} from "./half.ts";

const hex = (n: number) => "0x" + n.toString(16).padStart(4, "0");

Deno.test("float16Bits: hand-computed patterns (normals, subnormals, ties, overflow, specials)", () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [65504, 0x7bff], // largest finite
    [65519.99, 0x7bff], // just below the midpoint to ∞
    [65520, 0x7c00], // the midpoint 65504…65536 ties to even: ∞
    [1e6, 0x7c00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [0, 0x0000],
    [-0, 0x8000],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // half of it: tie to even (0)
    [2 ** -25 * 1.0000001, 0x0001], // just above the tie
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 → 2 (even)
    [5 * 2 ** -25, 0x0002], // tie between 2 and 3 → 2 (even)
    [2 ** -14 - 2 ** -24, 0x03ff], // largest subnormal
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -14 - 2 ** -25, 0x0400], // tie between 0x03ff and 0x0400 → 0x0400 (even)
    [1 + 2 ** -11, 0x3c00], // tie → even mantissa 0
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02 → even
    [1 + 2 ** -10, 0x3c01],
    [-(1 + 2 ** -11 + 2 ** -30), 0xbc01], // just above the tie rounds up
    [2 ** -30, 0x0000], // underflow to zero
    [-(2 ** -30), 0x8000], // keeps the sign
  ];
  for (const [x, bits] of cases) assert.equal(hex(float16Bits(x)), hex(bits), `float16Bits(${x})`);
  assert.equal(hex(float16Bits(NaN)), "0x7e00");
});

Deno.test("bfloat16Bits: hand-computed patterns", () => {
  const maxF32 = (2 - 2 ** -23) * 2 ** 127;
  const cases: [number, number][] = [
    [1, 0x3f80],
    [-2, 0xc000],
    [0.1, 0x3dcd],
    [1 + 2 ** -8, 0x3f80], // tie → even
    [1 + 3 * 2 ** -8, 0x3f82], // tie → even
    [1 + 2 ** -8 + 2 ** -20, 0x3f81],
    [(2 - 2 ** -7) * 2 ** 127, 0x7f7f], // largest finite
    [maxF32, 0x7f80], // above the midpoint: ∞
    [-maxF32, 0xff80],
    [2 ** -126, 0x0080], // smallest normal
    [2 ** -133, 0x0001], // smallest subnormal
    [2 ** -134, 0x0000], // tie → 0
    [3 * 2 ** -134, 0x0002], // tie → even
    [2 ** -149, 0x0000],
    [-0, 0x8000],
    [Infinity, 0x7f80],
  ];
  for (const [x, bits] of cases) {
    assert.equal(hex(bfloat16Bits(x)), hex(bits), `bfloat16Bits(${x})`);
    const f = Math.fround(x);
    if (f === x) assert.equal(hex(encodeBfloat16(new Float32Array([x]))[0]), hex(bits), `fast path for ${x}`);
  }
  assert.equal(hex(bfloat16Bits(NaN)), "0x7fc0");
  assert.equal(hex(encodeBfloat16(new Float32Array([NaN]))[0]), "0x7fc0");
});

Deno.test("float16Value / decodeFloat16: all 65 536 patterns against the textbook formula", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const decoded = decodeFloat16(all);
  const raw = new Uint32Array(decoded.buffer);
  for (let h = 0; h < 65536; h++) {
    const s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    const expected = e === 31
      ? (m === 0 ? (s ? -Infinity : Infinity) : NaN)
      : (s ? -1 : 1) * (e === 0 ? m / 1024 * Math.pow(2, -14) : (1 + m / 1024) * Math.pow(2, e - 15));
    assert.ok(Object.is(float16Value(h), expected), `float16Value(${hex(h)})`);
    assert.ok(Object.is(decoded[h], expected), `decodeFloat16(${hex(h)})`);
    if (e === 31 && m !== 0) assert.equal(raw[h] >>> 13 & 0x3ff, m, "NaN payload is kept");
    if (!Number.isNaN(expected)) assert.equal(float16Bits(expected), h, `float16Bits(float16Value(${hex(h)}))`);
  }
});

Deno.test("bfloat16Value / decodeBfloat16: all 65 536 patterns against a float32 reinterpretation", () => {
  const view = new DataView(new ArrayBuffer(4));
  const all = new Uint16Array(65536).map((_, i) => i);
  const decoded = decodeBfloat16(all);
  for (let h = 0; h < 65536; h++) {
    view.setUint32(0, h << 16);
    const expected = view.getFloat32(0);
    assert.ok(Object.is(bfloat16Value(h), expected) || (Number.isNaN(expected) && Number.isNaN(bfloat16Value(h))));
    assert.ok(Object.is(decoded[h], expected) || Number.isNaN(expected));
    if (!Number.isNaN(expected)) assert.equal(bfloat16Bits(expected), h, `bfloat16Bits(bfloat16Value(${hex(h)}))`);
  }
});

/** Nearest representable value by search over all finite patterns; ties pick the even pattern. */
function nearestBySearch(x: number, decode: (h: number) => number, maxFinite: number, inf: number): number {
  if (Number.isNaN(x)) return -1;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // Positive patterns 0…maxFinite increase in value; past the largest, the next step is ∞ (an even pattern).
  let lo = 0, hi = maxFinite;
  if (a >= decode(maxFinite)) {
    const top = decode(maxFinite);
    const step = top - decode(maxFinite - 1);
    const mid = top + step / 2;
    return sign | (a < mid ? maxFinite : inf);
  }
  while (hi - lo > 1) {
    const m = (lo + hi) >> 1;
    if (decode(m) <= a) lo = m;
    else hi = m;
  }
  const dl = a - decode(lo), dh = decode(hi) - a;
  const pick = dl < dh ? lo : dh < dl ? hi : (lo % 2 === 0 ? lo : hi);
  return sign | pick;
}

Deno.test("F16/BF16 encoding matches a search for the nearest value on random inputs", () => {
  const next = seededRandom(1234);
  const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  const inputs: number[] = [];
  for (let i = 0; i < 20000; i++) {
    // Random float32 bit patterns with exponents around both formats' ranges.
    const exp = Math.floor(next() * 60) - 30 + 127;
    u32[0] = ((next() < 0.5 ? 1 : 0) << 31 | exp << 23 | Math.floor(next() * 2 ** 23)) >>> 0;
    inputs.push(f32[0]);
    // Doubles that sit exactly on, or just beside, a binary16 midpoint.
    const h = Math.floor(next() * 0x7bff);
    const mid = (float16Value(h) + float16Value(h + 1)) / 2;
    inputs.push(mid, mid * (1 + 2 ** -40), mid * (1 - 2 ** -40), next() * 2 ** (Math.floor(next() * 300) - 150));
  }
  for (const x of inputs) {
    const want = nearestBySearch(x, float16Value, 0x7bff, 0x7c00);
    assert.equal(hex(float16Bits(x)), hex(want), `float16Bits(${x})`);
  }
  const b16 = encodeFloat16(Float64Array.from(inputs));
  for (let i = 0; i < inputs.length; i++) assert.equal(b16[i], float16Bits(inputs[i]));

  const bfInputs = inputs.concat(Array.from({ length: 20000 }, () => {
    u32[0] = Math.floor(next() * 2 ** 32);
    return f32[0];
  })).filter((x) => !Number.isNaN(x));
  const fast = encodeBfloat16(Float32Array.from(bfInputs));
  for (let i = 0; i < bfInputs.length; i++) {
    const x = Math.fround(bfInputs[i]);
    const want = nearestBySearch(x, bfloat16Value, 0x7f7f, 0x7f80);
    assert.equal(hex(bfloat16Bits(x)), hex(want), `bfloat16Bits(${x})`);
    assert.equal(hex(fast[i]), hex(want), `encodeBfloat16 fast path (${x})`);
  }
});

Deno.test("encodeFloat16 fast path (Float32Array) agrees with float16Bits on all midpoints and random patterns", () => {
  const next = seededRandom(99);
  const values: number[] = [];
  const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  const neighbours = (x: number) => {
    f32[0] = x;
    const u = u32[0];
    for (const d of [-1, 0, 1]) {
      u32[0] = u + d;
      values.push(f32[0], -f32[0]);
    }
  };
  for (let h = 0; h < 0x7c00; h++) {
    neighbours(float16Value(h));
    neighbours((float16Value(h) + float16Value(h + 1)) / 2); // exact in float32; 0x7bff → 65520
  }
  for (let i = 0; i < 1_000_000; i++) {
    u32[0] = Math.floor(next() * 2 ** 32);
    values.push(f32[0]);
  }
  values.push(NaN, Infinity, -Infinity, 0, -0);
  const fast = encodeFloat16(Float32Array.from(values));
  for (let i = 0; i < values.length; i++) {
    if (fast[i] !== float16Bits(values[i])) {
      assert.fail(`encodeFloat16([${values[i]}]) = ${hex(fast[i])}, float16Bits gives ${hex(float16Bits(values[i]))}`);
    }
  }
});
