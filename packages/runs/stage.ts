/**
 * The contract between the CLI and pipeline stages (`tasks/<name>.ts`), and the progress callback
 * packages accept instead of printing.
 *
 * @module
 */

import type { ProgressFn } from "@saelab/core";

/** The progress callback and its event, defined in `@saelab/core`. */
export type { ProgressEvent, ProgressFn } from "@saelab/core";

/** Where stages send messages; the CLI writes them to stderr. */
export interface Logger {
  /** Normal messages. */
  info(message: string): void;
  /** Something the user should know about but that does not stop the stage. */
  warn(message: string): void;
  /** Shown only with `--verbose`. */
  debug(message: string): void;
}

/** What the CLI hands every stage. */
export interface StageDeps {
  /** Absolute path of the runs folder (`--runs`, default `runs`). */
  runsDir: string;
  /** Progress callback (a terminal bar with rate and ETA under the CLI). */
  progress: ProgressFn;
  /**
   * Aborted on Ctrl-C (or SIGTERM). A stage checks it between steps, writes a checkpoint, records
   * `interrupted` in `run.json`, and returns (or throws `signal.reason`) so that a rerun resumes.
   */
  signal: AbortSignal;
  /** Messages. */
  log: Logger;
  /** Whether `--verbose` was given. */
  verbose: boolean;
  /**
   * The environment variables the stage's registry entry lists (`env: ["HF_TOKEN", …]`), and no
   * others; absent when it lists none. Stages never read `Deno.env` themselves.
   */
  env?: Readonly<Record<string, string | undefined>>;
}

/** What a stage may return; the CLI prints `message` (standard error) and `output` or else the run id (standard output). */
export interface StageResult {
  /** Id of the run the stage wrote. */
  runId?: string;
  /** One-line summary for the terminal. */
  message?: string;
  /** The command's answer for standard output (e.g. JSON), printed instead of the run id. */
  output?: string;
}

/**
 * A function-shaped stage: `run(config, deps)`. `config` is the merged configuration (option defaults,
 * then `--config` JSON file, then flags; flag `--dict-ratio` becomes key `dictRatio`). The stages of
 * `tasks/` are `Stage` objects of `tasks/_runtime.ts` (whose schemas check the configuration), and keep a
 * function of this shape for callers and tests.
 */
export interface StageModule {
  /** Run the stage. */
  run(config: Record<string, unknown>, deps: StageDeps): Promise<StageResult | void>;
}
