/**
 * Reading safetensors lazily from any random-access byte source: the header is read and
 * validated once, and each tensor's byte range is fetched only when asked for.
 *
 * @module
 */
import { compareCodePoints } from "./_names.ts";
import { isFloatDType } from "./dtype.ts";
import { SafetensorsError } from "./errors.ts";
import { decodeTensor, floatData, type TensorData, toInt32Array } from "./decode.ts";
import { type Header, parseHeader, readHeaderLength, type TensorInfo } from "./header.ts";

/** Random access to the bytes of one file (a file on disk, a `Blob`, bytes in memory). */
export interface ByteSource {
  /** Name used in errors (a path or a label). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Read `length` bytes at `offset`; fewer only when the source ends early. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Synchronous read, where the source can do it. */
  readSync?(offset: number, length: number): Uint8Array;
  /** Release the source. */
  close?(): void;
}

/** Read access to named tensors: a single file or a sharded checkpoint. */
export interface TensorReader extends Disposable {
  /** Tensor names, sorted by code point. */
  readonly names: readonly string[];
  /** The `__metadata__` string map. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Whether a tensor exists. */
  has(name: string): boolean;
  /** What the header says about a tensor (no data is read). */
  info(name: string): TensorInfo;
  /** Read and decode one tensor. */
  get(name: string): Promise<TensorData>;
  /** Read a float tensor (F32/F16/BF16/F64) as `Float32Array`. */
  getFloat32(name: string): Promise<Float32Array>;
  /** Read an integer tensor as `Int32Array`, checking the range (e.g. I64 token ids). */
  getInt32(name: string): Promise<Int32Array>;
  /** Read a tensor's raw little-endian bytes. */
  getRaw(name: string): Promise<Uint8Array>;
  /** Release open files. */
  close(): void;
}

/** A safetensors file whose header has been validated; tensors are read on demand. */
export class SafetensorsFile implements TensorReader {
  /** The file's name (used in errors). */
  readonly file: string;
  /** The `__metadata__` string map. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensor names, sorted by code point. */
  readonly names: readonly string[];
  /** Offset of the data section in the file. */
  readonly dataStart: number;
  #source: ByteSource;
  #tensors: Map<string, TensorInfo>;
  #closed = false;

  /**
   * Prefer {@linkcode openSafetensors}, {@linkcode openSafetensorsFrom} or {@linkcode parseSafetensors}.
   *
   * @param source Where the bytes are.
   * @param header The validated header of that source.
   * @param options Where the data section starts.
   */
  constructor(source: ByteSource, header: Header, options: { dataStart: number }) {
    this.file = source.name;
    this.#source = source;
    this.#tensors = header.tensors;
    this.metadata = Object.freeze({ ...header.metadata });
    this.names = Object.freeze([...header.tensors.keys()].sort(compareCodePoints));
    this.dataStart = options.dataStart;
  }

  /** Whether a tensor exists. */
  has(name: string): boolean {
    return this.#tensors.has(name);
  }

  /**
   * What the header says about a tensor.
   *
   * @param name The tensor.
   * @returns Its dtype, shape, byte length and offsets.
   */
  info(name: string): TensorInfo {
    const info = this.#tensors.get(name);
    if (info === undefined) {
      throw new SafetensorsError(`Cannot find tensor ${JSON.stringify(name)} in ${this.file}`, {
        file: this.file,
        tensor: name,
      });
    }
    return { ...info, shape: [...info.shape], dataOffsets: [...info.dataOffsets] };
  }

  /**
   * Read a tensor's raw bytes (only that byte range of the source).
   *
   * @param name The tensor.
   * @returns Its little-endian bytes, in a buffer of their own.
   */
  async getRaw(name: string): Promise<Uint8Array> {
    const info = this.#check(name);
    const bytes = await this.#source.read(this.dataStart + info.dataOffsets[0], info.byteLength);
    return this.#checkLength(name, info, bytes);
  }

  /**
   * Read and decode a tensor.
   *
   * @param name The tensor.
   * @returns Its dtype, shape and values (floats as `Float32Array`).
   */
  async get(name: string): Promise<TensorData> {
    const info = this.#check(name);
    return decodeTensor(await this.getRaw(name), name, info);
  }

