/**
 * The terminal summary of a run: one row per sweep member and baseline (L0, FVU, dead and dense
 * fractions, ΔCE, KL, loss recovered against mean and zero ablation, MMCS with its chance level,
 * converged, score when scored), one line per reference level (clean, mean-ablation and
 * zero-ablation loss; the model's margin over the bigram baseline), the wall time of each stage,
 * what the model is, how to see the report, and the verdict: what the run does and does not support.
 *
 * @module
 */
import { relative } from "node:path";
import { scoreSummaryLines } from "@saelab/autointerp";
import { type ModelEvidence, runVerdict, verdictText } from "@saelab/report";
import type { DictEval, RunJson, ScoresJson } from "@saelab/runs";
import { JUMPRELU_BANDWIDTH, JUMPRELU_INIT_THRESHOLD, LR_SCHEDULE_TEXT, type LrSchedule } from "@saelab/sae";
import { modelLosses } from "./_model.ts";
import { resampleSettings } from "./_config.ts";

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
 * The model's held-out loss and its bigram baseline's, from `training.json` of the model folder
 * (`evaluation: { model, bigram }`), when present.
 *
 * @param run `run.json`.
 * @returns The evidence (losses absent when the folder has none).
 * @example
 * ```ts ignore
 * const m = await modelEvidence(run);
 * ```
 */
export async function modelEvidence(run: RunJson): Promise<ModelEvidence> {
  const losses = run.model.losses ?? (run.model.path ? await modelLosses(run.model.path) : null);
  return { name: run.model.name, ...(losses ? { loss: losses.model, bigram: losses.bigram } : {}) };
}

const pct = (v: number | null | undefined, digits = 1) =>
  typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(digits)}%` : "–";

/**
 * Format the summary.
 *
 * @param run `run.json`.
 * @param options Dictionaries with their evaluations, scores when present, the total wall time of this
 *   invocation, the runs folder, and the model's losses (for the margin over the bigram and the verdict).
 * @returns Text for the terminal (no trailing newline).
 * @example
 * ```ts ignore
 * console.log(formatSummary(run, { rows, scores, wallSeconds: 420, runsDir: "runs", model }));
 * ```
 */
export function formatSummary(
  run: RunJson,
  options: {
    rows: SummaryRow[];
    scores?: ScoresJson | null;
    wallSeconds: number;
    runsDir: string;
    model?: ModelEvidence;
  },
): string {
  const scores = options.scores?.dicts ?? {};
  const head = [
    "dictionary",
    "L0",
    "FVU",
    "dead",
    "dense",
    "ΔCE",
    "KL",
    "rec.(mean)",
    "rec.(zero)",
    "MMCS (chance)",
    "converged",
    "score",
  ];
  const body = options.rows.map(({ name, eval: e }) => {
    const deltaCe = e.deltaCe ?? (e.splicedLoss ? e.splicedLoss.spliced - e.splicedLoss.clean : undefined);
    const zero = e.lossRecoveredZero ?? (e.splicedLoss ? lossRecovered(e.splicedLoss) : undefined);
    return [
      name,
      num(e.l0, 1),
      num(e.fvu, 3),
      pct(e.deadFraction, 0),
      pct(e.denseFraction, 0),
      num(deltaCe, 3),
      num(e.klDiv, 3),
      pct(e.lossRecovered),
      pct(zero),
      e.mmcs ? `${num(e.mmcs.value, 3)} (${num(e.mmcsChance, 3)})` : "–",
      e.converged === true ? "yes" : e.converged === false ? "no" : "–",
      scores[name] ? num(scores[name].mean, 3) : "–",
    ];
  });
  const lines = [padTable([head, ...body])];
  const ref = options.rows.find((r) => r.eval.spliced)?.eval.spliced;
  const old = options.rows.find((r) => r.eval.splicedLoss)?.eval.splicedLoss;
  if (ref) {
    lines.push(
      `Reference levels of ${run.hook}: next-token loss on ${ref.tokens} held-out predictions (position 0 kept ` +
        "clean and not scored):",
      `  clean model                 ${ref.clean.toFixed(3)} nats`,
      `  mean ablation (hook = mean) ${
        ref.meanAblation.toFixed(3)
      } nats (rec.(mean) = 0; the mean of the training rows)`,
      `  zero ablation (hook = 0)    ${
        ref.zeroAblation.toFixed(3)
      } nats (rec.(zero) = 0; the SAELens/SAEBench convention)`,
    );
  } else if (old) {
    lines.push(
      `Next-token loss on held-out windows: clean ${old.clean.toFixed(3)}, with ${run.hook} zeroed ` +
        `${old.zeroAblation.toFixed(3)} nats.`,
    );
  }
  const m = options.model;
  if (m?.loss !== undefined && m.bigram !== undefined) {
    lines.push(
      `  model's margin over bigram  ${(m.bigram - m.loss).toFixed(3)} nats (model ${m.loss.toFixed(3)}, bigram ` +
        `${m.bigram.toFixed(3)}, from the model's training.json): compare with ΔCE`,
    );
  }
  lines.push(...scoreSummaryLines(options.scores));
  lines.push(
    "dense: features firing on > 10% of held-out tokens; converged: held-out FVU improved < 2% over the last 20% " +
      "of steps.",
  );
  const training = trainingLine(run.config, options.rows);
  if (training) lines.push(training);
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
  lines.push(
    "",
    verdictText(runVerdict({ model: m ?? { name: run.model.name }, evals: options.rows, scores: options.scores })),
  );
  return lines.join("\n");
}

