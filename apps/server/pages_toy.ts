/**
 * The ground-truth page of a run (`/runs/<id>/toy`) and its JSON (`/api/runs/<id>/toy`): the toy sweep of
 * `toy.json`, MMCS with the true features and MMCS between dictionary sizes against α (one line per R),
 * a table of the members with the one chosen without ground truth marked, the chance levels and the larger
 * dictionary's live latents shown, and the comparison-only partner dictionaries (`pages_toy_tables.ts`).
 *
 * @module
 */
import type { Hono } from "hono";
import { raw } from "hono/html";
import { type Html, markup } from "@saelab/report";
import { HTTPException } from "hono/http-exception";
import { chartHtml, pageHtml, toyBetweenSpec, toyTruthSpec } from "@saelab/report";
import { type FileResult, readToy, TOY_RECOVERED, type ToyJson } from "@saelab/runs";
import { nameParam, runHref } from "./params.ts";
import { chanceAt, fixed, kindsHtml, membersHtml, partnerHtml } from "./pages_toy_tables.ts";

/** URL of a run's ground-truth page. */
export const toyHref = (id: string): string => `${runHref(id)}/toy`;

/**
 * The run page's section that links to the ground-truth page (shown when the run has a `toy.json`).
 *
 * @param id Run id.
 * @returns HTML.
 * @example
 * ```ts
 * import { toyLinkHtml } from "./pages_toy.ts";
 * if (!toyLinkHtml("toy-1").includes(`href="/runs/toy-1/toy"`)) throw new Error();
 * ```
 */
export function toyLinkHtml(id: string): Html {
  return markup`
    <section class="card">
      <h2>Ground truth</h2>
      <p class="lead">This run trained on toy data with
    known features: <a href="${toyHref(id)}">MMCS with the true features and the member chosen without them →</a></p>
    </section>
  `;
}

function settingsHtml(toy: ToyJson) {
  const t = toy.toy ?? {}, tr = toy.training ?? {};
  const facts: [string, unknown][] = [
    ["dimension d", t.d],
    ["true features", t.features],
    ["mean active per row", t.meanActive],
    ["frequency decay", t.decay],
    ["correlated", t.correlated === undefined ? undefined : t.correlated ? "yes" : "no"],
    ["seed", t.seed],
    ["steps", tr.steps],
    ["batch size", tr.batchSize],
    ["learning rate", tr.lr],
    ["vectors per member", tr.vectors],
    ["held-out rows", tr.heldOutRows],
  ];
  const shown = facts.filter(([, v]) => v !== undefined && v !== null);
  return markup`<dl class="facts">${
    shown.map(([k, v]) =>
      markup`
        <dt>${k}</dt>
        <dd>${String(v)}</dd>
      `
    )
  }</dl>`;
}

function verdictHtml(toy: ToyJson) {
  const chosen = toy.members.find((m) => m.name === toy.chosen);
  if (!chosen) return markup`<div class="banner invalid">The chosen member ${toy.chosen} is not in the sweep.</div>`;
  const chance = chanceAt(toy.truthChance, chosen.ratio);
  const best = toy.members.reduce((a, b) => (b.mmcsTruth > a.mmcsTruth ? b : a));
  const chanceText = chance === undefined ? "" : ` (chance ${fixed(chance)})`;
  return markup`<p class="lead">Chosen without ground truth (MMCS between sizes, dead features, L0):
<code>${chosen.name}</code>, MMCS with the true features <strong>${fixed(chosen.mmcsTruth)}</strong>${chanceText}.
${
    best.name === chosen.name ? "It is also the best member by the ground truth." : markup`
      Best by the ground truth: <code>${best.name}</code> (${fixed(best.mmcsTruth)}).
    `
  }</p>
${
    chosen.mmcsTruth >= TOY_RECOVERED
      ? ""
      : markup`<div class="banner failed"><strong>The no-ground-truth choice did not
recover the features:</strong> MMCS with the truth ${fixed(chosen.mmcsTruth)} is below ${TOY_RECOVERED}.</div>`
  }`;
}

