/**
 * A TCP front that times out slow clients. `Deno.serve` (and Deno's `node:http`, whose
 * `headersTimeout` and `requestTimeout` it accepts but does not enforce) never closes a connection
 * whose request head arrives one byte at a time, or never. This front accepts the public
 * connections, forwards each to the real HTTP server on a loopback port, and reads the client's
 * bytes as HTTP/1.1 framing: a request head must be complete within `headersMs` of its first byte
 * (and the first one within `headersMs` of connecting), a body of `Content-Length` bytes within
 * `bodyMs`, and a connection on which nothing moves either way for `idleMs` is closed. Chunked
 * request bodies (which a GET never needs) get `bodyMs` in all before the connection closes.
 *
 * @module
 */

/** Timeouts of {@linkcode startGuard}, in milliseconds. */
export interface GuardTimeouts {
  /** Most time from the first byte of a request head (or from connecting) to its blank line. Default 10 000. */
  headersMs?: number;
  /** Most time for a request body. Default 30 000. */
  bodyMs?: number;
  /** Most time with no bytes either way on an open connection. Default 60 000. */
  idleMs?: number;
  /** Largest request head in bytes; a longer one closes the connection. Default 65 536. */
  maxHeadBytes?: number;
}

/** Options of {@linkcode startGuard}. */
export interface GuardOptions extends GuardTimeouts {
  /** Public interface to listen on. */
  hostname: string;
  /** Public port; 0 picks a free one. */
  port: number;
  /** Loopback port of the HTTP server that answers. */
  upstreamPort: number;
}

/** A listening front. */
export interface Guard {
  /** The bound public address. */
  addr: Deno.NetAddr;
  /** Stop accepting and close every open connection. */
  close(): void;
  /** Resolves once the accept loop has ended. */
  finished: Promise<void>;
}

const CRLF2 = [13, 10, 13, 10];

function findHeadEnd(buf: Uint8Array, from: number): number {
  outer: for (let i = Math.max(0, from - 3); i + 4 <= buf.length; i++) {
    for (let j = 0; j < 4; j++) if (buf[i + j] !== CRLF2[j]) continue outer;
    return i + 4;
  }
  return -1;
}

/** How the body after a head is framed: a byte count, chunked (unknown length), or none. */
function bodyOf(head: Uint8Array): number | "chunked" {
  const text = new TextDecoder("latin1").decode(head);
  if (/\r\ntransfer-encoding:/i.test(text)) return "chunked";
  const m = /\r\ncontent-length:[ \t]*(\d+)/i.exec(text);
  return m ? Number(m[1]) : 0;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function handle(client: Deno.TcpConn, options: Required<GuardTimeouts> & { upstreamPort: number }) {
  let upstream: Deno.TcpConn;
  try {
    upstream = await Deno.connect({ hostname: "127.0.0.1", port: options.upstreamPort });
  } catch {
    client.close();
    return;
  }
  let closed = false;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  let idle: ReturnType<typeof setTimeout> | undefined;
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(deadline);
    clearTimeout(idle);
    for (const c of [client, upstream]) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
  };
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(close, options.idleMs);
  };
  const arm = (ms: number) => {
    clearTimeout(deadline);
    deadline = setTimeout(close, ms);
  };
  const disarm = () => {
    clearTimeout(deadline);
    deadline = undefined;
  };
  touch();
  arm(options.headersMs);

  const down = (async () => {
    const buf = new Uint8Array(64 * 1024);
    while (!closed) {
      const n = await upstream.read(buf).catch(() => null);
      if (n === null) break;
      touch();
      let off = 0;
      while (off < n) off += await client.write(buf.subarray(off, n));
    }
  })().catch(() => {}).finally(close);

  const up = (async () => {
    const buf = new Uint8Array(64 * 1024);
    let pending: Uint8Array = new Uint8Array(0); // bytes of an incomplete head
    let state: "head" | "body" | "raw" = "head";
    let remaining = 0;
    let scanned = 0;
    while (!closed) {
      const n = await client.read(buf).catch(() => null);
      if (n === null) break;
      touch();
      let chunk: Uint8Array = buf.slice(0, n);
      while (chunk.length > 0 && !closed) {
        if (state === "raw") {
          await upstream.write(chunk);
          break;
        }
        if (state === "body") {
          const take = Math.min(remaining, chunk.length);
          await upstream.write(chunk.subarray(0, take));
          remaining -= take;
          chunk = chunk.subarray(take);
          if (remaining === 0) {
            state = "head";
            disarm();
          }
          continue;
        }
        if (pending.length === 0 && deadline === undefined) arm(options.headersMs);
        pending = concat(pending, chunk);
        const end = findHeadEnd(pending, scanned);
        if (end < 0) {
          scanned = pending.length;
          if (pending.length > options.maxHeadBytes) close();
          break;
        }
        const head = pending.subarray(0, end);
        chunk = pending.slice(end);
        pending = new Uint8Array(0);
        scanned = 0;
        await upstream.write(head);
        const body = bodyOf(head);
        if (body === "chunked") {
          state = "raw";
          arm(options.bodyMs);
        } else if (body > 0) {
          state = "body";
          remaining = body;
          arm(options.bodyMs);
        } else {
          disarm();
        }
      }
    }
  })().catch(() => {}).finally(close);
  await Promise.all([up, down]);
}

/**
 * Listen on a public address and forward every connection to a loopback HTTP server, closing
 * connections that send their request head or body too slowly, or sit idle.
 *
 * @param options Public address, the upstream's loopback port, and the timeouts.
 * @returns The listening front.
 * @example
 * ```ts ignore
 * const inner = Deno.serve({ hostname: "127.0.0.1", port: 0 }, handler);
 * const guard = startGuard({ hostname: "127.0.0.1", port: 8080, upstreamPort: inner.addr.port });
 * ```
 */
export function startGuard(options: GuardOptions): Guard {
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const settings = {
    headersMs: options.headersMs ?? 10_000,
    bodyMs: options.bodyMs ?? 30_000,
    idleMs: options.idleMs ?? 60_000,
    maxHeadBytes: options.maxHeadBytes ?? 65_536,
    upstreamPort: options.upstreamPort,
  };
  for (const [k, v] of Object.entries(settings)) {
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`Cannot serve: ${k} must be a positive number, got ${v}`);
  }
  const open = new Set<Deno.TcpConn>();
  const finished = (async () => {
    for await (const conn of listener) {
      open.add(conn);
      handle(conn, settings).finally(() => open.delete(conn));
    }
  })().catch(() => {});
  return {
    addr: listener.addr,
    finished,
    close() {
      try {
        listener.close();
      } catch { /* already closed */ }
      for (const c of open) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
    },
  };
}
