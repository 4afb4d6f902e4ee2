/**
 * The runs index and the run page.
 *
 * @module
 */
import {
  chartHtml,
  circuitGraphSpec,
  deadFractionSpec,
  formatNumber,
  frontierSpec,
  type Html,
  joinHtml,
  kindFrontierSpec,
  kindMembers,
  markdownHtml,
  markup,
  matchedL0TableHtml,
  type MemberConfig,
  memberPoints,
  methodComparisonSpec,
  metricsTableHtml,
  mmcsHeatmapSpec,
  type NamedEval,
  pageHtml,
  patchCurveSpec,
  runsTableHtml,
  runVerdict,
  scoresTableHtml,
  shortTime,
  splicedLossTableHtml,
  stagesHtml,
  statusBadge,
  tableHtml,
  trainingCurvesSpec,
} from "@saelab/report";
import type {
  CircuitNode,
  CircuitsJson,
  DictEntry,
  FileResult,
  PatchJson,
  RunBundle,
  RunJson,
  RunSummary,
  ScoresJson,
} from "@saelab/runs";
import { dictHref, featureHref, runHref } from "./params.ts";
import { toyLinkHtml } from "./pages_toy.ts";
import { liveLinkHtml } from "./live.ts";

/** The runs index page. */
export function indexPage(runs: readonly RunSummary[], options: { runsDir: string }): Html {
  const rows = runs.map((r) => ({ ...r, href: runHref(r.id) }));
  const body = markup`<section class="card"><h1>Runs</h1>
<p class="lead">Folders under <code>${options.runsDir}</code>, newest first.</p>
${runsTableHtml(rows)}</section>`;
  return pageHtml(body, { title: "Runs", crumbs: [["runs"]] });
}

/** Banners for synthetic, in-progress, failed and unreadable runs. */
function banners(s: RunSummary, kept: ReadonlySet<string>): Html {
  const out: Html[] = [];
  const run = s.run;
  if (s.readable === "pending") {
    out.push(
      markup`<div class="banner progress">This run is being created: <code>run.json</code> is not written yet. Reload in a moment.</div>`,
    );
  }
  if (s.readable === "invalid") {
    out.push(
      markup`<div class="banner invalid"><strong>run.json could not be read.</strong> ${
        problemsHtml(s.problems)
      }</div>`,
    );
  }
  if (run?.synthetic) {
    out.push(
      markup`<div class="banner synthetic"><strong>Synthetic run.</strong> Every number on this page was generated for testing, not measured.</div>`,
    );
  }
  if (run?.status === "running") {
    const active = Object.entries(run.stages).filter(([, st]) => st.status === "running");
    const what = active.map(([name, st]) =>
      `${name}${st.total ? ` (${formatNumber(st.done ?? 0)} / ${formatNumber(st.total)} ${st.unit ?? ""})` : ""}`
    ).join(", ");
    out.push(
      markup`<div class="banner progress"><strong>In progress.</strong> ${
        what && `Running: ${what}. `
      }Sections fill in as stages finish; reload to update.</div>`,
    );
  }
  if (run?.status === "failed") {
    const earlier = [...kept].filter((name) => run.stages[name]?.status === "failed");
    out.push(
      markup`<div class="banner failed"><strong>Failed.</strong> ${run.error ?? "No error message was recorded."}${
        earlier.length > 0 &&
        markup` The earlier results of ${
          joinHtml(earlier.map((n) => markup`<code>${n}</code>`), ", ")
        } are kept and shown below, each with this failure beside it.`
      }</div>`,
    );
  }
  if (run?.status === "interrupted") {
    out.push(
      markup`<div class="banner progress"><strong>Interrupted.</strong> Rerun the same command to resume from the last checkpoint.</div>`,
    );
  }
  return joinHtml(out, "\n");
}

function problemsHtml(problems: readonly string[]): Html {
  return problems.length
    ? markup`<ul class="problems">${problems.slice(0, 20).map((p) => markup`<li>${p}</li>`)}</ul>`
    : markup``;
}

