/**
 * The SHA-256 that checkpoints carry of their payload (every tensor's little-endian bytes, in name
 * order: the data section of the safetensors file), and the error a checkpoint that fails it raises.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { SafetensorsFile } from "@saelab/safetensors";

/** A checkpoint file that cannot be used: truncated, altered (its SHA-256 differs), or holding NaN/Inf. */
export class CheckpointError extends Error {
  override name = "CheckpointError";

  /**
   * @param message What could not be done and why, naming the file.
   * @param file The file.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, readonly file: string, options?: ErrorOptions) {
    super(message, options);
  }
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** SHA-256 (hex) of typed arrays as a safetensors file lays them out: by name, little-endian bytes. */
export function payloadSha256(tensors: Record<string, Float32Array | Uint32Array>): string {
  const h = createHash("sha256");
  for (const name of Object.keys(tensors).sort(byName)) {
    const a = tensors[name];
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return h.digest("hex");
}

/** SHA-256 (hex) of an open file's payload, read tensor by tensor. */
export async function fileSha256(file: SafetensorsFile): Promise<string> {
  const h = createHash("sha256");
  for (const name of [...file.names].sort(byName)) h.update(await file.getRaw(name));
  return h.digest("hex");
}

/** The name of the first array holding NaN or Inf, or null. */
export function nonFinite(arrays: Record<string, Float32Array | null | undefined>): string | null {
  for (const [name, a] of Object.entries(arrays)) if (a && !a.every(Number.isFinite)) return name;
  return null;
}
