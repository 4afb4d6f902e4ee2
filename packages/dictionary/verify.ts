/**
 * The SHA-256 that SAELens folders written here and training checkpoints carry of their payload
 * (every tensor's little-endian bytes, in name order: the data section of the safetensors file,
 * `saelab_sha256` in its header), and the error a file that fails it raises. Every reader of a
 * SAELens folder checks it ({@linkcode verifySaeWeights}, `readSaeLensTensors`).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { openSafetensors, type SafetensorsFile } from "@saelab/safetensors";
import { CheckpointError } from "./errors.ts";

export { CheckpointError } from "./errors.ts";

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * SHA-256 (hex) of typed arrays as a safetensors file lays them out: by name, little-endian bytes.
 *
 * @param tensors The arrays by tensor name.
 * @returns The hex digest.
 * @example
 * ```ts
 * import { payloadSha256 } from "@saelab/dictionary";
 * if (payloadSha256({ a: new Float32Array(2) }).length !== 64) throw new Error("sha");
 * ```
 */
export function payloadSha256(tensors: Record<string, Float32Array | Uint32Array>): string {
  const h = createHash("sha256");
  for (const name of Object.keys(tensors).sort(byName)) {
    const a = tensors[name];
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return h.digest("hex");
}

/**
 * SHA-256 (hex) of an open file's payload, read tensor by tensor.
 *
 * @param file The open safetensors file.
 * @returns The hex digest, equal to {@linkcode payloadSha256} of its tensors.
 * @example
 * ```ts ignore
 * using file = await openSafetensors("sae_weights.safetensors");
 * const sha = await fileSha256(file);
 * ```
 */
export async function fileSha256(file: SafetensorsFile): Promise<string> {
  const h = createHash("sha256");
  for (const name of [...file.names].sort(byName)) h.update(await file.getRaw(name));
  return h.digest("hex");
}

/**
 * The name of the first array holding NaN or Inf.
 *
 * @param arrays Arrays by name (null and undefined are skipped).
 * @returns The name, or null when all are finite.
 * @example
 * ```ts
 * import { nonFinite } from "@saelab/dictionary";
 * if (nonFinite({ a: new Float32Array([1, NaN]) }) !== "a") throw new Error("nonFinite");
 * ```
 */
export function nonFinite(arrays: Record<string, Float32Array | null | undefined>): string | null {
  for (const [name, a] of Object.entries(arrays)) if (a && !a.every(Number.isFinite)) return name;
  return null;
}

/**
 * Check an open safetensors file's payload against the `saelab_sha256` of its header, when it carries one.
 *
 * @param file The open file.
 * @param path Its path, for the message.
 * @returns Nothing.
 * @throws {CheckpointError} When the SHA-256 differs.
 * @example
 * ```ts ignore
 * using file = await openSafetensors(path);
 * await checkPayloadSha256(file, path);
 * ```
 */
export async function checkPayloadSha256(file: SafetensorsFile, path: string): Promise<void> {
  const want = file.metadata.saelab_sha256;
  if (want !== undefined && (await fileSha256(file)) !== want) {
    throw new CheckpointError(
      `Cannot load ${path}: the SHA-256 of its tensors differs from the one in its header (the file was altered ` +
        "or damaged)",
      path,
    );
  }
}

/**
 * Check the weights file of a SAELens folder: the SHA-256 of its tensors against the one in its header
 * (when it carries one, as folders written here do), and that every float tensor is finite.
 *
 * @param dir The folder.
 * @returns Nothing.
 * @throws {CheckpointError} When the file is truncated or unreadable, its tensors' SHA-256 differs, or a
 *   tensor holds NaN or Inf.
 * @example
 * ```ts ignore
 * await verifySaeWeights("runs/r1/saes/untied_r4_a1.0e-3");
 * ```
 */
export async function verifySaeWeights(dir: string): Promise<void> {
  const path = join(dir, "sae_weights.safetensors");
  let file: SafetensorsFile;
  try {
    file = await openSafetensors(path);
  } catch (e) {
    throw new CheckpointError(`Cannot load ${path}: ${(e as Error).message}`, path, { cause: e });
  }
  try {
    await checkPayloadSha256(file, path);
    const floats = file.names.filter((n) => ["F32", "F16", "BF16", "F64"].includes(file.info(n).dtype));
    const bad = nonFinite(
      Object.fromEntries(await Promise.all(floats.map(async (n) => [n, await file.getFloat32(n)]))),
    );
    if (bad) throw new CheckpointError(`Cannot load ${path}: ${bad} holds NaN or Inf`, path);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`Cannot load ${path}: ${(e as Error).message}`, path, { cause: e });
  } finally {
    file.close();
  }
}