/**
 * The training line of the summary: vectors per member, distinct rows, the schedule and the peak rates.
 *
 * @param config The run's configuration.
 * @param rows The dictionaries (SAE members carry `trainingVectors` and `distinctVectors`).
 * @returns The line, or null when the run trained nothing.
 * @example
 * ```ts
 * import { trainingLine } from "./_summary.ts";
 * const line = trainingLine({ steps: 10, batchSize: 8, lr: 5e-3, kindLr: { tied: 2e-2 }, lrSchedule: "constant" }, []);
 * if (!line?.includes("peak lr 0.005 (tied 0.02)")) throw new Error(line ?? "none");
 * const recipes = trainingLine({ steps: 100, batchSize: 8, lr: 1e-3, lrSchedule: "warmup-decay", l1WarmupSteps: 10 }, []);
 * if (!recipes?.includes("(warm-up 5 steps, decay over the last 20)")) throw new Error(recipes ?? "none");
 * if (!recipes?.includes("α warmed up from 0 over 10 steps")) throw new Error(recipes ?? "none");
 * const jump = { steps: 1, batchSize: 4, lr: 1e-3, kinds: ["jumprelu"], jumpreluBandwidth: 0.001, jumpreluInitThreshold: 1 };
 * if (!trainingLine(jump, [])?.includes("initial threshold 1 (SAELens'")) throw new Error("jumprelu settings");
 * ```
 */
export function trainingLine(config: Record<string, unknown>, rows: readonly SummaryRow[]): string | null {
  const { steps, batchSize, lr, lrSchedule } = config as {
    steps?: number;
    batchSize?: number;
    lr?: number;
    lrSchedule?: string;
  };
  if (typeof steps !== "number" || typeof batchSize !== "number" || typeof lr !== "number") return null;
  const kindLr = Object.entries((config.kindLr ?? {}) as Record<string, number>).map(([k, r]) => `${k} ${r}`);
  const sae = rows.find((r) => r.eval.trainingVectors !== undefined)?.eval;
  const distinct = sae?.distinctVectors !== undefined
    ? ` (${sae.distinctVectors.toLocaleString("en-US")} distinct rows)`
    : "";
  const schedule = LR_SCHEDULE_TEXT[(lrSchedule ?? "constant") as LrSchedule] ?? lrSchedule;
  const seen = (sae?.trainingVectors ?? steps * batchSize).toLocaleString("en-US");
  return `Training: ${steps} steps of ${batchSize} vectors; each member saw ${seen} vectors${distinct}; Adam, ` +
    `${schedule}${scheduleLengths(config, steps)}; peak lr ${lr}${kindLr.length ? ` (${kindLr.join(", ")})` : ""}` +
    `${recipeText(config)}${jumpReluClause(config)}.`;
}

/** The jumprelu members' settings for the training line, when the run has any. */
function jumpReluClause(config: Record<string, unknown>): string {
  const { kinds, jumpreluBandwidth: eps, jumpreluInitThreshold: theta } = config;
  if (!Array.isArray(kinds) || !kinds.includes("jumprelu") || typeof eps !== "number" || typeof theta !== "number") {
    return "";
  }
  return `; jumprelu: α weighs L0, bandwidth ${eps}, initial threshold ${theta} ` +
    `(SAELens' defaults ${JUMPRELU_BANDWIDTH} and ${JUMPRELU_INIT_THRESHOLD})`;
}

/** The warm-up and decay lengths of a schedule that has them, as given or by default (5% and 20% of the steps). */
function scheduleLengths(config: Record<string, unknown>, steps: number): string {
  const schedule = config.lrSchedule;
  if (typeof schedule !== "string" || !schedule.startsWith("warmup-")) return "";
  const given = (k: string) => typeof config[k] === "number" ? config[k] as number : undefined;
  const warmup = given("lrWarmupSteps") ?? Math.round(0.05 * steps);
  const decay = schedule === "warmup-decay"
    ? `, decay over the last ${given("lrDecaySteps") ?? Math.round(0.2 * steps)}`
    : "";
  return ` (warm-up ${warmup} steps${decay})`;
}

/** The opt-in recipes a run used (L1 warm-up, dead-feature resampling), or nothing for the paper's training. */
function recipeText(config: Record<string, unknown>): string {
  const parts: string[] = [];
  if (config.l1Penalty === "decoder-norm") {
    parts.push("untied members penalise α·Σ|c_j|·‖D_j‖ with an unnormalised decoder (SAELens' standard SAE)");
  }
  if (config.decoderBias === "zero") parts.push("a trainable b_dec from 0");
  if (config.decoderBias === "geometric-median") {
    parts.push("a trainable b_dec from the geometric median of training rows (the Anthropic/SAELens recipe)");
  }
  const warm = config.l1WarmupSteps;
  if (typeof warm === "number" && warm > 0) parts.push(`α warmed up from 0 over ${warm} steps (SAELens' L1 warm-up)`);
  const resample = resampleSettings(config as Parameters<typeof resampleSettings>[0]);
  if (resample) {
    parts.push(
      `dead features resampled every ${resample.every} steps, dead after ${resample.deadAfter} steps without ` +
        "firing (Bricken et al. 2023)",
    );
  }
  return parts.length ? `; ${parts.join("; ")}` : "";
}
