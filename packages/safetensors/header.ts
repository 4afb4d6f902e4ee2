/**
 * The safetensors header: an 8-byte little-endian length, then that many bytes of UTF-8 JSON
 * mapping tensor names to `{dtype, shape, data_offsets}` plus an optional `__metadata__`
 * string map. This file validates it completely, so that a reader can trust every entry.
 *
 * @module
 */
import { type DType, dtypeSize, isKnownDType, type RawDType } from "./dtype.ts";
import { SafetensorsError } from "./errors.ts";

/** Largest header accepted, in bytes (the limit the reference implementation uses). */
export const MAX_HEADER_BYTES = 100_000_000;

/** What the header says about one tensor. */
export interface TensorInfo {
  /** Element type. */
  dtype: DType | RawDType;
  /** Dimensions, row-major (`[]` for a scalar). */
  shape: number[];
  /** Bytes of data: elements × dtype size. */
  byteLength: number;
  /** `[begin, end)` of the data, relative to the start of the data section. */
  dataOffsets: [number, number];
  /** The file that holds it. */
  file: string;
}

/** A validated header. */
export interface Header {
  /** The `__metadata__` map (empty when absent). */
  metadata: Record<string, string>;
  /** Tensors by name. */
  tensors: Map<string, TensorInfo>;
}

/**
 * Read the header length from the first 8 bytes and check it against the file size.
 *
 * @param prefix At least the first 8 bytes of the file.
 * @param fileSize Size of the whole file in bytes.
 * @param file File name for errors.
 * @returns The header length `N`; the data section starts at `8 + N`.
 */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw new SafetensorsError(
      `Cannot read ${file}: the file is truncated (${fileSize} bytes, fewer than the 8-byte header length)`,
      { file },
    );
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const lo = view.getUint32(0, true), hi = view.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (hi !== 0 || n > MAX_HEADER_BYTES) {
    throw new SafetensorsError(
      `Cannot read ${file}: header length ${
        hi === 0 ? n : `${hi}·2^32 + ${lo}`
      } is above the ${MAX_HEADER_BYTES}-byte limit`,
      { file },
    );
  }
  if (n > fileSize - 8) {
    throw new SafetensorsError(
      `Cannot read ${file}: header length ${n} goes beyond the end of the file (${fileSize} bytes, so at most ${
        fileSize - 8
      })`,
      { file },
    );
  }
  return n;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parse and validate a header. Every tensor must have a known dtype, a shape of non-negative
 * integers, `data_offsets` inside the data section whose span equals elements × dtype size,
 * and the tensors together must cover the data section exactly: no gaps, no overlaps.
 *
 * @param json The header bytes (UTF-8 JSON, possibly padded with spaces).
 * @param dataLength Size of the data section in bytes.
 * @param file File name for errors.
 * @returns The metadata and the tensors.
 */
export function parseHeader(json: Uint8Array, dataLength: number, file: string): Header {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json));
  } catch (cause) {
    throw new SafetensorsError(`Cannot read ${file}: the header is not valid UTF-8 JSON (${String(cause)})`, {
      file,
      cause,
    });
  }
  if (!isPlainObject(parsed)) {
    throw new SafetensorsError(`Cannot read ${file}: the header is not a JSON object`, { file });
  }
  const metadata: [string, string][] = [];
  const tensors = new Map<string, TensorInfo>();
  for (const [name, entry] of Object.entries(parsed)) {
    if (name === "__metadata__") {
      if (entry === null) continue; // an absent map, as serde reads it
      if (!isPlainObject(entry)) {
        throw new SafetensorsError(`Cannot read ${file}: __metadata__ is not an object of strings`, { file });
      }
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== "string") {
          throw new SafetensorsError(
            `Cannot read ${file}: __metadata__ value for ${JSON.stringify(k)} is not a string`,
            { file },
          );
        }
        metadata.push([k, v]);
      }
      continue;
    }
    tensors.set(name, parseEntry(name, entry, dataLength, file));
  }
  checkCoverage(tensors, dataLength, file);
  return { metadata: Object.fromEntries(metadata), tensors };
}

function parseEntry(name: string, entry: unknown, dataLength: number, file: string): TensorInfo {
  const fail = (why: string) =>
    new SafetensorsError(`Cannot read ${file}: tensor ${JSON.stringify(name)} ${why}`, { file, tensor: name });
  if (!isPlainObject(entry)) throw fail("has a header entry that is not an object");
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== "string") throw fail("has no dtype string");
  if (!isKnownDType(dtype)) throw fail(`has unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    throw fail(`has a bad shape ${JSON.stringify(shape)} (expected an array of non-negative integers)`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    throw fail(`has bad data_offsets ${JSON.stringify(offsets)} (expected [begin, end], non-negative integers)`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw fail(`has data_offsets [${begin}, ${end}] that end before they begin`);
  if (end > dataLength) {
    throw fail(`has data_offsets [${begin}, ${end}] out of bounds of the ${dataLength}-byte data section`);
  }
  const size = dtypeSize(dtype);
  const span = end - begin;
  // Elements; with no zero dimension the product only grows, so stop once it is too large.
  let count = shape.includes(0) ? 0 : 1;
  for (const d of count === 0 ? [] : shape as number[]) {
    count *= d;
    if (count * size > span) break;
  }
  if (count * size !== span) {
    throw fail(
      `has shape [${shape.join(", ")}] × ${dtype} (${size} bytes) ≠ its ${span}-byte span [${begin}, ${end}]`,
    );
  }
  return { dtype, shape: [...shape] as number[], byteLength: span, dataOffsets: [begin, end], file };
}

/** The tensors, sorted by offsets, must tile `[0, dataLength)` exactly. */
function checkCoverage(tensors: Map<string, TensorInfo>, dataLength: number, file: string): void {
  const sorted = [...tensors].sort(([, a], [, b]) =>
    a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]
  );
  let at = 0;
  let previous: string | undefined;
  for (const [name, info] of sorted) {
    const [begin, end] = info.dataOffsets;
    if (begin !== at) {
      const why = begin < at
        ? `overlaps ${JSON.stringify(previous)} (its data begins at ${begin}, before ${at})`
        : `leaves a gap: its data begins at ${begin} but the previous tensor ends at ${at}`;
      throw new SafetensorsError(`Cannot read ${file}: tensor ${JSON.stringify(name)} ${why}`, {
        file,
        tensor: name,
      });
    }
    at = end;
    previous = name;
  }
  if (at !== dataLength) {
    const last = previous === undefined ? "" : ` (the last tensor, ${JSON.stringify(previous)}, ends there)`;
    throw new SafetensorsError(
      `Cannot read ${file}: the tensors cover ${at} bytes${last} but the data section holds ${dataLength}: ${
        dataLength - at
      } trailing bytes`,
      { file, ...(previous === undefined ? {} : { tensor: previous }) },
    );
  }
}
