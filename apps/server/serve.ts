/**
 * Start the report server on a host and port.
 *
 * @module
 */
import { resolve } from "node:path";
import { createApp } from "./app.ts";
import { loadAssets } from "./assets.ts";

/** Options of {@linkcode startServer}. */
export interface ServeOptions {
  /** The runs folder. */
  runsDir: string;
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Interface to bind. Default `127.0.0.1` (loopback only). */
  host?: string;
  /** Stops the server when aborted. */
  signal?: AbortSignal;
  /** Called once listening, with the URL. */
  onListen?: (url: string) => void;
  /** Called with warnings (missing vega bundles) and unexpected request errors. */
  onWarn?: (message: string) => void;
  /** Response reuse window in milliseconds (default 1000; 0 reads the files on every request). */
  cacheMs?: number;
}

/** A running server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
  /** Stop accepting connections and finish. */
  shutdown(): Promise<void>;
}

/**
 * Serve the runs folder over HTTP.
 *
 * @param options Folder, address, stop signal and callbacks.
 * @returns The running server.
 * @example
 * ```ts ignore
 * const server = await startServer({ runsDir: "runs", port: 0 });
 * console.log(server.url);
 * await server.shutdown();
 * ```
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const runsDir = resolve(options.runsDir);
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot serve on port ${port}: expected an integer from 0 to 65535`);
  }
  const { assets, missing } = await loadAssets();
  if (missing.length) options.onWarn?.(`Charts will not render: not found in node_modules: ${missing.join(", ")}`);
  const app = createApp({
    runsDir,
    assets,
    cacheMs: options.cacheMs,
    onError: (e) => options.onWarn?.(`Request failed: ${(e as Error)?.message ?? e}`),
  });
  let url = "";
  const server = Deno.serve({
    hostname: host,
    port,
    signal: options.signal,
    onListen: (addr) => {
      const h = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
      url = `http://${h}:${addr.port}`;
    },
  }, app.fetch);
  // onListen runs synchronously inside Deno.serve once the socket is bound.
  if (!url) url = `http://${host}:${(server.addr as Deno.NetAddr).port}`;
  options.onListen?.(url);
  return { url, finished: server.finished, shutdown: () => server.shutdown() };
}
