/// <reference lib="dom" />
/**
 * End-to-end check of the report pages in headless Chromium (Debian's `chromium`), driven by
 * playwright-core, on two kinds of run: synthetic demo runs, and a small real run made by the
 * pipeline itself (tiny model, two SAE members, baselines and offline scoring). Every chart
 * container renders an SVG or canvas, the console stays free of errors (Content-Security-Policy
 * violations included), no request fails, and screenshots are saved under `.cache/e2e/`
 * (git-ignored). Run with `deno task test:e2e`; not part of `deno task test`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Page } from "playwright-core";
import { CHROMIUM, FLAGS, watch } from "./_browser.ts";
import { createGpu } from "@saelab/gpu";
import { makeDemoRun } from "@saelab/runs";
import { startServer } from "@saelab/server";
import { testDeps } from "@saelab/runs/testing";
import { score } from "../../tasks/score.ts";
import { makePipelineRun } from "./_pipeline_run.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHOTS = join(ROOT, ".cache", "e2e");

/** Open a page, wait until every chart container reports, and check each holds a drawing. */
async function visit(page: Page, url: string, shot: string): Promise<{ charts: string[]; svg: string[] }> {
  const problems = watch(page);
  const res = await page.goto(url, { waitUntil: "load" });
  assert.equal(res?.status(), 200, url);
  await page.waitForFunction(
    () => [...document.querySelectorAll("div.chart")].every((el) => el.hasAttribute("data-rendered")),
    undefined,
    { timeout: 30_000 },
  );
  const charts = await page.$$eval("div.chart", (els) =>
    els.map((el) => ({
      id: el.id,
      state: el.getAttribute("data-rendered"),
      drawn: !!el.querySelector("svg, canvas") && (el.querySelector("svg, canvas")!.getBoundingClientRect().width > 50),
      svg: !!el.querySelector("svg"),
    })));
  for (const c of charts) {
    assert.equal(c.state, "true", `${url}: chart ${c.id} did not render`);
    assert.ok(c.drawn, `${url}: chart ${c.id} holds no visible svg/canvas`);
  }
  await page.screenshot({ path: join(SHOTS, `${shot}.png`), fullPage: true });
  assert.deepEqual(problems, [], `${url}: ${problems.join("\n")}`);
  return { charts: charts.map((c) => c.id), svg: charts.filter((c) => c.svg).map((c) => c.id) };
}

