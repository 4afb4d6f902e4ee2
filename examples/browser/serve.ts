/**
 * A static server for this example on 127.0.0.1 (WebGPU needs a secure context, and localhost is one):
 * `index.html` from this folder and the bundle `main.js` that `deno task bundle:example` writes to
 * `.cache/examples/browser/` (git-ignored, outside fmt and lint).
 *
 * `deno task example:browser` bundles and serves it; the browser test starts it with port 0.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const HERE = new URL("./", import.meta.url);
/** Where `deno task bundle:example` writes the bundle. */
export const BUNDLE: URL = new URL("../../.cache/examples/browser/main.js", import.meta.url);

const FILES: Record<string, { file: URL; type: string }> = {
  "/": { file: new URL("index.html", HERE), type: "text/html; charset=utf-8" },
  "/index.html": { file: new URL("index.html", HERE), type: "text/html; charset=utf-8" },
  "/main.js": { file: BUNDLE, type: "text/javascript; charset=utf-8" },
};

/** A running example server. */
export interface ExampleServer {
  /** Its address, e.g. `http://127.0.0.1:8123`. */
  url: string;
  /** Stop it. */
  shutdown(): Promise<void>;
}

/**
 * Serve the example folder.
 *
 * @param options `port` (0 for any free one; default 8123).
 * @returns The server.
 * @throws {Error} When the bundle is missing (run `deno task bundle:example` first).
 * @example
 * ```ts ignore
 * const server = await serveExample({ port: 0 });
 * console.log(server.url);
 * await server.shutdown();
 * ```
 */
export async function serveExample(options: { port?: number } = {}): Promise<ExampleServer> {
  try {
    await Deno.stat(BUNDLE);
  } catch {
    throw new Error(`Cannot serve the example: ${fileURLToPath(BUNDLE)} is missing; run \`deno task bundle:example\``);
  }
  const server = Deno.serve({ hostname: "127.0.0.1", port: options.port ?? 8123, onListen() {} }, async (req) => {
    const entry = FILES[new URL(req.url).pathname];
    if (!entry) return new Response("not found", { status: 404 });
    return new Response(await Deno.readFile(entry.file), {
      headers: { "content-type": entry.type, "cache-control": "no-store" },
    });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, shutdown: () => server.shutdown() };
}

if (import.meta.main) {
  const server = await serveExample();
  console.log(`Serving the kernels example at ${server.url} (Ctrl-C to stop)`);
}
