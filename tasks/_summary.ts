/**
 * The terminal summary of a run: one row per sweep member (L0, FVU, dead fraction, MMCS, spliced
 * loss and the fraction of loss recovered, interpretability score when scored), the baselines,
 * the wall time of each stage, what the model is, and how to see the report.
 *
 * @module
 */
import { relative } from "node:path";
import type { DictEval, RunJson, ScoresJson } from "@saelab/runs";

/** One dictionary row. */
export interface SummaryRow {
  /** Dictionary name. */
  name: string;
  /** Its evaluation. */
  eval: DictEval;
}

/**
 * Fraction of the loss gap closed by the reconstruction: 1 when spliced = clean, 0 when spliced = zero-ablated.
 *
 * @param l Clean, spliced and zero-ablated losses.
 * @returns The fraction (NaN when the zero ablation does not hurt).
 * @example
 * ```ts
 * import { lossRecovered } from "./_summary.ts";
 * if (lossRecovered({ clean: 3, spliced: 3.5, zeroAblation: 5 }) !== 0.75) throw new Error();
 * ```
 */
export function lossRecovered(l: { clean: number; spliced: number; zeroAblation: number }): number {
  const gap = l.zeroAblation - l.clean;
  return gap > 0 ? (l.zeroAblation - l.spliced) / gap : NaN;
}

/**
 * Lay out a table in columns: the first left-aligned, the others right-aligned, two spaces apart.
 *
 * @param cells Rows of cells, the header first.
 * @returns The lines.
 * @example
 * ```ts
 * import { padTable } from "./_summary.ts";
 * if (padTable([["a", "bb"], ["ccc", "d"]]) !== "a    bb\nccc   d") throw new Error();
 * ```
 */
export function padTable(cells: string[][]): string {
  const widths = cells[0].map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  return cells.map((r) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join("  "))
    .join("\n");
}

const num = (
  v: number | undefined,
  digits: number,
) => (v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits));

function seconds(s: number): string {
  return s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${s.toFixed(1)}s`;
}

/**
 * Format the summary.
 *
 * @param run `run.json`.
 * @param options Dictionaries with their evaluations, scores when present, the total wall time of this invocation.
 * @returns Text for the terminal (no trailing newline).
 * @example
 * ```ts ignore
 * console.log(formatSummary(run, { rows, scores, wallSeconds: 420 }));
 * ```
 */
export function formatSummary(
  run: RunJson,
  options: { rows: SummaryRow[]; scores?: ScoresJson | null; wallSeconds: number; runsDir: string },
): string {
  const scores = options.scores?.dicts ?? {};
  const head = ["dictionary", "L0", "FVU", "dead", "MMCS", "spliced", "recovered", "score"];
  const body = options.rows.map(({ name, eval: e }) => [
    name,
    num(e.l0, 1),
    num(e.fvu, 3),
    `${num(e.deadFraction * 100, 0)}%`,
    num(e.mmcs?.value, 3),
    num(e.splicedLoss?.spliced, 3),
    e.splicedLoss ? `${num(lossRecovered(e.splicedLoss) * 100, 1)}%` : "–",
    scores[name] ? num(scores[name].mean, 3) : "–",
  ]);
  const lines = [padTable([head, ...body])];
  const losses = options.rows.find((r) => r.eval.splicedLoss)?.eval.splicedLoss;
  if (losses) {
    lines.push(
      `Next-token loss on held-out windows: clean ${losses.clean.toFixed(3)}, with ${run.hook} zeroed ` +
        `${losses.zeroAblation.toFixed(3)} nats.`,
    );
  }
  const backends = [...new Set(Object.values(scores).map((s) => s.backend))];
  if (backends.length) lines.push(`Scores: mean explanation score per dictionary (${backends.join(", ")}).`);
  const train = run.stages.train;
  if (train?.done !== undefined && train.total !== undefined && train.done < train.total) {
    lines.push(
      `Training stopped at step ${train.done} of ${train.total} (time budget); \`deno task train --run ${run.id}\` ` +
        "trains on.",
    );
  }
  const stages = Object.entries(run.timings).map(([k, v]) => `${k} ${seconds(v)}`).join(", ");
  lines.push(`Stage wall time (all invocations): ${stages}; this invocation ${seconds(options.wallSeconds)}.`);
  lines.push(`Model: ${run.model.name}${run.model.note ? ` — ${run.model.note}` : ""}`);
  const shown = relative(Deno.cwd(), options.runsDir) || ".";
  const runsFlag = shown === "runs" ? "" : ` --runs ${shown.startsWith("..") ? options.runsDir : shown}`;
  lines.push(`Report: deno task serve${runsFlag}, then open http://127.0.0.1:8080/runs/${run.id}`);
  return lines.join("\n");
}
