/**
 * HTML fragments of the runs index and the run page: status badges, stage and model facts,
 * the per-member metrics table, the spliced-loss table and the scores table.
 *
 * @module
 */
import type { MetricRow, RunJson, ScoresJson, StageRecord } from "@saelab/runs";
import { type Html, markup, tableHtml } from "./html.ts";
import { alphaLabel } from "./_spec_base.ts";
import { formatNumber as f, lastRows, lossRecovered, type NamedEval } from "./summary.ts";

/**
 * A coloured status label (`running`, `done`, `failed`, `interrupted`, or anything else).
 *
 * @param status Status text.
 * @returns HTML.
 * @example
 * ```ts
 * import { statusBadge } from "@saelab/report";
 * statusBadge("running"); // '<span class="badge st-running">running</span>'
 * ```
 */
export function statusBadge(status: string): Html {
  const cls = /^[a-z-]+$/.test(status) ? status : "unknown";
  return markup`<span class="badge st-${cls}">${status}</span>`;
}

/** A line of the runs index. */
export interface RunRow {
  /** Run id. */
  id: string;
  /** Link to the run page. */
  href: string;
  /** `run.json`, when readable. */
  run: RunJson | null;
  /** `pending` (being created) or `invalid` when `run` is null. */
  readable: "ok" | "pending" | "invalid";
  /** Number of SAE members. */
  members: number;
}

/**
 * The runs index table: id, status, model, hook, members, created.
 *
 * @param rows Runs, newest first.
 * @returns HTML.
 * @example
 * ```ts
 * import { runsTableHtml } from "@saelab/report";
 * runsTableHtml([{ id: "a", href: "/runs/a", run: null, readable: "pending", members: 0 }]).includes("starting"); // true
 * ```
 */
export function runsTableHtml(rows: readonly RunRow[]): Html {
  return tableHtml(rows, {
    className: "data runs",
    empty: "No runs yet. Start one with `deno task train`, or point --runs at a folder of runs.",
    columns: [
      {
        label: "run",
        cell: (r) =>
          markup`<a href="${r.href}">${r.id}</a>${r.run?.synthetic && markup` <span class="tag">synthetic</span>`}`,
      },
      {
        label: "status",
        cell: (
          r,
        ) => (r.run ? statusBadge(r.run.status) : statusBadge(r.readable === "pending" ? "starting" : "unreadable")),
      },
      {
        label: "model",
        cell: (r) =>
          r.run
            ? markup`${r.run.model.name}${r.run.model.isDefaultModel && markup` <span class="tag">default</span>`}`
            : "–",
      },
      { label: "hook", cell: (r) => (r.run ? markup`<code>${r.run.hook}</code>` : "–") },
      { label: "members", cell: (r) => String(r.members), numeric: true },
      {
        label: "created",
        cell: (r) => (r.run ? markup`<time datetime="${r.run.created}">${shortTime(r.run.created)}</time>` : "–"),
      },
    ],
  });
}