Deno.test({
  name: "report pages render every chart in headless Chromium without console errors",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await Deno.mkdir(SHOTS, { recursive: true });
    const runs = await Deno.makeTempDir({ prefix: "saelab-e2e-runs-" });
    const profile = await Deno.makeTempDir({ prefix: "saelab-e2e-profile-" });
    const server = await startServer({ runsDir: runs, port: 0 });
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: [...FLAGS],
      viewport: { width: 1360, height: 900 },
    });
    try {
      const { id } = await makeDemoRun(runs, 1);
      await makeDemoRun(runs, 2, { id: "live", status: "running", created: new Date(Date.UTC(2025, 0, 2)) });
      const page = await context.newPage();
      const u = (p: string) => `${server.url}${p}`;

      await visit(page, u("/"), "01-runs");
      assert.equal(await page.locator("table.runs tbody tr").count(), 2);

      const run = await visit(page, u(`/runs/${id}`), "02-run");
      assert.deepEqual(run.charts.sort(), [
        "chart-circuits",
        "chart-curves",
        "chart-dead",
        "chart-frontier",
        "chart-kinds",
        "chart-methods",
        "chart-mmcs",
        "chart-patch",
      ]);

      // Every chart fits the card it is drawn in.
      const overflow = await page.$$eval("div.chart", (els) =>
        els.flatMap((el) => {
          const svg = el.querySelector("svg")!.getBoundingClientRect().width;
          const box = el.getBoundingClientRect().width;
          return svg > box + 1 ? [`${el.id}: ${Math.round(svg)} px in ${Math.round(box)} px`] : [];
        }));
      assert.deepEqual(overflow, []);
      // A circuit node links to its feature's page.
      await page.click("details.nodes summary");
      await page.locator("details.nodes a").first().click();
      await page.waitForURL(/\/features\/\d+$/);
      assert.equal((await page.locator("h1").first().textContent())?.startsWith("Feature #"), true);

      await visit(page, u("/runs/live"), "03-run-in-progress");
      assert.ok((await page.textContent(".banner.progress"))?.includes("In progress"));

      await visit(page, u(`/runs/${id}/dicts/r4_a3e-3?sort=score&order=desc&per=25`), "04-features");
      assert.equal(await page.locator("table.features tbody tr").count(), 25);
      await page.click("nav.pagination a.next");
      await page.waitForURL(/page=2/);
      assert.equal(await page.locator("nav.pagination a.current").textContent(), "2");
      // The search box (sent by /static/app.js: the CSP allows no form submission) finds a feature by index.
      await page.fill("#feature-search", "#5");
      await page.press("#feature-search", "Enter");
      await page.waitForURL(/[?&]q=%235/);
      await visit(page, page.url(), "04b-features-search");
      assert.equal(await page.locator("table.features tbody tr").count(), 1);
      assert.equal(await page.locator("table.features tbody tr a").first().textContent(), "#5");

      await visit(page, u(`/runs/${id}/dicts/r4_a3e-3/features/5`), "05-feature");
      const tok = page.locator("ol.fragments .tok.a10").first();
      await tok.hover();
      const tip = await tok.evaluate((el) => getComputedStyle(el, "::after").content);
      assert.match(tip, /^"\d+\.\d{3}"$/, "hovering a token shows its activation");
      assert.ok((await page.locator(".logit-pair table").count()) === 2);
      assert.ok((await page.locator("table.neighbours tbody tr").count()) > 0);
      // Fragments are centred on their outlined peak token; examples from four activation intervals follow.
      assert.ok((await page.locator("#top ol.fragments .tok.peak-tok").count()) > 0);
      assert.equal(await page.locator("#intervals h3").count(), 4);
      await page.locator("#intervals").screenshot({ path: join(SHOTS, "05b-feature-intervals.png") });

      // A member without harvested features: a not-sampled page with neighbours and an MMCS partner that lands.
      await visit(page, u(`/runs/${id}/dicts/r2_a3e-3/features/0`), "06-feature-not-sampled");
      assert.ok((await page.textContent("h1"))?.includes("not sampled"));
      assert.ok((await page.locator("table.neighbours tbody tr").count()) === 5);
      await page.locator("text=MMCS partner").waitFor();
      await page.locator('a[href*="/dicts/r4_a3e-3/features/"]').last().click();
      await page.waitForURL(/r4_a3e-3\/features\/\d+$/);
      assert.ok((await page.locator("ol.fragments").count()) > 0, "the partner's full page");
    } finally {
      await context.close();
      await server.shutdown();
      await Deno.remove(runs, { recursive: true });
      await Deno.remove(profile, { recursive: true });
    }
  },
});

