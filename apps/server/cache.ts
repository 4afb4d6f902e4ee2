/**
 * A short-lived cache of successful GET responses, so that many clients asking for the same page
 * within `ttlMs` cost one read of the run folder. Concurrent misses for the same URL share one
 * computation. Pages may therefore lag the files by at most `ttlMs`.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

interface Entry {
  at: number;
  status: number;
  type: string;
  body: Uint8Array<ArrayBuffer>;
}

/** Options of {@linkcode responseCache}. */
export interface ResponseCacheOptions {
  /** How long a response is reused, in milliseconds; 0 disables the cache. */
  ttlMs: number;
  /** Most entries kept (oldest evicted first). Default 256. */
  maxEntries?: number;
  /** Milliseconds clock; default `performance.now`. */
  now?: () => number;
  /** Paths that are never cached (prefixes). */
  skip?: string[];
}

/**
 * Hono middleware caching 200 responses to GET requests by path and query.
 *
 * @param options Time to live, size bound, clock and skipped prefixes.
 * @returns The middleware.
 * @example
 * ```ts ignore
 * app.use("*", responseCache({ ttlMs: 1000 }));
 * ```
 */
export function responseCache(options: ResponseCacheOptions): MiddlewareHandler {
  const now = options.now ?? (() => performance.now());
  const max = options.maxEntries ?? 256;
  const entries = new Map<string, Entry>();
  const pending = new Map<string, Promise<Entry | null>>();
  const reply = (e: Entry) => new Response(e.body, { status: e.status, headers: { "Content-Type": e.type } });

  return async (c, next) => {
    if (options.ttlMs <= 0 || c.req.method !== "GET" || (options.skip ?? []).some((p) => c.req.path.startsWith(p))) {
      return await next();
    }
    const url = new URL(c.req.url);
    const key = url.pathname + url.search;
    const hit = entries.get(key);
    if (hit && now() - hit.at < options.ttlMs) {
      c.res = reply(hit);
      return;
    }
    const waiting = pending.get(key);
    if (waiting) {
      const e = await waiting;
      if (e) {
        c.res = reply(e);
        return;
      }
      return await next();
    }
    let settle!: (e: Entry | null) => void;
    pending.set(key, new Promise((r) => (settle = r)));
    let entry: Entry | null = null;
    try {
      await next();
      if (c.res.status === 200) {
        const body = new Uint8Array(await c.res.clone().arrayBuffer());
        entry = { at: now(), status: 200, type: c.res.headers.get("Content-Type") ?? "application/octet-stream", body };
        entries.delete(key);
        entries.set(key, entry);
        while (entries.size > max) entries.delete(entries.keys().next().value!);
      } else {
        entries.delete(key);
      }
    } finally {
      pending.delete(key);
      settle(entry);
    }
  };
}