/** `2025-01-01 12:00` from an ISO time (UTC). */
export function shortTime(iso: string | undefined): string {
  if (!iso) return "–";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

/**
 * Stage table: status, progress and seconds per stage.
 *
 * @param run `run.json`.
 * @returns HTML.
 * @example
 * ```ts ignore
 * stagesHtml(run);
 * ```
 */
export function stagesHtml(run: RunJson): Html {
  const rows = Object.entries(run.stages) as [string, StageRecord][];
  return tableHtml(rows, {
    className: "data stages",
    empty: "No stage has started yet.",
    columns: [
      { label: "stage", cell: ([name]) => name },
      {
        label: "status",
        cell: ([, s]) => markup`${statusBadge(s.status)}${s.error && markup` <span class="err">${s.error}</span>`}`,
      },
      {
        label: "progress",
        numeric: true,
        cell: ([, s]) =>
          s.total
            ? `${f(s.done ?? 0)} / ${f(s.total)} ${s.unit ?? ""} (${Math.round((100 * (s.done ?? 0)) / s.total)}%)`
            : "",
      },
      { label: "seconds", numeric: true, cell: ([name]) => f(run.timings[name]) },
    ],
  });
}

/** Ratio and coefficient of a member from its `cfg.json`, for members not evaluated yet. */
export interface MemberConfig {
  /** Member name. */
  name: string;
  /** R = d_sae / d_in. */
  ratio?: number;
  /** L1 coefficient α. */
  alpha?: number;
}

/**
 * Per-member table: final training row joined with the held-out evaluation.
 *
 * @param rows Rows of `metrics.jsonl`.
 * @param evals SAE evaluations by name (members without one show training numbers only).
 * @param options Ratios and coefficients from `cfg.json` of members not evaluated yet.
 * @returns HTML.
 * @example
 * ```ts
 * import { metricsTableHtml } from "@saelab/report";
 * metricsTableHtml([{ member: "a", step: 9, loss: 0.5, mse: 0.4, l0: 7 }], []).includes("<td>a</td>"); // true
 * ```
 */
export function metricsTableHtml(
  rows: readonly MetricRow[],
  evals: readonly NamedEval[],
  options: { configs?: readonly MemberConfig[] } = {},
): Html {
  const evalBy = new Map(evals.map((e) => [e.name, e.eval]));
  const cfgBy = new Map((options.configs ?? []).map((c) => [c.name, c]));
  const names = new Set([
    ...lastRows(rows).map((r) => r.member),
    ...evals.filter((e) => e.eval.kind === "sae").map((e) => e.name),
    ...cfgBy.keys(),
  ]);
  const last = new Map(lastRows(rows).map((r) => [r.member, r]));
  const table = [...names].map((name) => {
    const ev = evalBy.get(name), cfg = cfgBy.get(name);
    const ratio = ev ? ev.ratio ?? ev.dSae / ev.dIn : cfg?.ratio;
    const alpha = ev?.l1Coefficient ?? cfg?.alpha;
    return { name, row: last.get(name), ev, ratio, alpha };
  }).sort((a, b) =>
    (a.ratio ?? Infinity) - (b.ratio ?? Infinity) || (a.alpha ?? Infinity) - (b.alpha ?? Infinity) ||
    a.name.localeCompare(b.name)
  );
  return tableHtml(table, {
    className: "data metrics",
    empty: "No training metrics yet.",
    columns: [
      { label: "member", cell: (r) => r.name },
      {
        label: "R",
        numeric: true,
        cell: (r) => f(r.ratio),
        help: "dictionary ratio d_sae / d_in",
      },
      {
        label: "α",
        numeric: true,
        cell: (r) => (r.alpha !== undefined ? alphaLabel(r.alpha) : "–"),
        help: "L1 coefficient",
      },
      { label: "step", numeric: true, cell: (r) => f(r.row?.step) },
      { label: "loss", numeric: true, cell: (r) => f(r.row?.loss) },
      { label: "MSE", numeric: true, cell: (r) => f(r.row?.mse) },
      { label: "L0 (train)", numeric: true, cell: (r) => f(r.row?.l0) },
      {
        label: "FVU",
        numeric: true,
        cell: (r) => f(r.ev?.fvu),
        help: "fraction of variance unexplained on held-out tokens",
      },
      { label: "L0 (eval)", numeric: true, cell: (r) => f(r.ev?.l0) },
      { label: "dead", numeric: true, cell: (r) => (r.ev ? `${f(100 * r.ev.deadFraction)}%` : "–") },
      {
        label: "MMCS",
        numeric: true,
        cell: (r) => f(r.ev?.mmcs?.value),
        help: "mean max cosine similarity against the next larger dictionary",
      },
    ],
  });
}

/**
 * Spliced-loss table: language-model cross-entropy with each dictionary's reconstruction spliced in.
 *
 * @param evals Evaluations of SAEs and baselines (those without spliced losses are left out).
 * @returns HTML.
 * @example
 * ```ts ignore
 * splicedLossTableHtml(evals);
 * ```
 */
export function splicedLossTableHtml(evals: readonly NamedEval[]): Html {
  const rows = evals.filter((e) => e.eval.splicedLoss);
  return tableHtml(rows, {
    className: "data spliced",
    empty: "No spliced-loss measurements (they need the language model).",
    columns: [
      { label: "dictionary", cell: (r) => r.name },
      { label: "method", cell: (r) => r.eval.method },
      { label: "clean CE", numeric: true, cell: (r) => f(r.eval.splicedLoss!.clean, { digits: 4 }) },
      { label: "spliced CE", numeric: true, cell: (r) => f(r.eval.splicedLoss!.spliced, { digits: 4 }) },
      { label: "zero-ablation CE", numeric: true, cell: (r) => f(r.eval.splicedLoss!.zeroAblation, { digits: 4 }) },
      {
        label: "loss recovered",
        numeric: true,
        cell: (r) => `${f(100 * lossRecovered(r.eval.splicedLoss!))}%`,
        help: "(zero-ablation − spliced) / (zero-ablation − clean)",
      },
    ],
  });
}

/**
 * Scores table: mean, interval, n and the explainer backend per dictionary.
 *
 * @param scores `scores.json`.
 * @param options Link to each dictionary's feature browser.
 * @returns HTML.
 * @example
 * ```ts ignore
 * scoresTableHtml(scores, { href: (d) => `/runs/x/dicts/${d}` });
 * ```
 */
export function scoresTableHtml(scores: ScoresJson, options: { href?: (dict: string) => string } = {}): Html {
  const rows = Object.entries(scores.dicts).sort(([, a], [, b]) =>
    a.kind === b.kind ? b.mean - a.mean : a.kind === "sae" ? -1 : 1
  );
  return tableHtml(rows, {
    className: "data scores",
    empty: "No dictionary was scored yet.",
    columns: [
      {
        label: "dictionary",
        cell: ([d]) => (options.href ? markup`<a href="${options.href(d)}">${d}</a>` : d),
      },
      { label: "method", cell: ([, s]) => s.method },
      { label: "mean score", numeric: true, cell: ([, s]) => f(s.mean) },
      { label: "95% CI", numeric: true, cell: ([, s]) => `[${f(s.ci95[0])}, ${f(s.ci95[1])}]` },
      { label: "n", numeric: true, cell: ([, s]) => String(s.n) },
      { label: "explainer backend", cell: ([, s]) => markup`<code>${s.backend}</code>` },
    ],
  });
}
