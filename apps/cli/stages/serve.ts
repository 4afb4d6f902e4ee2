/**
 * The `serve` command as a stage: serve the runs folder until Ctrl-C.
 *
 * @module
 */
import type { StageDeps, StageResult } from "@saelab/runs";
import { startServer } from "@saelab/server";

/**
 * Serve until `deps.signal` aborts.
 *
 * @param config `port` (number) and `host` (string).
 * @param deps Runs folder, signal and logger.
 * @returns When the server has stopped.
 * @example
 * ```ts ignore
 * await run({ port: 8080, host: "127.0.0.1" }, deps);
 * ```
 */
export async function run(config: Record<string, unknown>, deps: StageDeps): Promise<StageResult> {
  const port = config.port ?? 8080;
  const host = config.host ?? "127.0.0.1";
  if (typeof port !== "number") throw new TypeError(`Cannot serve: port must be a number, got ${JSON.stringify(port)}`);
  if (typeof host !== "string") throw new TypeError(`Cannot serve: host must be a string, got ${JSON.stringify(host)}`);
  const server = await startServer({
    runsDir: deps.runsDir,
    port,
    host,
    signal: deps.signal,
    onListen: (url) => deps.log.info(`Serving ${deps.runsDir} at ${url}  (Ctrl-C stops)`),
    onWarn: (m) => deps.log.warn(m),
  });
  await server.finished;
  return { message: "Server stopped." };
}