  /**
   * Read and decode a tensor synchronously (in-memory sources only, e.g. {@linkcode parseSafetensors}).
   *
   * @param name The tensor.
   * @returns Its dtype, shape and values.
   */
  getSync(name: string): TensorData {
    const info = this.#check(name);
    if (this.#source.readSync === undefined) {
      throw new TypeError(`Cannot read ${this.file} synchronously: its source only reads asynchronously`);
    }
    const bytes = this.#source.readSync(this.dataStart + info.dataOffsets[0], info.byteLength);
    return decodeTensor(this.#checkLength(name, info, bytes), name, info);
  }

  /** Read a float tensor as `Float32Array` (F16/BF16 exact, F64 rounded to nearest). */
  async getFloat32(name: string): Promise<Float32Array> {
    const info = this.#check(name);
    if (!isFloatDType(info.dtype)) throw notFloat(name, info);
    return floatData(await this.get(name), name, this.file);
  }

  /** Read an integer tensor as `Int32Array`; a value outside the int32 range is a `RangeError`. */
  async getInt32(name: string): Promise<Int32Array> {
    const info = this.#check(name);
    if (isFloatDType(info.dtype)) throw notInteger(name, info);
    return toInt32Array((await this.get(name)).data);
  }

  /** Close the source; later reads fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#source.close?.();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #check(name: string): TensorInfo {
    if (this.#closed) {
      throw new SafetensorsError(`Cannot read tensor ${JSON.stringify(name)} from ${this.file}: the file is closed`, {
        file: this.file,
        tensor: name,
      });
    }
    return this.info(name);
  }

  #checkLength(name: string, info: TensorInfo, bytes: Uint8Array): Uint8Array {
    if (bytes.length !== info.byteLength) {
      throw new SafetensorsError(
        `Cannot read tensor ${
          JSON.stringify(name)
        } from ${this.file}: the file is truncated (got ${bytes.length} of ${info.byteLength} bytes at offset ${
          this.dataStart + info.dataOffsets[0]
        })`,
        { file: this.file, tensor: name },
      );
    }
    return bytes;
  }
}

/** The error for reading a float tensor as integers. */
export function notInteger(name: string, info: TensorInfo): SafetensorsError {
  return new SafetensorsError(
    `Cannot read tensor ${JSON.stringify(name)} from ${info.file} as integers: its dtype is ${info.dtype}`,
    { file: info.file, tensor: name },
  );
}

/** The error for reading a non-float tensor as floats. */
export function notFloat(name: string, info: TensorInfo): SafetensorsError {
  return new SafetensorsError(
    `Cannot read tensor ${JSON.stringify(name)} from ${info.file} as floats: its dtype is ${info.dtype}`,
    { file: info.file, tensor: name },
  );
}

/**
 * Open a safetensors file from any byte source, reading only its header.
 *
 * @param source Random access to the file's bytes.
 * @returns The file; tensors are read on demand.
 * @throws {SafetensorsError} When the header is truncated, too long, not JSON, or inconsistent.
 * @example
 * ```ts
 * import { blobSource, openSafetensorsFrom, serializeSafetensors } from "@saelab/safetensors";
 * const blob = new Blob([serializeSafetensors({ x: { dtype: "BF16", shape: [2], data: [1, -2] } })]);
 * using f = await openSafetensorsFrom(blobSource(blob, "x.safetensors"));
 * console.log(await f.getFloat32("x")); // Float32Array [1, -2]
 * ```
 */
export async function openSafetensorsFrom(source: ByteSource): Promise<SafetensorsFile> {
  try {
    const prefix = await source.read(0, Math.min(8, source.size));
    const n = readHeaderLength(prefix, source.size, source.name);
    const json = await source.read(8, n);
    if (json.length !== n) {
      throw new SafetensorsError(
        `Cannot read ${source.name}: the file is truncated (got ${json.length} of its ${n} header bytes)`,
        { file: source.name },
      );
    }
    const header = parseHeader(json, source.size - 8 - n, source.name);
    return new SafetensorsFile(source, header, { dataStart: 8 + n });
  } catch (error) {
    source.close?.();
    throw error;
  }
}

/**
 * A byte source over bytes in memory. Each read copies its range, so tensors never alias `bytes`;
 * do not modify `bytes` while the source is in use.
 *
 * @param bytes The file's bytes.
 * @param name Name used in errors.
 * @returns The source.
 */
export function bytesSource(bytes: Uint8Array, name = "<bytes>"): ByteSource {
  const readSync = (offset: number, length: number) => bytes.slice(offset, offset + length);
  return { name, size: bytes.length, readSync, read: (offset, length) => Promise.resolve(readSync(offset, length)) };
}

/**
 * A byte source over a `Blob` or `File` (browsers: a dropped file is read range by range).
 *
 * @param blob The blob.
 * @param name Name used in errors (defaults to the `File`'s name).
 * @returns The source.
 */
export function blobSource(blob: Blob, name?: string): ByteSource {
  return {
    name: name ?? ((blob as { name?: unknown }).name as string | undefined) ?? "<blob>",
    size: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  };
}

/**
 * Parse a safetensors file held in memory.
 *
 * @param bytes The file's bytes (kept, not copied: each tensor read copies its range; do not modify them while in use).
 * @param options `name` for errors (default `"<bytes>"`).
 * @returns The file; use `getSync` (or `get`) to read tensors.
 * @throws {SafetensorsError} When the bytes are not a valid safetensors file.
 * @example
 * ```ts
 * import { parseSafetensors, serializeSafetensors } from "@saelab/safetensors";
 * const f = parseSafetensors(serializeSafetensors({ ids: { dtype: "I64", shape: [2], data: [7, 9] } }));
 * console.log(f.info("ids").shape, f.getSync("ids").data); // [2] BigInt64Array [7n, 9n]
 * ```
 */
export function parseSafetensors(bytes: Uint8Array, options: { name?: string } = {}): SafetensorsFile {
  const source = bytesSource(bytes, options.name);
  const n = readHeaderLength(bytes.subarray(0, 8), bytes.length, source.name);
  const header = parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n, source.name);
  return new SafetensorsFile(source, header, { dataStart: 8 + n });
}
