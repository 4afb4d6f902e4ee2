import assert from "node:assert/strict";
import { toInt32Array, toNumberArray } from "./decode.ts";
import { SafetensorsError } from "./errors.ts";
import { bfloat16Bits, bfloat16Value, float16Bits, float16Value } from "./half.ts";
import { parseSafetensors } from "./reader.ts";
import { serializeSafetensors } from "./serialize.ts";

const f32Edge = [0, -0, 1, -1.5, Infinity, -Infinity, 2 ** -149, 3.4028234663852886e38, 0.1];

Deno.test("round trip: every decodable dtype, with edge values", async () => {
  const bytes = serializeSafetensors({
    f32: { dtype: "F32", shape: [3, 3], data: Float32Array.from(f32Edge) },
    f64: { dtype: "F64", shape: [4], data: Float64Array.from([Math.PI, -1e-300, 1e300, -0]) },
    f16: { dtype: "F16", shape: [9], data: f32Edge },
    bf16: { dtype: "BF16", shape: [9], data: Float32Array.from(f32Edge) },
    i64: { dtype: "I64", shape: [4], data: [-(2n ** 63n), 2n ** 63n - 1n, -1, Number.MAX_SAFE_INTEGER] },
    u64: { dtype: "U64", shape: [2], data: new BigUint64Array([0n, 2n ** 64n - 1n]) },
    i32: { dtype: "I32", shape: [2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
    u32: { dtype: "U32", shape: [2], data: [0, 2 ** 32 - 1] },
    i16: { dtype: "I16", shape: [2], data: [-32768, 32767] },
    u16: { dtype: "U16", shape: [2], data: [0, 65535] },
    i8: { dtype: "I8", shape: [2], data: [-128, 127] },
    u8: { dtype: "U8", shape: [2], data: new Uint8Array([0, 255]) },
    bool: { dtype: "BOOL", shape: [2, 2], data: [true, false, 1, 0] },
    scalar: { dtype: "F32", shape: [], data: [7] },
    empty: { dtype: "I64", shape: [2, 0], data: [] },
  });
  const f = parseSafetensors(bytes);
  assert.deepEqual([...f.getSync("f32").data], [...Float32Array.from(f32Edge)]);
  assert.deepEqual([...f.getSync("f64").data], [Math.fround(Math.PI), -0, Infinity, -0]);
  // F16/BF16: what comes back is exactly the value of the nearest pattern.
  assert.deepEqual([...f.getSync("f16").data], f32Edge.map((x) => float16Value(float16Bits(x))));
  assert.deepEqual([...f.getSync("bf16").data], f32Edge.map((x) => bfloat16Value(bfloat16Bits(Math.fround(x)))));
  assert.deepEqual(f.getSync("i64").data, new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, -1n, 2n ** 53n - 1n]));
  assert.deepEqual(f.getSync("u64").data, new BigUint64Array([0n, 2n ** 64n - 1n]));
  assert.deepEqual(f.getSync("i32").data, new Int32Array([-(2 ** 31), 2 ** 31 - 1]));
  assert.deepEqual(f.getSync("u32").data, new Uint32Array([0, 2 ** 32 - 1]));
  assert.deepEqual(f.getSync("i16").data, new Int16Array([-32768, 32767]));
  assert.deepEqual(f.getSync("u16").data, new Uint16Array([0, 65535]));
  assert.deepEqual(f.getSync("i8").data, new Int8Array([-128, 127]));
  assert.deepEqual(f.getSync("u8").data, new Uint8Array([0, 255]));
  assert.deepEqual(f.getSync("bool"), { dtype: "BOOL", shape: [2, 2], data: new Uint8Array([1, 0, 1, 0]) });
  assert.deepEqual(f.getSync("scalar"), { dtype: "F32", shape: [], data: new Float32Array([7]) });
  assert.deepEqual(f.getSync("empty"), { dtype: "I64", shape: [2, 0], data: new BigInt64Array(0) });
  // Half values survive a second round trip unchanged.
  const again = parseSafetensors(
    serializeSafetensors({ h: { dtype: "F16", shape: [9], data: f.getSync("f16").data } }),
  );
  assert.deepEqual(await again.getRaw("h"), await f.getRaw("f16"));
});

Deno.test("serialize: exact bytes of a small file (sorted names, space padding, little-endian data)", () => {
  const bytes = serializeSafetensors({
    x: { dtype: "F16", shape: [2], data: [1, -2] },
    a: { dtype: "I32", shape: [1], data: [258] },
  });
  const json =
    '{"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}}';
  const padded = json + " ".repeat((8 - json.length % 8) % 8);
  const expected = [
    ...[padded.length, 0, 0, 0, 0, 0, 0, 0],
    ...new TextEncoder().encode(padded),
    ...[0x02, 0x01, 0, 0], // 258 = 0x0102, little-endian
    ...[0x00, 0x3c, 0x00, 0xc0], // F16 1 = 0x3c00, -2 = 0xc000
  ];
  assert.equal(padded.length % 8, 0);
  assert.deepEqual([...bytes], expected);
});

Deno.test("serialize: header invariants — 8-byte aligned data, metadata first, data in code-point order", () => {
  const names = ["b", "a", "B", "é", "😀", "\uffff", "a.10", "a.9", "__x"];
  const tensors = Object.fromEntries(
    names.map((n, i) => [n, { dtype: "U8" as const, shape: [i + 1], data: new Array(i + 1).fill(i) }]),
  );
  const bytes = serializeSafetensors(tensors, { metadata: { format: "pt", z: "" } });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.match(text, /^\{"__metadata__":\{"format":"pt","z":""\},/);
  assert.match(text, /\} *$/);
  const header = JSON.parse(text);
  const byOffset = names.slice().sort((x, y) => header[x].data_offsets[0] - header[y].data_offsets[0]);
  // Code-point order: "B" < "__x" < "a" < "a.10" < "a.9" < "b" < "é" < U+FFFF < 😀 (U+1F600).
  assert.deepEqual(byOffset, ["B", "__x", "a", "a.10", "a.9", "b", "é", "\uffff", "😀"]);
  const f = parseSafetensors(bytes);
  assert.deepEqual(f.names, byOffset);
  assert.deepEqual(f.metadata, { format: "pt", z: "" });
  for (const [i, name] of names.entries()) assert.deepEqual([...f.getSync(name).data], new Array(i + 1).fill(i));
});

