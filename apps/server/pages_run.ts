/**
 * The runs index and the run page.
 *
 * @module
 */
import {
  chartHtml,
  circuitGraphSpec,
  deadFractionSpec,
  escapeHtml,
  formatNumber,
  frontierSpec,
  type MemberConfig,
  memberPoints,
  methodComparisonSpec,
  metricsTableHtml,
  mmcsHeatmapSpec,
  type NamedEval,
  pageHtml,
  patchCurveSpec,
  runsTableHtml,
  scoresTableHtml,
  shortTime,
  splicedLossTableHtml,
  stagesHtml,
  statusBadge,
  tableHtml,
  trainingCurvesSpec,
} from "@saelab/report";
import type { DictEntry, FileResult, RunBundle, RunJson, RunSummary } from "@saelab/runs";
import { dictHref, runHref } from "./params.ts";
import { toyLinkHtml } from "./pages_toy.ts";

/** The runs index page. */
export function indexPage(runs: readonly RunSummary[], options: { runsDir: string }): string {
  const rows = runs.map((r) => ({ ...r, href: runHref(r.id) }));
  const body = `<section class="card"><h1>Runs</h1>
<p class="lead">Folders under <code>${escapeHtml(options.runsDir)}</code>, newest first.</p>
${runsTableHtml(rows)}</section>`;
  return pageHtml(body, { title: "Runs", crumbs: [["runs"]] });
}

/** Banners for synthetic, in-progress, failed and unreadable runs. */
function banners(s: RunSummary): string {
  const out: string[] = [];
  const run = s.run;
  if (s.readable === "pending") {
    out.push(
      `<div class="banner progress">This run is being created: <code>run.json</code> is not written yet. Reload in a moment.</div>`,
    );
  }
  if (s.readable === "invalid") {
    out.push(
      `<div class="banner invalid"><strong>run.json could not be read.</strong> ${problemsHtml(s.problems)}</div>`,
    );
  }
  if (run?.synthetic) {
    out.push(
      `<div class="banner synthetic"><strong>Synthetic run.</strong> Every number on this page was generated for testing, not measured.</div>`,
    );
  }
  if (run?.status === "running") {
    const active = Object.entries(run.stages).filter(([, st]) => st.status === "running");
    const what = active.map(([name, st]) =>
      `${escapeHtml(name)}${
        st.total ? ` (${formatNumber(st.done ?? 0)} / ${formatNumber(st.total)} ${escapeHtml(st.unit ?? "")})` : ""
      }`
    ).join(", ");
    out.push(
      `<div class="banner progress"><strong>In progress.</strong> ${
        what ? `Running: ${what}. ` : ""
      }Sections fill in as stages finish; reload to update.</div>`,
    );
  }
  if (run?.status === "failed") {
    out.push(
      `<div class="banner failed"><strong>Failed.</strong> ${
        escapeHtml(run.error ?? "No error message was recorded.")
      }</div>`,
    );
  }
  if (run?.status === "interrupted") {
    out.push(
      `<div class="banner progress"><strong>Interrupted.</strong> Rerun the same command to resume from the last checkpoint.</div>`,
    );
  }
  return out.join("\n");
}

function problemsHtml(problems: readonly string[]): string {
  return problems.length
    ? `<ul class="problems">${problems.slice(0, 20).map((p) => `<li>${escapeHtml(p)}</li>`).join("")}</ul>`
    : "";
}

function factsHtml(run: RunJson, s: RunSummary, dicts: readonly DictEntry[]): string {
  const m = run.model;
  const facts: [string, string][] = [
    ["model", `${escapeHtml(m.name)}${m.isDefaultModel ? ` <span class="tag">embedded default</span>` : ""}`],
    ...(m.note ? [["note", escapeHtml(m.note)] as [string, string]] : []),
    ["model path", m.path ? `<code>${escapeHtml(m.path)}</code>` : `<span class="muted">none</span>`],
    ["hook", `<code>${escapeHtml(run.hook)}</code>`],
    ["members", String(s.members)],
    ["dictionaries", String(dicts.length)],
    ["created", escapeHtml(shortTime(run.created))],
    ["updated", escapeHtml(shortTime(run.updated))],
  ];
  return `<dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")}</dl>`;
}

