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

/** A started Redis ({@linkcode startRedis}). */
export type Redis = Awaited<ReturnType<typeof startRedis>>;
/** A `deno task worker` child ({@linkcode worker}). */
export type Worker = ReturnType<typeof worker>;

/** The sweep settings the queue tests and `bench:scale` share: two kinds at R 1 and 2, one α, no loss windows. */
export const QUEUE_SWEEP = Object.freeze({
  corpusTokens: 30_000,
  context: 32,
  kinds: ["untied", "tied"],
  ratios: [1, 2],
  l1: [1e-3],
  lossWindows: 0,
});

/** Runs `fn` with a Redis from {@linkcode startRedis}, stopped after it whatever happens. */
export async function withRedis<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = await startRedis();
  try {
    return await fn(redis);
  } finally {
    await redis.stop();
  }
}

/**
 * Runs `fn` with a fresh temporary runs folder and `count` workers on the queue at `url`; after it, whatever
 * happens, the workers are stopped and the folder removed.
 */
export async function withWorkers<T>(
  options: { url: string; count: number; prefix?: string },
  fn: (q: { dir: string; workers: Worker[] }) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir(options.prefix ? { prefix: options.prefix } : {});
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < options.count; i++) workers.push(worker(options.url, dir));
    return await fn({ dir, workers });
  } finally {
    for (const w of workers) await w.kill();
    await Deno.remove(dir, { recursive: true });
  }
}

/** {@linkcode withWorkers} on a Redis of its own ({@linkcode withRedis}): everything torn down after `fn`. */
export function withQueue<T>(
  count: number,
  fn: (q: { dir: string; workers: Worker[]; redis: Redis }) => Promise<T>,
): Promise<T> {
  return withRedis((redis) => withWorkers({ url: redis.url, count }, (q) => fn({ ...q, redis })));
}

/**
 * A test on {@linkcode withQueue} with `count` workers, skipped where `redis-server` is missing. The workers'
 * children and pipes outlive a test's own ops, so Deno's resource and op sanitizers are off.
 */
export function queueTest(
  name: string,
  count: number,
  fn: (q: { dir: string; workers: Worker[]; redis: Redis }) => Promise<void>,
): void {
  Deno.test({ name, ignore: !REDIS, sanitizeResources: false, sanitizeOps: false, fn: () => withQueue(count, fn) });
}

/**
 * Polls `busy` (every `pollMs`, at most `tries` times, until `stop` says so) for the pid of a worker holding
 * a job, and kills that worker with SIGKILL.
 *
 * @returns The killed worker's pid, or null if none was caught holding a job.
 */
export async function killBusyWorker(
  workers: Worker[],
  options: { busy: () => Promise<number | null>; pollMs: number; tries?: number; stop?: () => boolean },
): Promise<number | null> {
  const { busy, pollMs, tries = Infinity, stop = () => false } = options;
  for (let i = 0; i < tries && !stop(); i++) {
    const pid = await busy();
    const w = workers.find((w) => w.child.pid === pid);
    if (w) {
      await w.kill("SIGKILL");
      return pid;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return null;
}

/** Asserts that two files hold the same bytes; the message names `what`, both sizes and the first differing byte. */
export async function assertSameBytes(a: string, b: string, what: string): Promise<void> {
  const [x, y] = [await Deno.readFile(a), await Deno.readFile(b)];
  const at = x.findIndex((byte, i) => byte !== y[i]);
  assert.ok(x.length === y.length && at === -1, `${what} differs (sizes ${x.length}, ${y.length}; byte ${at})`);
}

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
