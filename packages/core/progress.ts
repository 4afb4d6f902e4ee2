/**
 * The progress callback that long work accepts instead of printing.
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
