/**
 * An independent reading of the safetensors format, for tests only: a direct transcription of
 * the format's rules (DataView decoding, BigInt sizes, a byte-coverage map) that shares no code
 * with the reader it checks; only the table of dtype sizes (`_dtype_table.ts`, data) is common.
 *
 * @module
 */
import { DTYPE_SIZES, RAW_ONLY_DTYPES } from "./_dtype_table.ts";

const SIZES: Readonly<Record<string, number>> = DTYPE_SIZES;
const RAW_ONLY = RAW_ONLY_DTYPES;

/** A tensor as the oracle reads it: numbers (floats rounded to float32) or bigints, or raw bytes only. */
export interface OracleTensor {
  dtype: string;
  shape: number[];
  values?: (number | bigint)[];
  bytes: Uint8Array;
}

/** The oracle's verdict: the tensors and metadata of a valid file, or the reason it is invalid. */
export type Verdict =
  | { ok: true; tensors: Map<string, OracleTensor>; metadata: Record<string, string> }
  | { ok: false; why: string };

const bad = (why: string): Verdict => ({ ok: false, why });
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isIdx = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/**
 * Read a whole file the slow, obvious way.
 *
 * @param file The bytes.
 * @returns The verdict.
 */
export function oracleRead(file: Uint8Array): Verdict {
  if (file.length < 8) return bad("shorter than 8 bytes");
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const n = dv.getBigUint64(0, true);
  if (n > 100_000_000n) return bad("header above the limit");
  if (n > BigInt(file.length - 8)) return bad("header beyond the file");
  const start = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(file.subarray(8, start)));
  } catch {
    return bad("header not UTF-8 JSON");
  }
  if (!isObj(header)) return bad("header not an object");
  const dataLength = file.length - start;
  const tensors = new Map<string, OracleTensor>();
  const spans: [number, number][] = [];
  let metadata: Record<string, string> = {};
  for (const key of Object.keys(header)) {
    const e = header[key];
    if (key === "__metadata__") {
      if (e === null) continue;
      if (!isObj(e) || Object.values(e).some((v) => typeof v !== "string")) return bad("bad metadata");
      metadata = e as Record<string, string>;
      continue;
    }
    if (!isObj(e)) return bad("entry not an object");
    if (typeof e.dtype !== "string" || !Object.hasOwn(SIZES, e.dtype)) return bad("dtype");
    if (!Array.isArray(e.shape) || !e.shape.every(isIdx)) return bad("shape");
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isIdx)) return bad("offsets");
    const [b, end] = off as number[];
    if (b > end || end > dataLength) return bad("offsets out of bounds");
    const numel = (e.shape as number[]).reduce((p, d) => p * BigInt(d), 1n);
    if (numel * BigInt(SIZES[e.dtype]) !== BigInt(end - b)) return bad("size mismatch");
    spans.push([b, end]);
    const bytes = file.slice(start + b, start + end);
    const values = RAW_ONLY.includes(e.dtype) ? undefined : decode(e.dtype, bytes);
    tensors.set(key, { dtype: e.dtype, shape: e.shape as number[], values, bytes });
  }
  // Every data byte covered exactly once; an empty tensor must sit on a boundary.
  const cover = new Uint8Array(dataLength);
  for (const [b, e] of spans) for (let i = b; i < e; i++) if (cover[i]++ > 0) return bad("overlap");
  if (cover.some((c) => c === 0)) return bad("gap");
  const boundaries = new Set([0, dataLength, ...spans.filter(([b, e]) => b < e).map(([, e]) => e)]);
  for (const [b, e] of spans) if (b === e && !boundaries.has(b)) return bad("empty tensor inside another");
  return { ok: true, tensors, metadata };
}

/** How one element of each decodable dtype is read at a byte offset (little-endian; floats to float32). */
const READ: Record<string, (dv: DataView, o: number) => number | bigint> = {
  F64: (dv, o) => Math.fround(dv.getFloat64(o, true)),
  F32: (dv, o) => dv.getFloat32(o, true),
  F16: (dv, o) => {
    const h = dv.getUint16(o, true);
    const s = h >> 15 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
    return e === 31
      ? (m ? NaN : s * Infinity)
      : e === 0
      ? s * m * Math.pow(2, -24)
      : s * (1024 + m) * Math.pow(2, e - 25);
  },
  BF16: (dv, o) => {
    const tmp = new DataView(new ArrayBuffer(4));
    tmp.setUint16(0, dv.getUint16(o, true));
    return tmp.getFloat32(0);
  },
  I64: (dv, o) => dv.getBigInt64(o, true),
  U64: (dv, o) => dv.getBigUint64(o, true),
  I32: (dv, o) => dv.getInt32(o, true),
  U32: (dv, o) => dv.getUint32(o, true),
  I16: (dv, o) => dv.getInt16(o, true),
  U16: (dv, o) => dv.getUint16(o, true),
  I8: (dv, o) => dv.getInt8(o),
  U8: (dv, o) => dv.getUint8(o),
  BOOL: (dv, o) => dv.getUint8(o),
};

function decode(dtype: string, bytes: Uint8Array): (number | bigint)[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = SIZES[dtype], read = READ[dtype];
  const out: (number | bigint)[] = [];
  for (let o = 0; o < bytes.length; o += size) out.push(read(dv, o));
  return out;
}

/**
 * Whether decoded values equal the oracle's, element by element (NaN equals NaN; -0 ≠ +0).
 *
 * @param actual Decoded values.
 * @param expected The oracle's values.
 * @returns The first differing index, or -1.
 */
export function firstDifference(actual: ArrayLike<number | bigint>, expected: (number | bigint)[]): number {
  if (actual.length !== expected.length) return Math.min(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], b = expected[i];
    if (!(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)))) return i;
  }
  return -1;
}
