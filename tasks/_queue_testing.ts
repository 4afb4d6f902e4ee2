/**
 * What the queue tests share: a Redis started on a free port (and restarted on it), `deno task worker`
 * processes as children whose output is kept, and quiet stage deps. Needs `redis-server` (Debian's
 * `redis-server`); {@linkcode REDIS} says whether it is there, so tests can be skipped and say so.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { StageDeps } from "@saelab/runs";

/** Whether `redis-server` can be run. */
export const REDIS = await new Deno.Command("redis-server", { args: ["--version"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);
if (!REDIS) console.warn("queue tests: redis-server is not installed (apt-get install redis-server); skipped");

const MAIN = fileURLToPath(new URL("../apps/cli/main.ts", import.meta.url));

/** Stage deps that log nothing. */
export function deps(runsDir: string, signal = new AbortController().signal): StageDeps {
  const log = { info: () => {}, warn: () => {}, debug: () => {} };
  return { runsDir, progress: () => {}, signal, log, verbose: false };
}

/** A TCP port nobody listens on now. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A child process whose output is kept (so its pipes never fill). */
export function spawn(cmd: string, args: string[]) {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
  let out = "";
  const drain = (s: typeof child.stdout) =>
    s.pipeThrough(new TextDecoderStream()).pipeTo(new WritableStream({ write: (t) => void (out += t) }));
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  return {
    child,
    output: () => out,
    async kill(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* exited */ }
      await child.status;
      await drained;
    },
  };
}

/** A Redis without persistence on a free port; `restart` kills it and starts a new one on the same port. */
export async function startRedis() {
  const port = freePort();
  const start = async () => {
    const redis = spawn("redis-server", [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
    ]);
    for (let i = 0; i < 100 && !redis.output().includes("Ready to accept connections"); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(redis.output().includes("Ready to accept connections"), redis.output());
    return redis;
  };
  let redis = await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => redis.kill(),
    async restart() {
      await redis.kill("SIGKILL");
      redis = await start();
    },
  };
}

/** A `deno task worker` child on the queue, with 2-second job locks. */
export const worker = (url: string, runsDir: string) =>
  spawn(Deno.execPath(), ["run", "-A", MAIN, "worker", "--queue", url, "--runs", runsDir, "--lock-seconds", "2"]);

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
