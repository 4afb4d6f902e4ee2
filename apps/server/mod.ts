/**
 * The SAE Lab report server: a Hono app over a folder of runs (pages plus a JSON API mirroring
 * each page), the vega bundles served from `node_modules`, and a starter for `Deno.serve`.
 *
 * ```ts ignore
 * import { createApp } from "@saelab/server";
 * const app = createApp({ runsDir: "runs" });
 * const res = await app.request("/api/runs");
 * ```
 *
 * @module
 */
export { createApp, CSP } from "./app.ts";
export type { AppOptions } from "./app.ts";
export { startServer } from "./serve.ts";
export type { RunningServer, ServeOptions } from "./serve.ts";
export { findNodeModules, loadAssets, VENDOR_FILES } from "./assets.ts";
export type { Asset } from "./assets.ts";
