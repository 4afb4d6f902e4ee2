/**
 * Terminal progress bars with rate and ETA, behind the {@linkcode ProgressFn} callback that packages
 * accept (they never print). On a terminal the bar redraws in place; elsewhere (logs, CI) a line is
 * written at most every few seconds and when a label completes.
 *
 * @module
 */
import type { ProgressEvent, ProgressFn } from "@saelab/runs";

/** Where and how bars are drawn. */
export interface ProgressBarOptions {
  /** Writes text to the terminal (usually stderr), without adding newlines. */
  write: (text: string) => void;
  /** Redraw in place (`\r`) when true; otherwise print throttled lines. */
  isTTY: boolean;
  /** Milliseconds clock; default `performance.now`. */
  now?: () => number;
  /** Bar width in characters (default 24). */
  width?: number;
  /** Minimum milliseconds between draws (default 100 on a terminal, 5000 otherwise). */
  intervalMs?: number;
}

/** A progress callback that can also end the current line. */
export interface ProgressBar extends ProgressFn {
  /** Finish the current bar (newline on a terminal). */
  finish(): void;
  /** Erase the bar line so that a log message can be printed; the next event redraws it. */
  clear(): void;
}

/**
 * Format a duration in seconds as `m:ss` or `h:mm:ss`.
 *
 * @param seconds Duration.
 * @returns Text; `--:--` when not finite.
 * @example
 * ```ts
 * import { formatDuration } from "@saelab/cli";
 * formatDuration(3725); // "1:02:05"
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? `${h}:` : ""}${mm}:${String(r).padStart(2, "0")}`;
}

/**
 * Format a count compactly: `950`, `12.3k`, `4.5M`.
 *
 * @param n Count.
 * @returns Text.
 * @example
 * ```ts
 * import { formatCount } from "@saelab/cli";
 * formatCount(12345); // "12.3k"
 * ```
 */
export function formatCount(n: number): string {
  const a = Math.abs(n);
  const short = (x: number, digits: number) => String(Number(x.toFixed(digits)));
  if (a >= 1e9) return `${short(n / 1e9, a >= 1e10 ? 0 : 1)}G`;
  if (a >= 1e6) return `${short(n / 1e6, a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e3) return `${short(n / 1e3, a >= 1e4 ? 1 : 2)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/**
 * One progress line: label, bar, percentage, counts, rate and ETA.
 *
 * @param event The latest event.
 * @param options Units per second (NaN while unknown) and bar width.
 * @returns The line (no newline).
 * @example
 * ```ts
 * import { formatProgress } from "@saelab/cli";
 * formatProgress({ label: "harvest", done: 50, total: 200, unit: "tok" }, { rate: 10, width: 10 });
 * // "harvest [#####.....]  25.0% 50/200 tok  10.0 tok/s  ETA 0:15"  (with block characters)
 * ```
 */
export function formatProgress(event: ProgressEvent, options: { rate: number; width?: number }): string {
  const width = options.width ?? 24;
  const unit = event.unit ? ` ${event.unit}` : "";
  const rate = Number.isFinite(options.rate) && options.rate > 0 ? options.rate : NaN;
  const rateText = Number.isNaN(rate) ? "" : `  ${formatCount(rate)}${unit}/s`;
  let text: string;
  if (event.total && event.total > 0) {
    const frac = Math.min(1, Math.max(0, event.done / event.total));
    const full = Math.round(frac * width);
    const bar = "█".repeat(full) + "░".repeat(width - full);
    const eta = event.done >= event.total ? "done" : `ETA ${formatDuration((event.total - event.done) / rate)}`;
    text = `${event.label} ${bar} ${(100 * frac).toFixed(1).padStart(5)}% ${formatCount(event.done)}/${
      formatCount(event.total)
    }${unit}${rateText}  ${eta}`;
  } else {
    text = `${event.label} ${formatCount(event.done)}${unit}${rateText}`;
  }
  return event.info ? `${text}  ${event.info}` : text;
}

/**
 * A progress renderer for a terminal or a log. The rate is measured over the last ~10 seconds of
 * events of the current label.
 *
 * @param options Output, terminal mode, clock, width and throttle.
 * @returns The callback, with `finish` and `clear`.
 * @example
 * ```ts
 * import { createProgressBar } from "@saelab/cli";
 * let out = "";
 * let t = 0;
 * const bar = createProgressBar({ write: (s) => (out += s), isTTY: false, now: () => t, intervalMs: 0 });
 * bar({ label: "train", done: 0, total: 100, unit: "step" });
 * t = 1000;
 * bar({ label: "train", done: 100, total: 100, unit: "step" });
 * bar.finish();
 * ```
 */
export function createProgressBar(options: ProgressBarOptions): ProgressBar {
  const now = options.now ?? (() => performance.now());
  const interval = options.intervalMs ?? (options.isTTY ? 100 : 5000);
  let label: string | null = null;
  let samples: [number, number][] = [];
  let lastDraw = -Infinity;
  let last: ProgressEvent | null = null;
  let onLine = false;

  const rate = () => {
    if (samples.length < 2) return NaN;
    const [t0, d0] = samples[0], [t1, d1] = samples[samples.length - 1];
    return t1 > t0 ? ((d1 - d0) * 1000) / (t1 - t0) : NaN;
  };
  const draw = (final: boolean) => {
    if (!last) return;
    const line = formatProgress(last, { rate: rate(), width: options.width });
    if (options.isTTY) {
      options.write(`\r${line}\x1b[K${final ? "\n" : ""}`);
      onLine = !final;
    } else {
      options.write(`${line}\n`);
    }
    lastDraw = now();
  };
  const bar = ((event: ProgressEvent) => {
    const t = now();
    if (event.label !== label) {
      if (last && label !== null && onLine) draw(true);
      label = event.label;
      samples = [];
      lastDraw = -Infinity;
    }
    samples.push([t, event.done]);
    while (samples.length > 2 && t - samples[0][0] > 10_000) samples.shift();
    last = event;
    const complete = event.total !== undefined && event.done >= event.total;
    if (complete) {
      draw(true);
      last = null;
      label = null;
    } else if (t - lastDraw >= interval) {
      draw(false);
    }
  }) as ProgressBar;
  bar.finish = () => {
    if (last && (onLine || !options.isTTY)) draw(true);
    else if (onLine) options.write("\n");
    onLine = false;
    last = null;
    label = null;
  };
  bar.clear = () => {
    if (onLine) options.write("\r\x1b[K");
    onLine = false;
    lastDraw = -Infinity;
  };
  return bar;
}
