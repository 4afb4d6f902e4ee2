/**
 * The contract between the CLI and pipeline stages (`tasks/<name>.ts`), and the progress callback
 * packages accept instead of printing.
 *
 * @module
 */

/** One progress report from long work. */
export interface ProgressEvent {
  /** What is progressing, e.g. `"harvest"` or `"train r4_a1e-3"`; a new label starts a new bar. */
  label: string;
  /** Units done so far. */
  done: number;
  /** Units expected in all, when known (enables percentage and ETA). */
  total?: number;
  /** Unit name for the rate, e.g. `"tok"`, `"step"`, `"feat"`. */
  unit?: string;
  /** Short extra text shown after the bar, e.g. `"loss 0.31"`. */
  info?: string;
}

/**
 * Progress callback. Packages take it as an optional `onProgress` option and call it as work
 * advances (cheaply and often is fine: renderers throttle); they never print themselves.
 */
export type ProgressFn = (event: ProgressEvent) => void;

/** A progress callback that ignores everything. */
export const noProgress: ProgressFn = () => {};

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

/** What a stage may return; the CLI prints `message` and the run id. */
export interface StageResult {
  /** Id of the run the stage wrote. */
  runId?: string;
  /** One-line summary for the terminal. */
  message?: string;
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
