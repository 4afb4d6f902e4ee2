/**
 * A safetensors byte source over HTTP: each read is one `Range` request, so a page reads a
 * weights file's header and then only the tensors it needs, each straight into memory.
 *
 * @module
 */
import type { ByteSource } from "@saelab/safetensors/portable";

/** Options of {@linkcode httpSource}. */
export interface HttpSourceOptions {
  /** The file's size in bytes (the server states it in the page). */
  size: number;
  /** The `fetch` to use (default `globalThis.fetch`). */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

/**
 * A byte source reading `url` by ranges.
 *
 * @param url The file's URL.
 * @param options Its size and the `fetch` to use.
 * @returns The source; a read fails with the URL and status when the server does not answer 206 with the range.
 * @example
 * ```ts ignore
 * import { openSafetensorsFrom } from "@saelab/safetensors/portable";
 * const file = await openSafetensorsFrom(httpSource("/live/runs/r1/model/model.safetensors", { size: 3689544 }));
 * ```
 */
export function httpSource(url: string, options: HttpSourceOptions): ByteSource {
  const get = options.fetch ?? ((u: string, init: RequestInit) => fetch(u, init));
  return {
    name: url,
    size: options.size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      const end = Math.min(offset + length, options.size);
      if (end <= offset) return new Uint8Array(0);
      const res = await get(url, { headers: { Range: `bytes=${offset}-${end - 1}` } });
      if (res.status !== 206) {
        await res.body?.cancel();
        throw new RangeError(`Cannot read ${url}: the server answered ${res.status} to a range request, not 206`);
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.length !== end - offset) {
        throw new RangeError(`Cannot read ${url}: asked for ${end - offset} bytes at ${offset}, got ${bytes.length}`);
      }
      return bytes;
    },
  };
}
