/**
 * Fixtures for the tests of code that writes run folders: a temporary runs folder, the deps a stage
 * is given with its messages collected, and `run.json` read back or a clear failure.
 *
 * ```ts
 * import { readRunJson, testDeps, withTempDir } from "@saelab/runs/testing";
 * import { createRun } from "@saelab/runs";
 * await withTempDir(async (dir) => {
 *   const d = testDeps(dir);
 *   await createRun(dir, { id: "r1", model: { name: "m", path: null, isDefaultModel: false }, hook: "h", config: {} });
 *   if ((await readRunJson(d.runsDir, "r1")).status !== "running") throw new Error("a new run is running");
 * });
 * ```
 *
 * @module
 */
import type { ProgressFn } from "@saelab/core";
import { readRun } from "./read.ts";
import type { RunJson } from "./run_types.ts";
import type { StageDeps } from "./stage.ts";

/**
 * Run `fn` in a fresh temporary folder, removed afterwards whatever happens.
 *
 * @param fn What to run, given the folder's path.
 * @returns What `fn` returns.
 * @example
 * ```ts
 * import { withTempDir } from "@saelab/runs/testing";
 * const n = await withTempDir(async (dir) => (await Array.fromAsync(Deno.readDir(dir))).length);
 * if (n !== 0) throw new Error("a fresh folder is empty");
 * ```
 */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "saelab-runs-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Stage deps that keep what a stage says: `messages` (info, and warnings as `warning: …`) and `warnings`. */
export type TestDeps = StageDeps & { messages: string[]; warnings: string[] };

/**
 * The deps a stage gets from the CLI, quiet: messages are collected instead of printed.
 *
 * @param runsDir The runs folder.
 * @param options `controller`: aborts `signal` (default a fresh one); `progress`: the progress callback
 *   (default none); `env`: the stage's environment variables (default none given).
 * @returns The deps, with `messages` and `warnings`.
 * @example
 * ```ts
 * import { testDeps } from "@saelab/runs/testing";
 * const d = testDeps("runs");
 * d.log.warn("slow");
 * if (d.messages[0] !== "warning: slow" || d.warnings[0] !== "slow") throw new Error("collected");
 * ```
 */
export function testDeps(
  runsDir: string,
  options: { controller?: AbortController; progress?: ProgressFn; env?: Record<string, string> } = {},
): TestDeps {
  const messages: string[] = [], warnings: string[] = [];
  const log = {
    info: (m: string) => messages.push(m),
    warn: (m: string) => (messages.push(`warning: ${m}`), warnings.push(m)),
    debug: () => {},
  };
  const signal = (options.controller ?? new AbortController()).signal;
  const progress = options.progress ?? (() => {});
  const deps: TestDeps = { runsDir, messages, warnings, progress, signal, log, verbose: false };
  return options.env ? { ...deps, env: options.env } : deps;
}

/**
 * `run.json` of run `id`, or an error naming its problems when it cannot be read.
 *
 * @param runsDir The runs folder.
 * @param id The run id.
 * @returns The record.
 * @example
 * ```ts
 * import { readRunJson, withTempDir } from "@saelab/runs/testing";
 * await withTempDir(async (dir) => {
 *   const missing = await readRunJson(dir, "r1").then(() => false, () => true);
 *   if (!missing) throw new Error("no run.json is an error");
 * });
 * ```
 */
export async function readRunJson(runsDir: string, id: string): Promise<RunJson> {
  const r = await readRun(runsDir, id);
  if (r?.readable !== "ok" || !r.run) {
    throw new Error(
      `Cannot read run.json of ${id} in ${runsDir}: ${r ? r.problems.join("; ") || r.readable : "no run"}`,
    );
  }
  return r.run;
}
