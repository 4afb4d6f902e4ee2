/**
 * Start the report server on a host and port.
 *
 * @module
 */
import { resolve } from "node:path";
import { createApp } from "./app.ts";
import { loadAssets } from "./assets.ts";
import { type GuardTimeouts, startGuard } from "./guard.ts";
import { LOOPBACK_HOSTS } from "./host.ts";

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
  /**
   * More host names to answer for (e.g. a DNS name of this machine). Always answered: the bound
   * address and {@linkcode LOOPBACK_HOSTS}; on a wildcard bind (`0.0.0.0`, `::`) also this machine's
   * interface addresses and host name. Any other `Host` gets 421.
   */
  hosts?: readonly string[];
  /** Slow-client timeouts (headers 10 s, body 30 s, idle 60 s by default). */
  timeouts?: GuardTimeouts;
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
  const names = hostNames(host, options.hosts ?? []);
  // The HTTP server listens on a loopback port; the public socket is the guard's, which times out slow clients.
  const inner = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => app.fetch(req));
  let guard: ReturnType<typeof startGuard>;
  try {
    guard = startGuard({
      hostname: host,
      port,
      upstreamPort: (inner.addr as Deno.NetAddr).port,
      ...options.timeouts,
    });
  } catch (error) {
    await inner.shutdown();
    throw error;
  }
  const bound = guard.addr;
  const app = createApp({
    runsDir,
    assets,
    cacheMs: options.cacheMs,
    hosts: names,
    port: bound.port,
    requireHost: true,
    onError: (e) => options.onWarn?.(`Request failed: ${(e as Error)?.message ?? e}`),
  });
  const h = bound.hostname.includes(":") ? `[${bound.hostname}]` : bound.hostname;
  const url = `http://${h}:${bound.port}`;
  let stopping: Promise<void> | null = null;
  const shutdown = () =>
    stopping ??= (async () => {
      guard.close();
      await guard.finished;
      await inner.shutdown();
    })();
  options.signal?.addEventListener("abort", () => void shutdown(), { once: true });
  if (options.signal?.aborted) void shutdown();
  options.onListen?.(url);
  return { url, finished: inner.finished, shutdown };
}

/** The host names a server bound to `host` answers for. */
function hostNames(host: string, extra: readonly string[]): string[] {
  const bracket = (a: string) => (a.includes(":") ? `[${a}]` : a);
  const names = new Set<string>([...LOOPBACK_HOSTS, bracket(host.toLowerCase()), ...extra.map((e) => e.toLowerCase())]);
  if (host === "0.0.0.0" || host === "::" || host === "[::]") {
    try {
      for (const i of Deno.networkInterfaces()) names.add(bracket(i.address.toLowerCase().split("%")[0]));
      names.add(Deno.hostname().toLowerCase());
    } catch { /* without --allow-sys, only the loopback names */ }
  }
  return [...names];
}