Deno.test({
  name: "a run made by the pipeline renders its charts, feature browser and a feature page without console errors",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await Deno.mkdir(SHOTS, { recursive: true });
    const work = await Deno.makeTempDir({ prefix: "saelab-e2e-pipeline-" });
    const profile = await Deno.makeTempDir({ prefix: "saelab-e2e-profile-" });
    const runs = join(work, "runs");
    let server: Awaited<ReturnType<typeof startServer>> | null = null;
    let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | null = null;
    try {
      const id = await makePipelineRun(runs, { gpu, work: join(work, "inputs") });
      // Score a sample of 8 features per dictionary, so that most features are outside the sample.
      await score({ run: id, features: 8 }, testDeps(runs), { gpu });
      server = await startServer({ runsDir: runs, port: 0 });
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: [...FLAGS],
        viewport: { width: 1360, height: 900 },
      });
      const page = await context.newPage();
      const u = (p: string) => `${server!.url}${p}`;

      await visit(page, u("/"), "11-pipeline-runs");
      assert.equal(await page.locator("table.runs tbody tr").count(), 1);

      // The run has metrics, evaluated members (two ratios at one α), baselines and scores: each of
      // those charts is on the page and drawn as SVG; patching and circuits were not run, so are absent.
      const run = await visit(page, u(`/runs/${id}`), "12-pipeline-run");
      const expected = ["chart-curves", "chart-dead", "chart-frontier", "chart-kinds", "chart-methods", "chart-mmcs"];
      assert.deepEqual(run.charts.sort(), expected);
      assert.deepEqual(run.svg.sort(), expected);
      assert.equal(await page.locator(".banner.synthetic").count(), 0);
      const text = await page.textContent("body") ?? "";
      for (const name of ["untied_r1_a1.0e-3", "untied_r2_a1.0e-3", "pca", "token-lookup"]) {
        assert.ok(text.includes(name), `the run page names ${name}`);
      }

      const dict = "untied_r2_a1.0e-3";
      await visit(page, u(`/runs/${id}/dicts/${dict}?sort=score&order=desc`), "13-pipeline-features");
      const rows = await page.locator("table.features tbody tr").count();
      assert.ok(rows > 0, "the feature browser lists the scored features");
      await page.locator("table.features tbody tr a").first().click();
      await page.waitForURL(new RegExp(`/runs/${id}/dicts/${dict.replaceAll(".", "\\.")}/features/\\d+$`));
      const feature = await visit(page, page.url(), "14-pipeline-feature");
      assert.ok(feature.svg.includes("chart-histogram"), `charts drawn: ${feature.svg}`);
      assert.ok((await page.locator("ol.fragments .tok").count()) > 0, "the feature page shows shaded fragments");
      assert.ok((await page.locator("table.neighbours tbody tr").count()) > 0, "nearest features are listed");
      // The score breakdown names the token-lookup backend for what it is and shows simulated against true.
      const breakdown = await page.textContent("#score") ?? "";
      assert.ok(breakdown.includes("token-lookup simulator") && breakdown.includes("not"), breakdown.slice(0, 200));
      assert.ok((await page.locator("#score ol.held-out li").count()) > 0, "held-out fragments are shown");
      await page.locator("#score").screenshot({ path: join(SHOTS, "14b-pipeline-score-breakdown.png") });

      // A feature that was not sampled has a page with data from the same held-out pass.
      const api = await (await fetch(u(`/api/runs/${id}/dicts/${dict}?sort=index&per=1000`))).json();
      const sampled = new Set<number>(api.sampled);
      const other = api.features.find((f: { index: number; density: number }) =>
        !sampled.has(f.index) && f.density > 0
      );
      assert.ok(other, "a firing feature outside the sample");
      const plain = await visit(
        page,
        u(`/runs/${id}/dicts/${dict}/features/${other.index}`),
        "15-pipeline-not-sampled",
      );
      assert.ok((await page.textContent("h1"))?.includes("not sampled"));
      // a feature outside the sample has its activation and logit-effect histograms from the atlas
      assert.deepEqual(plain.svg, ["chart-histogram", "chart-logit-histogram"]);
      assert.ok((await page.locator("#top ol.fragments .tok.peak-tok").count()) > 0, "centred top fragments");
      assert.equal(await page.locator("#intervals h3").count(), 4, "four activation intervals");
      assert.ok((await page.locator("#top-tokens tbody tr").count()) > 0, "top tokens");

      // Search by one of its top tokens from the dictionary page's box.
      const token = (other.topTokens as string[]).find((t) => t.trim().length > 0)!.trim();
      await visit(page, u(`/runs/${id}/dicts/${dict}`), "16-pipeline-browser");
      assert.equal(await page.locator("#chart-density").count(), 1, "the log10 density histogram");
      await page.fill("#feature-search", token);
      await page.press("#feature-search", "Enter");
      await page.waitForURL(/[?&]q=/);
      await visit(page, page.url(), "17-pipeline-search");
      const matched = await page.locator("table.features tbody tr").count();
      const search =
        await (await fetch(u(`/api/runs/${id}/dicts/${dict}/search?q=${encodeURIComponent(token)}&per=1000`)))
          .json();
      assert.equal(matched, Math.min(50, search.total), "the page lists the matches");
      assert.ok(
        search.features.some((f: { index: number }) => f.index === other.index),
        `searching ${JSON.stringify(token)} finds #${other.index}`,
      );
    } finally {
      await context?.close();
      await server?.shutdown();
      await Deno.remove(work, { recursive: true });
      await Deno.remove(profile, { recursive: true });
    }
  },
});
