/**
 * {@linkcode pathExists}: whether a file or folder can be reached.
 *
 * @module
 */

/**
 * Whether something exists at `path` (a file, a folder, or a link to one).
 *
 * @param path The path to probe.
 * @returns True when `Deno.stat` succeeds; false for a missing path, and for one that cannot be read
 * (denied permission, a broken link).
 * @example
 * ```ts
 * import { pathExists } from "@saelab/corpus";
 * console.log(await pathExists(Deno.cwd()), await pathExists("/no/such/file")); // true false
 * ```
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