function factsHtml(run: RunJson, s: RunSummary, dicts: readonly DictEntry[]): Html {
  const m = run.model;
  const facts: [string, string | Html][] = [
    ["model", markup`${m.name}${m.isDefaultModel && markup` <span class="tag">embedded default</span>`}`],
    ...(m.note ? [["note", markup`<div class="note">${markdownHtml(m.note)}</div>`] as [string, Html]] : []),
    ["model path", m.path ? markup`<code>${m.path}</code>` : markup`<span class="muted">none</span>`],
    ["hook", markup`<code>${run.hook}</code>`],
    ["members", String(s.members)],
    ["dictionaries", String(dicts.length)],
    ["created", shortTime(run.created)],
    ["updated", shortTime(run.updated)],
  ];
  return markup`<dl class="facts">${facts.map(([k, v]) => markup`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

const ok = <T>(r: FileResult<T>): T | null => (r.status === "ok" ? r.value : null);

function fileNote(r: FileResult<unknown>, name: string, missing: string): Html {
  if (r.status === "missing") return markup`<p class="empty">${missing}</p>`;
  if (r.status === "invalid") {
    return markup`<div class="banner invalid"><code>${name}</code> could not be read.${problemsHtml(r.problems)}</div>`;
  }
  return markup``;
}

/** What the patching chart shows: the task, the pairs and which way is better. */
function patchCaption(patch: PatchJson): string {
  const pairs = patch.pairs !== undefined
    ? `${formatNumber(patch.pairs)} prompt pairs`
    : "the number of prompt pairs was not recorded";
  const at = patch.hook ? ` at ${patch.hook}` : "";
  const way = typeof patch.clean === "number" && typeof patch.patched === "number"
    ? patch.patched < patch.clean
      ? `Lower is further toward the counterfactual answer (clean ${formatNumber(patch.clean)}, fully patched ${
        formatNumber(patch.patched)
      }, dashed): a curve that falls sooner localises the task in fewer features.`
      : `Higher is further toward the counterfactual answer (clean ${formatNumber(patch.clean)}, fully patched ${
        formatNumber(patch.patched)
      }, dashed): a curve that rises sooner localises the task in fewer features.`
    : "The clean and fully patched levels were not recorded.";
  return `Task ${patch.task} (${pairs})${at}: features of each dictionary are patched from the counterfactual ` +
    `prompt into the clean one, and ${patch.metric} is measured. ${way}`;
}

/** What the circuit chart shows. */
function circuitCaption(c: CircuitsJson): string {
  const layers = [...new Set(c.nodes.map((n) => n.layer))].sort((a, b) => a - b);
  return `${c.nodes.length} features at layers ${layers.join(", ")}, ${c.edges.length} edges` +
    `${c.metric ? ` (weight: ${c.metric})` : ""}. Blue: ablating the upstream feature raises the downstream one; ` +
    "red: it lowers it (a lower, negative weight); thicker is larger |weight|. Click a node for its feature page.";
}

/** The circuit's nodes as a table, each linking to its feature page where it has one. */
function circuitNodesHtml(c: CircuitsJson, options: { href: (n: CircuitNode) => string | null }): Html {
  return markup`<details class="nodes"><summary>Nodes (${c.nodes.length})</summary>${
    tableHtml([...c.nodes].sort((a, b) => a.layer - b.layer || a.feature - b.feature), {
      className: "data compact",
      empty: "No nodes.",
      columns: [
        { label: "layer", numeric: true, cell: (n) => String(n.layer) },
        { label: "dictionary", cell: (n) => n.dict },
        {
          label: "feature",
          numeric: true,
          cell: (n) => {
            const href = options.href(n);
            return href ? markup`<a href="${href}">#${n.feature}</a>` : `#${n.feature}`;
          },
        },
        { label: "label", cell: (n) => n.label ?? "" },
      ],
    })
  }</details>`;
}

/** The run page: facts, stages, every chart and table the run's files allow. */
export function runPage(b: RunBundle, options: { companions?: readonly string[] } = {}): Html {
  const s = b.summary, run = s.run, id = s.id;
  const evals: NamedEval[] = b.dicts.flatMap((
    d,
  ) => (d.eval.status === "ok" ? [{ name: d.name, eval: d.eval.value }] : []));
  const points = memberPoints(evals);
  const sections: Html[] = [];
  // Stages whose last run failed while the file of an earlier good run is still there.
  const results: Record<string, FileResult<unknown>> = { score: b.scores, patch: b.patch, circuits: b.circuits };
  const kept = new Set(
    Object.entries(results).filter(([name, r]) => r.status === "ok" && run?.stages[name]?.status === "failed")
      .map(([name]) => name),
  );
  const rerun = (stage: string) =>
    kept.has(stage) &&
    markup`<div class="banner failed rerun"><strong>The last run of <code>${stage}</code> failed:</strong> ${
      run!.stages[stage]?.error ?? "no error message was recorded"
    }. What is shown here is the result of an earlier run that finished.</div>`;
  sections.push(
    markup`<section class="card"><h1>${id} ${
      run ? statusBadge(run.status) : statusBadge(s.readable === "pending" ? "starting" : "unreadable")
    }</h1>
