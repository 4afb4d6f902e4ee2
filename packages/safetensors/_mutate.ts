/**
 * Valid base files and the mutations the fuzz test applies to them (seeded, reproducible).
 *
 * @module
 */
import { serializeSafetensors } from "./serialize.ts";
import { seededRandom } from "@saelab/core";

/** Seeded generator (the one of `@saelab/core`): the same seed gives the same cases. */
export const rng: (seed: number) => () => number = seededRandom;
/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;
const int = (r: Rng, n: number) => Math.floor(r() * n);
export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)];

/** A file with an unpadded header and tensors at odd byte offsets. */
function unalignedFile(): Uint8Array {
  const header = {
    a: { dtype: "F16", shape: [3], data_offsets: [0, 6] },
    b: { dtype: "F32", shape: [2], data_offsets: [6, 14] },
    c: { dtype: "U8", shape: [1], data_offsets: [14, 15] },
    d: { dtype: "I64", shape: [1], data_offsets: [15, 23] },
    e: { dtype: "F8_E4M3", shape: [2], data_offsets: [23, 25] },
    z: { dtype: "F32", shape: [0], data_offsets: [25, 25] },
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + 25);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  for (let i = 0; i < 25; i++) out[8 + json.length + i] = (i * 37 + 11) & 255;
  return out;
}

/** Valid files to mutate: every dtype, metadata, a tiny file, an empty one, an unaligned one. */
export function baseFiles(): Uint8Array[] {
  const mixed = serializeSafetensors({
    "w.f32": { dtype: "F32", shape: [3, 2], data: [1.5, -2, 0, 3.25, 1e-3, -7] },
    "w.f16": { dtype: "F16", shape: [5], data: [1, -0.5, 65504, 2 ** -24, 0.1] },
    "w.bf16": { dtype: "BF16", shape: [2, 2], data: [1, -3, 1e30, -1e-30] },
    "w.f64": { dtype: "F64", shape: [2], data: [Math.PI, -1e-300] },
    ids: { dtype: "I64", shape: [3], data: [0n, -5n, 2n ** 40n] },
    i32: { dtype: "I32", shape: [2], data: [-(2 ** 31), 7] },
    u8: { dtype: "U8", shape: [3], data: [0, 128, 255] },
    mask: { dtype: "BOOL", shape: [4], data: [true, false, false, true] },
    i16: { dtype: "I16", shape: [1], data: [-300] },
    u16: { dtype: "U16", shape: [1], data: [60000] },
    i8: { dtype: "I8", shape: [1], data: [-7] },
    u32: { dtype: "U32", shape: [1], data: [4e9] },
    u64: { dtype: "U64", shape: [1], data: [2n ** 63n] },
    scalar: { dtype: "F32", shape: [], data: [42] },
    empty: { dtype: "F32", shape: [0, 3], data: [] },
  }, { metadata: { format: "pt", note: "fuzz" } });
  const small = serializeSafetensors({ x: { dtype: "F32", shape: [2], data: [1, 2] } });
  const none = serializeSafetensors({});
  return [mixed, mixed, small, none, unalignedFile()];
}

function splitFile(file: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))), data: file.subarray(8 + n) };
}

function assemble(r: Rng, header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  let json = JSON.stringify(header);
  const pad = int(r, 4);
  if (pad === 1) json += " ".repeat((8 - (json.length + 8) % 8) % 8);
  else if (pad === 2) json += pick(r, ["\n", "\t ", "  \r\n", "\0", "x", "}"]);
  const text = new TextEncoder().encode(json);
  let len = text.length;
  if (r() < 0.1) len += pick(r, [-2, -1, 1, 3]);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, len)), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

const DTYPES = ["F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U64", "U32", "U8", "BOOL", "F8_E5M2", "C64"];
const WEIRD = ["F4", "f32", "X", "", "__proto__", "toString", 5, null, ["F32"]];