const ok = <T>(r: FileResult<T>): T | null => (r.status === "ok" ? r.value : null);

function fileNote(r: FileResult<unknown>, name: string, missing: string): string {
  if (r.status === "missing") return `<p class="empty">${escapeHtml(missing)}</p>`;
  if (r.status === "invalid") {
    return `<div class="banner invalid"><code>${escapeHtml(name)}</code> could not be read.${
      problemsHtml(r.problems)
    }</div>`;
  }
  return "";
}

/** The run page: facts, stages, every chart and table the run's files allow. */
export function runPage(b: RunBundle): string {
  const s = b.summary, run = s.run, id = s.id;
  const evals: NamedEval[] = b.dicts.flatMap((
    d,
  ) => (d.eval.status === "ok" ? [{ name: d.name, eval: d.eval.value }] : []));
  const points = memberPoints(evals);
  const sections: string[] = [];
  sections.push(
    `<section class="card"><h1>${escapeHtml(id)} ${
      run ? statusBadge(run.status) : statusBadge(s.readable === "pending" ? "starting" : "unreadable")
    }</h1>
${banners(s)}
${run ? factsHtml(run, s, b.dicts) + stagesHtml(run) : ""}</section>`,
  );

  const training = b.metrics.rows.length
    ? `<div class="charts">${
      chartHtml("curves", trainingCurvesSpec(b.metrics.rows), { title: "Training curves" })
    }</div>`
    : `<p class="empty">No training metrics yet.</p>`;
  sections.push(`<section class="card"><h2>Training</h2>${training}${problemsHtml(b.metrics.problems)}</section>`);

  const sweepCharts: string[] = [];
  if (points.length) {
    sweepCharts.push(chartHtml("frontier", frontierSpec(points), {
      title: "Sparsity–reconstruction frontier",
      caption:
        "Held-out FVU against L0, one point per member, coloured by dictionary ratio R; lines join members of equal R in order of α.",
    }));
    sweepCharts.push(
      chartHtml("dead", deadFractionSpec(points), {
        title: "Dead features",
        caption: "Features that never fired on the evaluation tokens.",
      }),
    );
    const mmcs = mmcsHeatmapSpec(points);
    if (mmcs) {
      sweepCharts.push(chartHtml("mmcs", mmcs, {
        title: "MMCS over R × α",
        caption:
          "Mean max cosine similarity of each member's decoder against the next larger dictionary at the same α.",
      }));
    }
  }
  sections.push(`<section class="card"><h2>Sweep</h2>
${
    sweepCharts.length
      ? `<div class="charts">${sweepCharts.join("")}</div>`
      : `<p class="empty">No member has been evaluated yet.</p>`
  }
<h3>Members</h3>${metricsTableHtml(b.metrics.rows, evals, { configs: memberConfigs(b.dicts) })}</section>`);

  sections.push(`<section class="card"><h2>Spliced loss</h2>
<p class="lead">Language-model cross-entropy (nats per token) with the hook's activation replaced by each dictionary's reconstruction.</p>
${splicedLossTableHtml(evals)}</section>`);

  const scores = ok(b.scores);
  const comparison = scores ? methodComparisonSpec(scores) : null;
  const backends = scores ? [...new Set(Object.values(scores.dicts).map((d) => d.backend))] : [];
  const hasFeatures = new Set(b.dicts.filter((d) => d.hasFeatures).map((d) => d.name));
  sections.push(`<section class="card"><h2>Interpretability</h2>
${
    scores
      ? `<p class="lead">Explanations and simulations by: ${
        backends.map((x) => `<code>${escapeHtml(x)}</code>`).join(", ") || "–"
      }.</p>`
      : ""
  }
${
    comparison
      ? `<div class="charts">${
        chartHtml("methods", comparison, {
          title: "Mean explanation score by method",
          caption: "Bars: mean correlation score over scored features; whiskers: 95% bootstrap interval.",
        })
      }</div>`
      : ""
  }
${
    scores
      ? scoresTableHtml(scores, { href: (d) => (hasFeatures.has(d) ? dictHref(id, d) : runHref(id)) })
      : fileNote(b.scores, "scores.json", "Not scored yet.")
  }
</section>`);

  sections.push(`<section class="card"><h2>Dictionaries</h2>${dictionariesHtml(id, b.dicts)}</section>`);

  const patch = ok(b.patch);
  const patchSpec = patch ? patchCurveSpec(patch) : null;
  if (patchSpec || b.patch.status === "invalid") {
    sections.push(
      `<section class="card"><h2>Feature patching</h2>${
        patchSpec
          ? `<div class="charts">${chartHtml("patch", patchSpec, { title: `${patch!.task}: ${patch!.metric}` })}</div>`
          : fileNote(b.patch, "patch.json", "")
      }</section>`,
    );
  }
  const circuits = ok(b.circuits);
  const circuitSpec = circuits ? circuitGraphSpec(circuits) : null;
  if (circuitSpec || b.circuits.status === "invalid") {
    sections.push(
      `<section class="card"><h2>Circuits</h2>${
        circuitSpec
          ? `<div class="charts">${chartHtml("circuits", circuitSpec, { title: "Features across layers" })}</div>`
          : fileNote(b.circuits, "circuits.json", "")
      }</section>`,
    );
  }
  if (b.toy.status !== "missing") sections.push(toyLinkHtml(id));
  const charts = sections.some((x) => x.includes(`class="chart"`));
  return pageHtml(sections.join("\n"), { title: id, crumbs: [["runs", "/"], [id]], charts });
}

