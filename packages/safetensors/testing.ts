/**
 * Test fixtures for code that reads safetensors files: damage a file the way a bad disk or a
 * hand edit would, keeping its size and header.
 *
 * @module
 */
import { openSafetensors } from "./mod.ts";

/**
 * Overwrite the first element of an F32 tensor in a safetensors file, in place (same size, same header).
 *
 * @param path The file.
 * @param tensor The tensor's name.
 * @param value The new first element.
 * @returns Nothing, once the file is written.
 * @example
 * ```ts ignore
 * import { overwriteFirstFloat32 } from "@saelab/safetensors/testing";
 * await overwriteFirstFloat32("runs/r1/train-state.safetensors", "w.0.encoder", NaN);
 * ```
 */
export async function overwriteFirstFloat32(path: string, tensor: string, value: number): Promise<void> {
  const f = await openSafetensors(path);
  const at = f.dataStart + f.info(tensor).dataOffsets[0];
  f.close();
  const bytes = await Deno.readFile(path);
  new DataView(bytes.buffer).setFloat32(at, value, true);
  await Deno.writeFile(path, bytes);
}