/** Set an own property, even one named `__proto__`. */
function define(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function headerEdit(r: Rng, file: Uint8Array): Uint8Array {
  const { header, data } = splitFile(file);
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const name = names.length > 0 ? pick(r, names) : "none";
  const t = (header[name] ?? {}) as Record<string, unknown>;
  const shape = Array.isArray(t.shape) ? [...t.shape] : [];
  const off: unknown[] = Array.isArray(t.data_offsets) ? [...t.data_offsets] : [0, 0];
  const num = (v: unknown) => (typeof v === "number" ? v : 0);
  switch (int(r, 12)) {
    case 0:
      t.dtype = r() < 0.7 ? pick(r, DTYPES) : pick(r, WEIRD);
      break;
    case 1: {
      const i = int(r, shape.length + 1);
      const edits = [
        () => (shape[i] = (shape[i] ?? 1) + pick(r, [-1, 1, 2])),
        () => shape.push(pick(r, [1, 2, 3])),
        () => shape.pop(),
        () => (shape[i] = pick(r, [-1, 1.5, "3", 1e300, 2 ** 53, 2 ** 60, null, 0])),
        () => shape.reverse(),
        () => shape.splice(0, shape.length, shape.reduce((a, b) => a * b, 1)),
      ];
      pick(r, edits)();
      t.shape = r() < 0.05 ? "[2]" : shape;
      break;
    }
    case 2: {
      const k = int(r, 2);
      const edits = [
        () => (off[k] = num(off[k]) + pick(r, [-8, -4, -2, -1, 1, 2, 4, 8])),
        () => off.reverse(),
        () => off.pop(),
        () => off.push(off[1]),
        () => (off[k] = pick(r, [-1, "0", 1.5, 2 ** 53, null])),
        () => (off[0] = off[1]),
        () => {
          const d = pick(r, [-2, 2, 4]);
          off[0] = num(off[0]) + d;
          off[1] = num(off[1]) + d;
        },
      ];
      pick(r, edits)();
      t.data_offsets = off;
      break;
    }
    case 3:
      delete header[name];
      break;
    case 4:
      header[name + "_copy"] = structuredClone(t);
      break;
    case 5:
      if (name in header) {
        delete header[name];
        define(header, pick(r, ["renamed", "__proto__", "ünïcødé 🙂", "", name + name]), t);
      }
      break;
    case 6:
      delete t[pick(r, ["dtype", "shape", "data_offsets"])];
      break;
    case 7:
      header.__metadata__ = pick(r, [{ a: "b" }, { a: 1 }, null, [], "x", {}, { "": "" }, { a: ["b"] }]);
      break;
    case 8: {
      // Swap the offsets of two tensors: valid when their sizes agree, the values then move.
      const other = header[pick(r, names)] as Record<string, unknown> | undefined;
      if (other && typeof other === "object") {
        [t.data_offsets, other.data_offsets] = [other.data_offsets, t.data_offsets];
      }
      break;
    }
    case 9:
      define(t, pick(r, ["extra", "offsets", "__proto__"]), pick(r, [1, "x", null, {}]));
      break;
    case 10:
      header[name] = pick(r, [null, 3, "x", [], [1, 2]]);
      break;
    default:
      header[pick(r, ["new", "a"])] = { dtype: pick(r, DTYPES), shape: [int(r, 3)], data_offsets: [0, int(r, 9)] };
  }
  return assemble(r, header, data);
}

/** One random mutation of a valid file, and its kind (for the tally). */
export function mutate(r: Rng, file: Uint8Array): { kind: string; bytes: Uint8Array } {
  const m = file.slice();
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  switch (int(r, 8)) {
    case 7: {
      // Flips in the data section only: the file stays valid and the values must follow.
      for (let k = 1 + int(r, 4); k > 0 && m.length > 8 + n; k--) m[8 + n + int(r, m.length - 8 - n)] ^= 1 << int(r, 8);
      return { kind: "data flips", bytes: m };
    }
    case 0: {
      const region = r() < 0.5 ? m.length : Math.min(m.length, 8 + n);
      for (let k = 1 + int(r, 4); k > 0; k--) {
        const i = int(r, region);
        m[i] ^= 1 << int(r, 8);
      }
      return { kind: "bit flips", bytes: m };
    }
    case 1:
      return { kind: "truncation", bytes: m.slice(0, int(r, m.length)) };
    case 2: {
      const tail = new Uint8Array(1 + int(r, 16)).map(() => int(r, 256));
      const out = new Uint8Array(m.length + tail.length);
      out.set(m);
      out.set(tail, m.length);
      return { kind: "extension", bytes: out };
    }
    case 3: {
      const dv = new DataView(m.buffer);
      const choice = int(r, 5);
      if (choice === 0) dv.setBigUint64(0, BigInt(Math.max(0, n + pick(r, [-9, -8, -1, 1, 8, 9]))), true);
      else if (choice === 1) dv.setUint32(4, 1 + int(r, 2 ** 32 - 1), true);
      else if (choice === 2) {
        dv.setBigUint64(0, BigInt(pick(r, [0, 100_000_001, 2 ** 53, m.length, m.length - 8])), true);
      } else if (choice === 3) dv.setBigUint64(0, BigInt(int(r, m.length + 8)), true);
      else dv.setBigUint64(0, 0xffffffffffffffffn, true);
      return { kind: "length field", bytes: m };
    }
    case 4: {
      const chars = new TextEncoder().encode('0123456789{}[],:"-. eE\\x');
      for (let k = 1 + int(r, 2); k > 0 && n > 0; k--) m[8 + int(r, n)] = pick(r, [...chars]);
      return { kind: "header text", bytes: m };
    }
    default:
      return { kind: "header edit", bytes: headerEdit(r, file) };
  }
}
