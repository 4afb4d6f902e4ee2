import assert from "node:assert/strict";
import { join } from "node:path";
import { SafetensorsError } from "./errors.ts";
import { openSafetensors } from "./file.ts";
import { openSafetensorsFrom, parseSafetensors } from "./reader.ts";
import { serializeSafetensors } from "./serialize.ts";

const enc = new TextEncoder();

/** A file from a header (object or raw text), `dataLength` data bytes, and optionally a forged length field. */
function craft(header: unknown, dataLength: number, length?: bigint): Uint8Array {
  const text = enc.encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(text.length), true);
  out.set(text, 8);
  return out;
}

const t = (dtype: unknown, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });

/** [case, bytes, message pattern, tensor named or undefined]. */
const CASES: [string, Uint8Array, RegExp, string | undefined][] = [
  ["empty file", new Uint8Array(0), /truncated \(0 bytes, fewer than the 8-byte header length\)/, undefined],
  ["5-byte file", new Uint8Array(5), /truncated \(5 bytes/, undefined],
  [
    "header above 100 MB",
    craft({}, 0, 100_000_001n),
    /header length 100000001 is above the 100000000-byte limit/,
    undefined,
  ],
  ["header length high word", craft({}, 0, 1n << 40n), /header length 256·2\^32 \+ 0 is above/, undefined],
  [
    "header beyond the file",
    craft({}, 4, 20n),
    /header length 20 goes beyond the end of the file \(14 bytes, so at most 6\)/,
    undefined,
  ],
  ["invalid JSON", craft('{"a":', 0), /the header is not valid UTF-8 JSON/, undefined],
  ["invalid UTF-8", craft("{}", 0).fill(0xff, 8, 9), /not valid UTF-8 JSON/, undefined],
  ["JSON array", craft("[]", 0), /the header is not a JSON object/, undefined],
  ["unknown dtype", craft({ w: t("F4", [2], [0, 1]) }, 1), /tensor "w" has unknown dtype "F4"/, "w"],
  ["lower-case dtype", craft({ w: t("f32", [1], [0, 4]) }, 4), /tensor "w" has unknown dtype "f32"/, "w"],
  ["missing dtype", craft({ w: { shape: [1], data_offsets: [0, 4] } }, 4), /tensor "w" has no dtype string/, "w"],
  ["negative dim", craft({ w: t("F32", [-1], [0, 4]) }, 4), /tensor "w" has a bad shape \[-1\]/, "w"],
  ["fractional dim", craft({ w: t("F32", [1.5], [0, 4]) }, 4), /tensor "w" has a bad shape \[1.5\]/, "w"],
  ["string shape", craft({ w: t("F32", "4", [0, 4]) }, 4), /tensor "w" has a bad shape "4"/, "w"],
  ["one offset", craft({ w: t("F32", [1], [4]) }, 4), /tensor "w" has bad data_offsets \[4\]/, "w"],
  ["reversed offsets", craft({ w: t("U8", [0], [4, 0]) }, 4), /data_offsets \[4, 0\] that end before they begin/, "w"],
  [
    "out of bounds",
    craft({ w: t("F32", [2], [0, 8]) }, 4),
    /"w" has data_offsets \[0, 8\] out of bounds of the 4-byte data section/,
    "w",
  ],
  [
    "size mismatch",
    craft({ w: t("F32", [3], [0, 8]) }, 8),
    /"w" has shape \[3\] × F32 \(4 bytes\) ≠ its 8-byte span \[0, 8\]/,
    "w",
  ],
  [
    "huge shape",
    craft({ w: t("F32", [2 ** 40, 2 ** 40], [0, 8]) }, 8),
    /"w" has shape \[1099511627776, 1099511627776\] × F32/,
    "w",
  ],
  [
    "overlap",
    craft({ a: t("F32", [2], [0, 8]), b: t("F32", [1], [4, 8]) }, 8),
    /tensor "b" overlaps "a" \(its data begins at 4, before 8\)/,
    "b",
  ],
  [
    "gap",
    craft({ a: t("F32", [1], [0, 4]), b: t("F32", [1], [8, 12]) }, 12),
    /"b" leaves a gap: its data begins at 8/,
    "b",
  ],
  [
    "trailing bytes",
    craft({ a: t("F32", [1], [0, 4]) }, 6),
    /cover 4 bytes \(the last tensor, "a", ends there\).*2 trailing/,
    "a",
  ],
  ["data without tensors", craft({}, 3), /cover 0 bytes but the data section holds 3/, undefined],
  ["metadata number", craft({ __metadata__: { n: 1 } }, 0), /__metadata__ value for "n" is not a string/, undefined],
  ["entry not an object", craft({ w: 7 }, 0), /tensor "w" has a header entry that is not an object/, "w"],
];

Deno.test("bad files: each is refused with a SafetensorsError naming the file and the tensor", async () => {
  const dir = await Deno.makeTempDir({ prefix: "saelab-bad-" });
  try {
    for (const [label, bytes, message, tensor] of CASES) {
      const check = (file: string) => (e: unknown) => {
        assert.ok(e instanceof SafetensorsError, `${label}: ${e}`);
        assert.match(e.message, message, label);
        assert.ok(e.message.startsWith(`Cannot read ${file}`), `${label}: names the file: ${e.message}`);
        assert.equal(e.file, file, label);
        assert.equal(e.tensor, tensor, label);
        return true;
      };
      assert.throws(() => parseSafetensors(bytes, { name: "bad.safetensors" }), check("bad.safetensors"));
      const path = join(dir, "bad.safetensors");
      await Deno.writeFile(path, bytes);
      await assert.rejects(openSafetensors(path), check(path));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("edge cases that are valid: empty tensors on boundaries, no tensors, null metadata, odd offsets", () => {
  const ok = [
    craft({}, 0),
    craft({ __metadata__: null }, 0),
    craft({ a: t("F32", [0], [0, 0]), b: t("U8", [2], [0, 2]), c: t("I64", [0, 5], [2, 2]) }, 2),
    craft({ a: t("U8", [1], [0, 1]), b: t("F32", [1], [1, 5]), extra: { ...t("U8", [], [5, 6]), more: 1 } }, 6),
  ];
  for (const bytes of ok) parseSafetensors(bytes);
  const f = parseSafetensors(ok[3]);
  new DataView(ok[3].buffer).setFloat32(ok[3].length - 5, -2.5, true);
  assert.deepEqual(f.getSync("b").data, new Float32Array([-2.5]));
  assert.throws(
    () => parseSafetensors(craft({ a: t("U8", [2], [0, 2]), b: t("F32", [0], [1, 1]) }, 2)),
    /tensor "b" overlaps "a" \(its data begins at 1, before 2\)/,
    "an empty tensor inside another is an overlap",
  );
});

Deno.test("reads that fail later: missing tensor, closed file, file truncated after opening", async () => {
  const dir = await Deno.makeTempDir({ prefix: "saelab-bad-" });
  const path = join(dir, "m.safetensors");
  try {
    await Deno.writeFile(path, serializeSafetensors({ a: { dtype: "F32", shape: [4], data: [1, 2, 3, 4] } }));
    const f = await openSafetensors(path);
    assert.throws(() => f.info("nope"), (e) => e instanceof SafetensorsError && e.tensor === "nope" && e.file === path);
    await assert.rejects(f.get("nope"), new RegExp(`Cannot find tensor "nope" in ${path}`));
    const size = (await Deno.stat(path)).size;
    await Deno.truncate(path, size - 3);
    await assert.rejects(
      f.get("a"),
      (e) =>
        e instanceof SafetensorsError && e.tensor === "a" &&
        /the file is truncated \(got 13 of 16 bytes/.test(e.message),
    );
    f.close();
    await assert.rejects(f.get("a"), /Cannot read tensor "a" from .*: the file is closed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a source that ends before its stated size: truncated header", async () => {
  const bytes = craft({ a: t("U8", [1], [0, 1]) }, 1);
  const source = {
    name: "shrunk.safetensors",
    size: bytes.length + 100,
    read: (o: number, n: number) => Promise.resolve(bytes.slice(o, Math.min(o + n, 20))),
  };
  await assert.rejects(
    openSafetensorsFrom(source),
    (e) =>
      e instanceof SafetensorsError &&
      /shrunk.safetensors: the file is truncated \(got 12 of its \d+ header/.test(e.message),
  );
});
