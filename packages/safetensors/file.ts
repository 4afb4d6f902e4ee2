/**
 * Safetensors files on disk (Deno): lazy reads by byte range and atomic writes
 * (a temporary file in the same folder, then a rename).
 *
 * @module
 */
import { writeChunksAtomic } from "@saelab/core/fs";
import { encodeTensor, type TensorInput } from "./encode.ts";
import { SafetensorsError } from "./errors.ts";
import { type ByteSource, openSafetensorsFrom, type SafetensorsFile } from "./reader.ts";
import { type Plan, planSafetensors, type WriteOptions } from "./serialize.ts";

/**
 * A byte source over a file on disk. Reads are queued, so concurrent `get`s are safe.
 *
 * @param path The file.
 * @returns The source (close it when done).
 */
export async function fileSource(path: string): Promise<ByteSource> {
  const file = await Deno.open(path, { read: true });
  let size: number;
  try {
    size = (await file.stat()).size;
  } catch (error) {
    file.close();
    throw error;
  }
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;
  const readAt = async (offset: number, length: number): Promise<Uint8Array> => {
    const buf = new Uint8Array(length);
    await file.seek(offset, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < length) {
      const n = await file.read(buf.subarray(filled));
      if (n === null || n === 0) break;
      filled += n;
    }
    return filled === length ? buf : buf.slice(0, filled);
  };
  return {
    name: path,
    size,
    read(offset, length) {
      if (closed) {
        return Promise.reject(new SafetensorsError(`Cannot read ${path}: the file is closed`, { file: path }));
      }
      const result = queue.then(() => readAt(offset, length));
      queue = result.catch(() => {});
      return result;
    },
    close() {
      if (closed) return;
      closed = true;
      file.close();
    },
  };
}

/**
 * Open a safetensors file, reading and validating only its header; each `get` then reads
 * just that tensor's byte range.
 *
 * @param path The file.
 * @returns The open file; close it (or `using`) when done.
 * @throws {SafetensorsError} When the file is truncated or its header is invalid.
 * @example
 * ```ts ignore
 * import { openSafetensors } from "@saelab/safetensors";
 * using f = await openSafetensors("model.safetensors");
 * console.log(f.names, f.info("embed_out.weight")); // { dtype: "F32", shape: [512, 64], … }
 * const w = await f.getFloat32("embed_out.weight"); // [512, 64]
 * ```
 */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  return await openSafetensorsFrom(await fileSource(path));
}

/**
 * Write a planned file: the header, then each tensor encoded in turn (one tensor's bytes in
 * memory at a time beyond the inputs).
 *
 * @param path The destination.
 * @param plan From {@linkcode planSafetensors}.
 */
export async function writePlan(path: string, plan: Plan): Promise<void> {
  await writeChunksAtomic(path, function* () {
    yield plan.header;
    for (const t of plan.tensors) yield encodeTensor(t.name, t.input);
  }, { bytes: plan.byteLength });
}

/**
 * Write tensors to a safetensors file atomically. Names are sorted, the header is padded
 * with spaces to a multiple of 8 bytes, F32 data is rounded to F16/BF16 when those are asked for.
 *
 * @param path The destination (replaced if it exists).
 * @param tensors Tensors by name: `{dtype, shape, data}` or `{dtype, shape, bytes}`.
 * @param options Metadata (`__metadata__`).
 * @throws {TypeError | RangeError} On a bad tensor, naming it; `path` is then left as it was.
 * @example
 * ```ts ignore
 * import { writeSafetensors } from "@saelab/safetensors";
 * await writeSafetensors("sae_weights.safetensors", {
 *   W_enc: { dtype: "F32", shape: [64, 256], data: wEnc }, // [d_in, d_sae]
 *   b_enc: { dtype: "F16", shape: [256], data: bEnc }, // rounded to nearest even
 * }, { metadata: { format: "pt" } });
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, TensorInput>,
  options: WriteOptions = {},
): Promise<void> {
  await writePlan(path, planSafetensors(tensors, options));
}
