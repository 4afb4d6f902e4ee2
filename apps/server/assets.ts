/**
 * Static assets: the page script and stylesheet beside this file, and the vega, vega-lite and
 * vega-embed browser bundles taken from their npm packages in `node_modules`, so pages work offline.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** One servable file. */
export interface Asset {
  /** Body bytes. */
  body: Uint8Array;
  /** Content-Type header. */
  type: string;
}

/** Vendor bundles: URL name → path inside `node_modules`. */
export const VENDOR_FILES: Record<string, string> = {
  "vega.min.js": "vega/build/vega.min.js",
  "vega-lite.min.js": "vega-lite/build/vega-lite.min.js",
  "vega-embed.min.js": "vega-embed/build/vega-embed.min.js",
};

const OWN_FILES: Record<string, string> = {
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
  "favicon.svg": "image/svg+xml",
};

/**
 * Find the `node_modules` folder holding the vega packages: `start` and each folder above it.
 *
 * @param start Folder to start from.
 * @returns The folder, or `null` when none holds `vega/build/vega.min.js`.
 * @example
 * ```ts ignore
 * const nm = findNodeModules(import.meta.dirname!);
 * ```
 */
export function findNodeModules(start: string): string | null {
  let dir = start;
  for (;;) {
    const candidate = join(dir, "node_modules");
    try {
      Deno.statSync(join(candidate, VENDOR_FILES["vega.min.js"]));
      return candidate;
    } catch { /* keep climbing */ }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/**
 * Load every asset into memory once. Vendor files that cannot be found are left out (their URLs
 * answer 404 and the pages say charts are unavailable) and reported in `missing`.
 *
 * @param options Where `node_modules` is (found by climbing from this file when omitted).
 * @returns Assets by URL path below `/static/`, and the vendor files that were not found.
 * @example
 * ```ts ignore
 * const { assets } = await loadAssets();
 * ```
 */
export async function loadAssets(
  options: { nodeModules?: string } = {},
): Promise<{ assets: Map<string, Asset>; missing: string[] }> {
  const here = dirname(fileURLToPath(import.meta.url));
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(OWN_FILES)) {
    assets.set(name, { body: await Deno.readFile(join(here, "static", name)), type });
  }
  const nm = options.nodeModules ?? findNodeModules(here);
  const missing: string[] = [];
  for (const [name, rel] of Object.entries(VENDOR_FILES)) {
    try {
      if (!nm) throw new Deno.errors.NotFound(rel);
      const body = await Deno.readFile(join(nm, rel));
      assets.set(`vendor/${name}`, { body, type: "text/javascript; charset=utf-8" });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      missing.push(rel);
    }
  }
  return { assets, missing };
}
