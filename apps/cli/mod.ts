/**
 * The SAE Lab command line: a registry of commands (pipeline stages in `tasks/<name>.ts` exporting a
 * `Stage` of `tasks/_runtime.ts`), flags and help generated from each stage's schema, JSON config
 * files, terminal progress bars with rate and ETA behind the `ProgressFn` callback, Ctrl-C handling
 * and exit codes.
 *
 * ```ts ignore
 * import { processIo, runCli } from "@saelab/cli";
 * Deno.exit(await runCli(["serve", "--port", "8080"], { io: processIo() }));
 * ```
 *
 * @module
 */
export { EXIT, isAvailable, processIo, runCli } from "./cli.ts";
export type { CliIo } from "./cli.ts";
export { STAGES } from "./registry.ts";
export type { LoadedStage, StageEntry } from "./registry.ts";
export { camel, COMMON_OPTIONS, parseCommand, readConfigFile, UsageError } from "./args.ts";
export type { ParsedArgs } from "./args.ts";
export { createProgressBar, formatCount, formatDuration, formatProgress } from "./progress.ts";
export type { ProgressBar, ProgressBarOptions } from "./progress.ts";
