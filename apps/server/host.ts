/**
 * Which requests the server answers at all: a `Host` naming the bound address or a loopback name
 * (so that a page on another origin whose DNS name was rebound to this machine cannot read runs),
 * and the methods GET and HEAD (the server only reads).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

/** Loopback names every server answers to, besides its bound address. */
export const LOOPBACK_HOSTS: readonly string[] = Object.freeze(["localhost", "127.0.0.1", "[::1]"]);

/** Options of {@linkcode hostGuard}. */
export interface HostGuardOptions {
  /** Host names (lower case; IPv6 in brackets) accepted in `Host` and in the request target. */
  hosts: readonly string[];
  /** When set, a port given in `Host` must be this one. */
  port?: number;
  /** Refuse a request without a `Host` header (HTTP/1.0) instead of judging it by its URL. Default false. */
  requireHost?: boolean;
}

/**
 * Split `host[:port]` (IPv6 in brackets) into a lower-case name and a port.
 *
 * @param value A `Host` header or a URL's `host`.
 * @returns Name and port (undefined when absent), or null when the value is not a host.
 * @example
 * ```ts
 * import { splitHost } from "./host.ts";
 * console.log(splitHost("[::1]:8080")); // { name: "[::1]", port: 8080 }
 * ```
 */
export function splitHost(value: string): { name: string; port?: number } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:/?#@[\]]+)(?::(\d{1,5}))?$/.exec(value.trim());
  if (!m) return null;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && port > 65535) return null;
  return { name: m[1].toLowerCase(), port };
}

/**
 * Hono middleware that answers 421 Misdirected Request to a request whose `Host` header, or whose
 * absolute-form target, names a host other than the accepted ones (an empty `Host` included), and
 * 405 Method Not Allowed with `Allow: GET, HEAD` to any method but GET and HEAD.
 *
 * @param options Accepted names, the bound port, and whether a `Host` header is required.
 * @returns The middleware.
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { hostGuard, LOOPBACK_HOSTS } from "./host.ts";
 * const app = new Hono().use("*", hostGuard({ hosts: LOOPBACK_HOSTS })).get("/", (c) => c.text("ok"));
 * const res = await app.request("/", { headers: { host: "evil.example" } });
 * console.log(res.status); // 421
 * ```
 */
export function hostGuard(options: HostGuardOptions): MiddlewareHandler {
  const hosts = new Set(options.hosts.map((h) => h.toLowerCase()));
  const accepts = (value: string | undefined, checkPort: boolean): boolean => {
    if (value === undefined) return true;
    const h = splitHost(value);
    if (!h || !hosts.has(h.name)) return false;
    return !checkPort || options.port === undefined || h.port === undefined || h.port === options.port;
  };
  return async (c, next) => {
    const header = c.req.header("host");
    let target: string | undefined;
    try {
      target = new URL(c.req.url).host || undefined;
    } catch {
      target = "";
    }
    const missing = header === undefined && options.requireHost;
    if (missing || !accepts(header, true) || !accepts(target, header === undefined)) {
      const why = missing ? "no Host header" : `host ${JSON.stringify(header ?? target)}`;
      return c.text(`Misdirected request: this server does not answer for ${why}`, 421);
    }
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      return c.text(`Method ${c.req.method} not allowed: the server only reads`, 405, { Allow: "GET, HEAD" });
    }
    await next();
  };
}
