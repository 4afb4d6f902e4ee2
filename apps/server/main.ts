/**
 * `deno run -A apps/server/main.ts [--runs DIR] [--port N] [--host H]`: serve the report pages.
 * The only place in the server that reads arguments or the environment.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startServer } from "./serve.ts";

const HELP = `Serve the SAE Lab report pages for a folder of runs.

Usage: deno run -A apps/server/main.ts [--runs DIR] [--port N] [--host H]

  --runs DIR   runs folder (default: runs, or $SAELAB_RUNS)
  --port N     port (default 8080; 0 picks a free one)
  --host H     interface to bind (default 127.0.0.1; use 0.0.0.0 to expose on the network)

Only GET and HEAD are answered, and only for a Host naming the bound address, this machine's
addresses (on 0.0.0.0) or localhost; other hosts get 421. Slow request heads (10 s), bodies (30 s)
and idle connections (60 s) are cut off.

Example: deno run -A apps/server/main.ts --runs runs --port 8080`;

if (import.meta.main) {
  let values;
  try {
    values = parseArgs({
      args: Deno.args,
      options: {
        runs: { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${HELP}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  const port = values.port === undefined ? 8080 : Number(values.port);
  try {
    const server = await startServer({
      runsDir: values.runs ?? Deno.env.get("SAELAB_RUNS") ?? "runs",
      port,
      host: values.host,
      onListen: (url) => console.log(`Serving runs at ${url}`),
      onWarn: (m) => console.error(m),
    });
    Deno.addSignalListener("SIGINT", () => void server.shutdown());
    await server.finished;
  } catch (e) {
    console.error(`Cannot serve: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