Deno.test("raw-only dtypes are written from bytes and read back as bytes", async () => {
  const raw = new Uint8Array([0x38, 0xb8, 0x7f]);
  const f = parseSafetensors(serializeSafetensors({ q: { dtype: "F8_E4M3", shape: [3], bytes: raw } }));
  assert.deepEqual(await f.getRaw("q"), raw);
  assert.deepEqual(f.info("q"), { dtype: "F8_E4M3", shape: [3], byteLength: 3, dataOffsets: [0, 3], file: "<bytes>" });
  assert.throws(
    () => f.getSync("q"),
    (e) => e instanceof SafetensorsError && /only available as raw bytes/.test(e.message),
  );
  await assert.rejects(f.getFloat32("q"), SafetensorsError);
});

Deno.test("serialize: bad tensors are refused with errors naming the tensor", () => {
  const cases: [Record<string, unknown>, typeof TypeError | typeof RangeError, RegExp][] = [
    [{ t: { dtype: "F33", shape: [1], data: [1] } }, TypeError, /"t": unknown dtype "F33"/],
    [{ t: { dtype: "F32", shape: [2, -1], data: [] } }, TypeError, /"t": bad shape \[2,-1\]/],
    [{ t: { dtype: "F32", shape: [2.5], data: [1, 2] } }, TypeError, /"t": bad shape/],
    [
      { t: { dtype: "F32", shape: [2, 2], data: [1, 2, 3] } },
      RangeError,
      /"t": data has 3 elements but shape \[2,2\] holds 4/,
    ],
    [{ t: { dtype: "F32", shape: [1], data: ["1"] } }, TypeError, /"t" as F32: element 0 \(1\) is not a number/],
    [
      { t: { dtype: "I32", shape: [2], data: [1, 1.5] } },
      RangeError,
      /"t" as I32: element 1 \(1.5\) is not an integer/,
    ],
    [{ t: { dtype: "U8", shape: [1], data: [256] } }, RangeError, /element 0 \(256\) is not an integer in \[0, 255\]/],
    [{ t: { dtype: "BOOL", shape: [1], data: new Uint8Array([2]) } }, RangeError, /"t" as BOOL: element 0 \(2\)/],
    [{ t: { dtype: "I64", shape: [1], data: [2 ** 60] } }, RangeError, /"t" as I64: element 0 .* not a safe integer/],
    [{ t: { dtype: "I64", shape: [1], data: [2n ** 63n] } }, RangeError, /"t" as I64: element 0/],
    [{ t: { dtype: "U64", shape: [1], data: [-1n] } }, RangeError, /"t" as U64/],
    [
      { t: { dtype: "F8_E5M2", shape: [1], data: [1] } },
      TypeError,
      /"t": dtype F8_E5M2 can only be written from bytes/,
    ],
    [
      { t: { dtype: "U16", shape: [2], bytes: new Uint8Array(3) } },
      RangeError,
      /"t": 3 bytes given but shape \[2\] of U16 needs 4/,
    ],
    [{ __metadata__: { dtype: "F32", shape: [], data: [1] } }, TypeError, /reserved for metadata/],
  ];
  for (const [tensors, type, message] of cases) {
    assert.throws(() => serializeSafetensors(tensors as never), (e) => e instanceof type && message.test(e.message));
  }
  assert.throws(
    () => serializeSafetensors({}, { metadata: { n: 1 as unknown as string } }),
    /metadata "n" is not a string/,
  );
});

Deno.test("typed getters and checked conversions for ids", async () => {
  const f = parseSafetensors(serializeSafetensors({
    ids: { dtype: "I64", shape: [3], data: [0n, 50276n, 3n] },
    big: { dtype: "I64", shape: [1], data: [2n ** 31n] },
    w: { dtype: "BF16", shape: [1], data: [0.5] },
  }));
  assert.deepEqual(await f.getInt32("ids"), new Int32Array([0, 50276, 3]));
  assert.deepEqual(await f.getFloat32("w"), new Float32Array([0.5]));
  await assert.rejects(f.getInt32("big"), (e) => e instanceof RangeError && /element 0 \(2147483648\)/.test(e.message));
  await assert.rejects(
    f.getInt32("w"),
    (e) => e instanceof SafetensorsError && /"w".*as integers: its dtype is BF16/.test(e.message),
  );
  await assert.rejects(f.getFloat32("ids"), (e) => e instanceof SafetensorsError && /"ids".*as floats/.test(e.message));
  assert.deepEqual(toNumberArray(new BigInt64Array([-(2n ** 53n) + 1n, 5n])), [-(2 ** 53) + 1, 5]);
  assert.throws(() => toNumberArray(new BigInt64Array([2n ** 53n])), RangeError);
  assert.deepEqual(toInt32Array(new Float32Array([3, -4])), new Int32Array([3, -4]));
  assert.throws(() => toInt32Array(new Float32Array([0.5])), RangeError);
  assert.throws(() => toInt32Array([2 ** 31]), RangeError);
  assert.throws(() => toInt32Array(new BigUint64Array([2n ** 64n - 1n])), RangeError);
});