${banners(s, kept)}
${run && markup`${factsHtml(run, s, b.dicts)}${stagesHtml(run)}`}</section>`,
  );

  const training = b.metrics.rows.length
    ? markup`<div class="charts">${
      chartHtml("curves", trainingCurvesSpec(b.metrics.rows), { title: "Training curves" })
    }</div>`
    : markup`<p class="empty">No training metrics yet.</p>`;
  sections.push(
    markup`<section class="card"><h2>Training</h2>${training}${problemsHtml(b.metrics.problems)}</section>`,
  );

  const sweepCharts: Html[] = [];
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
          "Mean max cosine similarity between each member and the next larger dictionary of its kind at the same α " +
          "(the seed code's direction: for each feature of the larger, the best cosine to the smaller, averaged over " +
          "the larger); in brackets and dashed: the same statistic for random unit vectors of the same sizes (chance).",
      }));
    }
  }
  sections.push(markup`<section class="card"><h2>Sweep</h2>
${
    sweepCharts.length
      ? markup`<div class="charts">${sweepCharts}</div>`
      : markup`<p class="empty">No member has been evaluated yet.</p>`
  }
<h3>Members</h3>${metricsTableHtml(b.metrics.rows, evals, { configs: memberConfigs(b.dicts) })}</section>`);
  sections.push(kindsHtml(evals, ok(b.scores)));

  sections.push(markup`<section class="card"><h2>Spliced loss</h2>
<p class="lead">Language-model cross-entropy (nats per token) with the hook's activation replaced by each dictionary's reconstruction.</p>
${splicedLossTableHtml(evals)}</section>`);

  const scores = ok(b.scores);
  const comparison = scores ? methodComparisonSpec(scores) : null;
  const backends = scores ? [...new Set(Object.values(scores.dicts).map((d) => d.backend))] : [];
  const measures = scores ? [...new Set(Object.values(scores.dicts).flatMap((d) => d.measures ?? []))] : [];
  const hasFeatures = new Set(b.dicts.filter((d) => d.hasFeatures).map((d) => d.name));
  sections.push(markup`<section class="card"><h2>Interpretability</h2>${rerun("score")}
${
    scores && markup`<p class="lead">Explanations and simulations by: ${
      backends.length
        ? joinHtml(backends.map((x) => markup`<code>${x}</code>`), ", ")
        : "–"
    }.</p>`
  }
${joinHtml(measures.map((m) => markup`<p class="lead"><strong>What the score measures:</strong> ${m}</p>`), "\n")}
${
    comparison && markup`<div class="charts">${
      chartHtml("methods", comparison, {
        title: "Mean explanation score by method",
        caption: "Bars: mean correlation score over scored features; whiskers: 95% bootstrap interval.",
      })
    }</div>`
  }
${
    scores
      ? scoresTableHtml(scores, { href: (d) => (hasFeatures.has(d) ? dictHref(id, d) : runHref(id)) })
      : fileNote(b.scores, "scores.json", "Not scored yet.")
  }
</section>`);

  sections.push(markup`<section class="card"><h2>Dictionaries</h2>${dictionariesHtml(id, b.dicts)}</section>`);

  const patch = ok(b.patch);
  const patchSpec = patch ? patchCurveSpec(patch) : null;
  if (patchSpec || b.patch.status === "invalid") {
    sections.push(
      markup`<section class="card"><h2>Feature patching</h2>${rerun("patch")}${
        patchSpec
          ? markup`<div class="charts">${
            chartHtml("patch", patchSpec, { title: `${patch!.task}: ${patch!.metric}`, caption: patchCaption(patch!) })
          }</div>`
          : fileNote(b.patch, "patch.json", "")
      }</section>`,
    );
  }
  const circuits = ok(b.circuits);
  // A node links to its feature page when its dictionary is one the run has (a member, a baseline or a companion).
  const pages = new Set([...b.dicts.map((d) => d.name), ...(options.companions ?? [])]);
  const nodeHref = (n: CircuitNode) => (pages.has(n.dict) ? featureHref(id, n.dict, n.feature) : null);
  const circuitSpec = circuits ? circuitGraphSpec(circuits, { href: nodeHref }) : null;
  if (circuitSpec || b.circuits.status === "invalid") {
    sections.push(
      markup`<section class="card"><h2>Circuits</h2>${rerun("circuits")}${
        circuitSpec
          ? markup`<div class="charts">${
            chartHtml("circuits", circuitSpec, { title: "Features across layers", caption: circuitCaption(circuits!) })
          }</div>${circuitNodesHtml(circuits!, { href: nodeHref })}`
          : fileNote(b.circuits, "circuits.json", "")
      }</section>`,
    );
  }
  if (b.toy.status !== "missing") sections.push(toyLinkHtml(id));
  if (run?.model.path && b.dicts.length > 0) sections.push(liveLinkHtml(id));
  if (run && evals.some((e) => e.eval.kind === "sae")) sections.push(verdictHtml(run, evals, scores));
  const charts = sections.some((x) => x.includes(`class="chart"`));
  return pageHtml(joinHtml(sections, "\n"), { title: id, crumbs: [["runs", "/"], [id]], charts });
}

/** The SAE kinds compared: each kind's frontier, and the kinds at shared L0 values (nothing without members). */
function kindsHtml(evals: readonly NamedEval[], scores: ScoresJson | null): Html {
  const { members, references } = kindMembers(evals, { scores });
  const spec = kindFrontierSpec(members, references);
  if (!spec) return markup``;
  const hasCe = members.some((m) => m.values.deltaCe !== undefined);
  return markup`<section class="card kinds"><h2>SAE kinds</h2>
