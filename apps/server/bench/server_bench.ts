/**
 * Load benchmark of the report server's run API on loopback: many concurrent keep-alive
 * connections for a bounded time against `/api/runs/<id>` of a synthetic run, reporting requests
 * per second, errors and latency percentiles as JSON. In the same run, two peers serve the very same
 * JSON bytes: `Deno.serve` with the bytes in memory (an upper bound for any Deno handler) and
 * `node:http` reading the file on each request. The report server runs twice: as shipped (answers
 * reused for 1 s) and with that cache off (every request reads and validates the run folder).
 * Each target runs in its own process.
 *
 * `deno task bench:server [--seconds 5] [--connections 64]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { makeDemoRun } from "@saelab/runs";

const { values } = parseArgs({
  args: Deno.args,
  options: { seconds: { type: "string", default: "5" }, connections: { type: "string", default: "64" } },
});
const seconds = Number(values.seconds), connections = Number(values.connections);
if (!(seconds > 0) || !(connections >= 1)) {
  throw new RangeError("Cannot benchmark: --seconds and --connections must be positive");
}

interface Result {
  target: string;
  requests: number;
  errors: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  bytesPerResponse: number;
}

async function startTarget(kind: string, runsDir: string, jsonFile: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_target.ts", import.meta.url).pathname, kind, runsDir, jsonFile],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`benchmark target ${kind} exited before listening`);
    text += value;
  }
  reader.releaseLock();
  return {
    url: text.trim().split("\n")[0],
    stop: async () => {
      child.kill("SIGTERM");
      await child.stdout.cancel().catch(() => {});
      await child.status;
    },
  };
}

async function load(url: string, options: { seconds: number; connections: number }): Promise<Omit<Result, "target">> {
  const latencies: number[] = [];
  let errors = 0, bytes = 0;
  const end = performance.now() + options.seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await fetch(url);
        const body = await res.arrayBuffer();
        if (res.status !== 200) errors++;
        else {
          bytes = body.byteLength;
          latencies.push(performance.now() - t0);
        }
      } catch {
        errors++;
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: options.connections }, worker));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies.length
      ? Number(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(2))
      : NaN;
  return {
    requests: latencies.length,
    errors,
    requestsPerSecond: Math.round(latencies.length / elapsed),
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    bytesPerResponse: bytes,
  };
}

const runsDir = await Deno.makeTempDir({ prefix: "saelab-bench-runs-" });
try {
  const { id } = await makeDemoRun(runsDir, 1);
  const path = `/api/runs/${id}`;
  const results: Result[] = [];
  const jsonFile = join(runsDir, "response.json");
  for (const kind of ["saelab", "saelab-uncached", "deno-static", "node-http"]) {
    const target = await startTarget(kind, runsDir, jsonFile);
    try {
      const url = kind.startsWith("saelab") ? `${target.url}${path}` : target.url;
      if (kind === "saelab") await Deno.writeFile(jsonFile, new Uint8Array(await (await fetch(url)).arrayBuffer()));
      await load(url, { seconds: Math.min(1, seconds), connections }); // warm-up, not counted
      results.push({ target: kind, ...(await load(url, { seconds, connections })) });
    } finally {
      await target.stop();
    }
  }
  const saelab = results[0].requestsPerSecond;
  console.log(JSON.stringify(
    {
      benchmark: "report server run API under concurrent load (loopback)",
      path,
      connections,
      seconds,
      cores: navigator.hardwareConcurrency,
      results,
      relative: Object.fromEntries(
        results.slice(2).map((r) => [`saelab / ${r.target}`, Number((saelab / r.requestsPerSecond).toFixed(3))]),
      ),
      errors: results.reduce((s, r) => s + r.errors, 0),
    },
    null,
    2,
  ));
} finally {
  await Deno.remove(runsDir, { recursive: true });
}
