/**
 * Laying out a safetensors file: sorted names, contiguous data, and a header padded with
 * spaces so that the data section starts at a multiple of 8 bytes.
 *
 * @module
 */
import { compareCodePoints } from "./_names.ts";
import { checkInput, encodeTensor, type TensorInput } from "./encode.ts";

/** Options for writing. */
export interface WriteOptions {
  /** Stored as `__metadata__` (string values only). */
  metadata?: Record<string, string>;
}

/** One tensor's place in a planned file. */
export interface PlannedTensor {
  /** Its name. */
  name: string;
  /** Its input. */
  input: TensorInput;
  /** `[begin, end)` in the data section. */
  dataOffsets: [number, number];
}

/** A file ready to be written: the header bytes (length prefix included) and the tensors in data order. */
export interface Plan {
  /** The 8-byte length, the JSON and its padding. */
  header: Uint8Array;
  /** Tensors, sorted by name, which is also their order in the data section. */
  tensors: PlannedTensor[];
  /** Size of the whole file in bytes. */
  byteLength: number;
}

/**
 * Check every tensor and lay the file out (no values are encoded yet).
 *
 * @param tensors Tensors by name.
 * @param options Metadata.
 * @returns The header bytes and the tensors' places.
 */
export function planSafetensors(tensors: Record<string, TensorInput>, options: WriteOptions = {}): Plan {
  if (tensors === null || typeof tensors !== "object") {
    throw new TypeError("Cannot write safetensors: expected an object of tensors by name");
  }
  const metadata = options.metadata ?? {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") {
      throw new TypeError(`Cannot write safetensors: metadata ${JSON.stringify(k)} is not a string`);
    }
  }
  const names = Object.keys(tensors).sort(compareCodePoints);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header["__metadata__"] = metadata;
  const planned: PlannedTensor[] = [];
  let at = 0;
  for (const name of names) {
    const input = tensors[name];
    const size = checkInput(name, input);
    const dataOffsets: [number, number] = [at, at + size];
    at += size;
    Object.defineProperty(header, name, {
      value: { dtype: input.dtype, shape: [...input.shape], data_offsets: dataOffsets },
      enumerable: true,
    });
    planned.push({ name, input, dataOffsets });
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + padded).fill(0x20);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, 8);
  return { header: bytes, tensors: planned, byteLength: bytes.length + at };
}

/**
 * Serialise tensors to the bytes of a safetensors file.
 *
 * @param tensors Tensors by name: `{dtype, shape, data}` (or `{dtype, shape, bytes}`).
 * @param options Metadata.
 * @returns The file's bytes.
 * @throws {TypeError | RangeError} On a bad dtype, shape, length or value, naming the tensor.
 * @example
 * ```ts
 * import { parseSafetensors, serializeSafetensors } from "@saelab/safetensors";
 * const bytes = serializeSafetensors({
 *   w: { dtype: "F16", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
 *   ids: { dtype: "I64", shape: [3], data: [0, 1, 2] },
 * }, { metadata: { format: "pt" } });
 * const f = parseSafetensors(bytes);
 * console.log(f.names, f.getSync("w").data); // ["ids", "w"] Float32Array [1, 2, 3, 4]
 * ```
 */
export function serializeSafetensors(
  tensors: Record<string, TensorInput>,
  options: WriteOptions = {},
): Uint8Array<ArrayBuffer> {
  const plan = planSafetensors(tensors, options);
  const out = new Uint8Array(plan.byteLength);
  out.set(plan.header, 0);
  for (const t of plan.tensors) out.set(encodeTensor(t.name, t.input), plan.header.length + t.dataOffsets[0]);
  return out;
}
