import assert from "node:assert/strict";
import { makeDemoRun } from "@saelab/runs";
import { startServer } from "./mod.ts";

const runs = await Deno.makeTempDir({ prefix: "saelab-serve-test-" });
await makeDemoRun(runs, 1, { id: "demo" });

/** Send raw bytes; return what comes back until the server closes (or a watchdog, which fails the test). */
async function raw(port: number, send: string[], options: { pauseMs?: number; watchdogMs?: number } = {}) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const enc = new TextEncoder();
  let out = "";
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const reading = (async () => {
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) return "closed";
      out += new TextDecoder().decode(buf.subarray(0, n));
    }
  })();
  const timedOut = new Promise<string>((r) => watchdog = setTimeout(() => r("open"), options.watchdogMs ?? 10_000));
  for (const part of send) {
    await conn.write(enc.encode(part)).catch(() => 0);
    if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
  }
  const how = await Promise.race([reading, timedOut]);
  clearTimeout(watchdog);
  try {
    conn.close();
  } catch { /* closed by the server */ }
  await reading;
  return { how, out };
}

async function withServer(fn: (port: number) => Promise<void>) {
  const server = await startServer({
    runsDir: runs,
    port: 0,
    timeouts: { headersMs: 300, bodyMs: 300, idleMs: 800 },
  });
  try {
    await fn(Number(new URL(server.url).port));
  } finally {
    await server.shutdown();
  }
}

Deno.test("over a socket: loopback Host answered, foreign, empty, missing and absolute-form get 421", async () => {
  await withServer(async (port) => {
    const ok = await raw(port, [`GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`]);
    assert.match(ok.out, /^HTTP\/1\.1 200/);
    assert.match(ok.out, /"demo"/);
    for (
      const req of [
        "GET /api/runs HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
        "GET /api/runs HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n",
        "GET /api/runs HTTP/1.0\r\n\r\n",
        `GET http://evil.example/api/runs HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
      ]
    ) {
      const r = await raw(port, [req]);
      assert.match(r.out, /^HTTP\/1\.[01] 421/, req);
      assert.doesNotMatch(r.out, /"demo"/);
    }
  });
});

Deno.test("over a socket: POST gets 405 with Allow, HEAD is answered", async () => {
  await withServer(async (port) => {
    const post = await raw(port, [
      `POST /api/runs HTTP/1.1\r\nHost: localhost:${port}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi`,
    ]);
    assert.match(post.out, /^HTTP\/1\.1 405/);
    assert.match(post.out, /\r\nallow: GET, HEAD\r\n/i);
    const head = await raw(port, [`HEAD /api/runs HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`]);
    assert.match(head.out, /^HTTP\/1\.1 200/);
  });
});

Deno.test("over a socket: a request head sent too slowly, or never, is cut off", async () => {
  await withServer(async (port) => {
    const never = await raw(port, []);
    assert.equal(never.how, "closed");
    assert.equal(never.out, "");
    const slow = await raw(port, [
      "GET / HTTP/1.1\r\n",
      "Host: 127.0.0.1\r\n",
      "X-A: 1\r\n",
      "X-B: 2\r\n",
      "X-C: 3\r\n",
    ], {
      pauseMs: 150,
    });
    assert.equal(slow.how, "closed");
    assert.equal(slow.out, "");
  });
});

Deno.test("over a socket: a body slower than its Content-Length promises is cut off", async () => {
  await withServer(async (port) => {
    const r = await raw(port, [
      `GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 100\r\n\r\n`,
      "a",
      "b",
      "c",
      "d",
    ], { pauseMs: 150 });
    assert.equal(r.how, "closed");
  });
});

Deno.test("over a socket: keep-alive serves two requests on one connection", async () => {
  await withServer(async (port) => {
    const req = `GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
    const r = await raw(port, [req, req.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")], { pauseMs: 100 });
    assert.equal(r.out.match(/HTTP\/1\.1 200/g)?.length, 2);
  });
});

Deno.test("over a socket: a kept-alive connection left idle is closed after its answer", async () => {
  await withServer(async (port) => {
    const r = await raw(port, [`GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`]);
    assert.equal(r.how, "closed");
    assert.match(r.out, /^HTTP\/1\.1 200/);
  });
});

Deno.test("over a socket: a body sent in time keeps the connection for the next request", async () => {
  await withServer(async (port) => {
    const r = await raw(port, [
      `GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 3\r\n\r\nabc`,
      `GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
    ], { pauseMs: 100 });
    assert.equal(r.out.match(/HTTP\/1\.1 200/g)?.length, 2);
  });
});