<div class="charts">${
    chartHtml("kinds", spec, {
      title: "Sparsity–reconstruction frontier per kind",
      caption: `Held-out FVU${hasCe ? " (left) and ΔCE, spliced minus clean next-token loss (right)," : ""} against ` +
        "L0 on a log axis: one line per SAE kind through its Pareto-optimal members (no member of the kind has both " +
        "a lower L0 and a lower value), the other members faint. Grey diamonds: baselines; dashed: FVU 1 (every " +
        "vector reconstructed as the mean)" + (hasCe ? " and the ΔCE of mean and zero ablation." : "."),
    })
  }</div>
<h3>Matched L0</h3>${matchedL0TableHtml(members, references)}</section>`;
}

/** What the run supports and does not, each sentence from a number and its reference level. */
function verdictHtml(run: RunJson, evals: readonly NamedEval[], scores: ScoresJson | null): Html {
  const l = run.model.losses;
  const v = runVerdict({
    model: { name: run.model.name, ...(l ? { loss: l.model, bigram: l.bigram } : {}) },
    evals,
    scores,
  });
  const list = (items: string[]) =>
    items.length ? markup`<ul>${items.map((x) => markup`<li>${x}</li>`)}</ul>` : markup`<p class="empty">Nothing.</p>`;
  return markup`<section class="card verdict"><h2>Verdict</h2>
<p class="lead">What this run's evidence does and does not support, each against its reference level (the bigram
baseline, chance MMCS of random unit vectors, random directions and neurons on the score).</p>
<h3>Supported</h3>${list(v.supports)}
<h3>Not supported</h3>${list(v.doesNotSupport)}</section>`;
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

function dictionariesHtml(id: string, dicts: readonly DictEntry[]): Html {
  return tableHtml(dicts, {
    className: "data dicts",
    empty: "No dictionaries yet.",
    columns: [
      { label: "name", cell: (d) => d.name },
      {
        label: "kind",
        cell: (d) =>
          d.kind === "sae"
            ? "SAE"
            : `baseline (${
              d.eval.status === "ok" ? d.eval.value.method : d.cfg.status === "ok" ? d.cfg.value.method ?? "?" : "?"
            })`,
      },
      { label: "d_in", numeric: true, cell: (d) => (d.cfg.status === "ok" ? String(d.cfg.value.d_in) : "–") },
      { label: "d_sae", numeric: true, cell: (d) => (d.cfg.status === "ok" ? String(d.cfg.value.d_sae) : "–") },
      {
        label: "state",
        cell: (d) =>
          d.cfg.status === "invalid" || d.eval.status === "invalid"
            ? markup`${statusBadge("unreadable")}${
              problemsHtml([
                ...(d.cfg.status === "invalid" ? d.cfg.problems : []),
                ...(d.eval.status === "invalid" ? d.eval.problems : []),
              ])
            }`
            : d.eval.status === "ok"
            ? statusBadge("done")
            : statusBadge("pending"),
      },
      {
        label: "features",
        cell: (d) =>
          d.hasFeatures
            ? markup`<a href="${dictHref(id, d.name)}">browse features →</a>`
            : markup`<span class="muted">not harvested</span>`,
      },
    ],
  });
}