/**
 * The ground-truth page of a run.
 *
 * @param id Run id.
 * @param file Its `toy.json`, as read: the page says why when it is unreadable.
 * @returns The page.
 * @example
 * ```ts
 * import { toyPage } from "./pages_toy.ts";
 * const m = { kind: "untied", l1: 3e-3, l0: 5, deadFraction: 0, mmcsBetween: null };
 * const toy = { members: [{ ...m, name: "<b>", ratio: 2, mmcsTruth: 0.97 }], chosen: "<b>" };
 * const page = await toyPage("toy-1", { status: "ok", value: toy });
 * if (page.includes("<b>")) throw new Error("not escaped");
 * ```
 */
export async function toyPage(id: string, file: FileResult<ToyJson>): Promise<Html> {
  const crumbs: [string, string?][] = [["runs", "/"], [id, runHref(id)], ["ground truth"]];
  if (file.status !== "ok") {
    const problems = file.status === "invalid" ? file.problems : ["missing"];
    const body = markup`
      <section class="card">
        <h1>Ground truth</h1>
        <div class="banner invalid"><code>toy.json</code>
      could not be read.<ul class="problems">${problems.slice(0, 20).map((p) => markup`<li>${p}</li>`)}</ul></div>
      </section>
    `;
    return pageHtml(await body, { title: `${id} · ground truth`, crumbs });
  }
  const data = file.value;
  const truth = toyTruthSpec(data), between = toyBetweenSpec(data);
  const charts = [
    truth ? chartHtml("toy-truth", truth, { title: "MMCS with the true features" }) : "",
    between ? chartHtml("toy-between", between, { title: "MMCS between dictionary sizes" }) : "",
  ].filter((c) => c !== "");
  const body = markup`<section class="card"><h1>Ground truth: ${id}</h1>
<p class="lead">A sweep trained on toy activations made from known feature directions in superposition
(more true features than dimensions, sparse non-negative coefficients, decaying frequencies). How well each member
recovers the true features is measured against the directions that made the data.</p>
${verdictHtml(data)}
${settingsHtml(data)}</section>
${kindsHtml(data)}
<section class="card"><h2>MMCS against α</h2>${
    charts.length ? markup`<div class="charts">${raw(charts.join(""))}</div>` : markup`<p class="empty">No member has
α > 0.</p>`
  }</section>
<section class="card"><h2>Members</h2>
<p class="lead">Chance: the same statistic for random unit vectors of the same sizes.</p>
${membersHtml(data)}${partnerHtml(data)}</section>`;
  return pageHtml(await body, { title: `${id} · ground truth`, crumbs, charts: charts.length > 0 });
}

/**
 * Add the ground-truth page and its JSON to the app: `/runs/<id>/toy` and `/api/runs/<id>/toy`
 * (`{ run, status: "ok", toy }`, or `{ run, status: "invalid", problems }`); 404 when the run has no
 * `toy.json`.
 *
 * @param app The app.
 * @param options The runs folder, and how the app maps refused paths to a 404.
 * @example
 * ```ts ignore
 * mountToy(app, { runsDir, guarded });
 * ```
 */
export function mountToy(
  app: Hono,
  options: { runsDir: string; guarded: <T>(read: () => Promise<T>) => Promise<T> },
): void {
  const read = async (param: string | undefined) => {
    const id = nameParam(param, "run id");
    const toy = await options.guarded(() => readToy(options.runsDir, id));
    if (toy.status === "missing") throw new HTTPException(404, { message: `toy.json of run ${id} not found` });
    return { id, toy };
  };
  app.get("/runs/:id/toy", async (c) => {
    const { id, toy } = await read(c.req.param("id"));
    return c.html(await toyPage(id, toy));
  });
  app.get("/api/runs/:id/toy", async (c) => {
    const { id, toy } = await read(c.req.param("id"));
    if (toy.status !== "ok") {
      return c.json({ run: id, status: "invalid", problems: toy.status === "invalid" ? toy.problems : [] });
    }
    return c.json({ run: id, status: "ok", toy: toy.value });
  });
}
