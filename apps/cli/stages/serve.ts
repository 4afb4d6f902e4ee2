/**
 * The `serve` command as a stage: serve the runs folder until Ctrl-C.
 *
 * @module
 */
import * as v from "valibot";
import type { StageResult } from "@saelab/runs";
import { startServer } from "@saelab/server";
import { defineStage, type RunContext } from "../../../tasks/_runtime.ts";
import { int, text } from "../../../tasks/_schema.ts";

/** The options of `serve`. */
export const serveSchema = v.strictObject({
  port: int("port (0 picks a free one)", { default: 8080, min: 0, max: 65535 }),
  host: text("interface to bind; 0.0.0.0 exposes the pages on the network", { default: "127.0.0.1" }),
});

async function serve(ctx: RunContext, config: v.InferOutput<typeof serveSchema>): Promise<StageResult> {
  const server = await startServer({
    runsDir: ctx.runsDir,
    port: config.port,
    host: config.host,
    signal: ctx.signal,
    onListen: (url) => ctx.log.info(`Serving ${ctx.runsDir} at ${url}  (Ctrl-C stops)`),
    onWarn: (m) => ctx.log.warn(m),
  });
  await server.finished;
  return { message: "Server stopped." };
}

/** The `serve` stage: serve until the abort signal fires. */
export const serveStage = defineStage({ name: "serve", schema: serveSchema, run: serve });
