/**
 * Reading a text file: the only place in this package that touches the file
 * system, so that the rest runs unchanged in a browser.
 *
 * @module
 */

/**
 * Reads a UTF-8 text file. In Deno this reads from disk; elsewhere (a browser)
 * the path is fetched as a URL.
 *
 * @param path A file path or URL.
 * @returns The file's text.
 * @example
 * ```ts ignore
 * import { readText } from "./read_text.ts";
 * const text = await readText("../shared/reference/pythia-tokenizer/tokenizer.json");
 * ```
 */
export async function readText(path: string | URL): Promise<string> {
  const deno = (globalThis as { Deno?: { readTextFile(p: string | URL): Promise<string> } }).Deno;
  if (deno) return await deno.readTextFile(path);
  const response = await fetch(path);
  if (!response.ok) throw new Error(`Cannot read ${path}: HTTP ${response.status} ${response.statusText}`);
  return await response.text();
}
