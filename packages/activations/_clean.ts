/**
 * Removing what a killed harvest left behind: chunk files the manifest does
 * not list and temporary files of interrupted atomic writes.
 *
 * @module
 */
import { type Manifest, MANIFEST_FILE } from "./manifest.ts";

const CHUNK = /^(train|heldout)-\d{6}\.safetensors$/;
const TEMP = /^\.(?:(?:train|heldout)-\d{6}\.safetensors|manifest\.json)\.[\w-]+\.tmp$/;

/**
 * Delete uncommitted chunk files and temporary files in a store folder. Other files are left alone.
 *
 * @param dir The store folder.
 * @param manifest Its manifest (null when there is none yet).
 * @param options `all`: also delete the manifest and every chunk (start over).
 * @returns The names removed.
 */
export async function cleanStoreFolder(
  dir: string,
  manifest: Manifest | null,
  options: { all?: boolean } = {},
): Promise<string[]> {
  const keep = new Set(
    options.all ? [] : [...(manifest?.chunks ?? []), ...(manifest?.heldOutChunks ?? [])].map((c) => c.file),
  );
  const removed: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile) continue;
    const stale = (CHUNK.test(e.name) && !keep.has(e.name)) || TEMP.test(e.name) ||
      (options.all === true && e.name === MANIFEST_FILE);
    if (stale) {
      await Deno.remove(`${dir}/${e.name}`);
      removed.push(e.name);
    }
  }
  return removed;
}