/** R and α of SAE members from their cfg.json (SAELens: l1_coefficient). */
function memberConfigs(dicts: readonly DictEntry[]): MemberConfig[] {
  return dicts.flatMap((d) => {
    if (d.kind !== "sae" || d.cfg.status !== "ok") return [];
    const cfg = d.cfg.value;
    return [{
      name: d.name,
      ratio: cfg.d_sae / cfg.d_in,
      alpha: typeof cfg.l1_coefficient === "number" ? cfg.l1_coefficient : undefined,
    }];
  });
}

function dictionariesHtml(id: string, dicts: readonly DictEntry[]): string {
  return tableHtml(dicts, {
    className: "data dicts",
    empty: "No dictionaries yet.",
    columns: [
      { label: "name", cell: (d) => escapeHtml(d.name) },
      {
        label: "kind",
        cell: (d) => (d.kind === "sae" ? "SAE" : `baseline (${
          escapeHtml(
            d.eval.status === "ok" ? d.eval.value.method : d.cfg.status === "ok" ? d.cfg.value.method ?? "?" : "?",
          )
        })`),
      },
      { label: "d_in", numeric: true, cell: (d) => (d.cfg.status === "ok" ? String(d.cfg.value.d_in) : "–") },
      { label: "d_sae", numeric: true, cell: (d) => (d.cfg.status === "ok" ? String(d.cfg.value.d_sae) : "–") },
      {
        label: "state",
        cell: (d) =>
          d.cfg.status === "invalid" || d.eval.status === "invalid"
            ? statusBadge("unreadable") +
              problemsHtml([
                ...(d.cfg.status === "invalid" ? d.cfg.problems : []),
                ...(d.eval.status === "invalid" ? d.eval.problems : []),
              ])
            : d.eval.status === "ok"
            ? statusBadge("done")
            : statusBadge("pending"),
      },
      {
        label: "features",
        cell: (
          d,
        ) => (d.hasFeatures
          ? `<a href="${escapeHtml(dictHref(id, d.name))}">browse features →</a>`
          : `<span class="muted">not harvested</span>`),
      },
    ],
  });
}
