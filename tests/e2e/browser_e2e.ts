/// <reference lib="dom" />
/**
 * End-to-end check of the report pages in headless Chromium (Debian's `chromium`), driven by
 * playwright-core: every chart container renders an SVG or canvas, the console stays free of errors
 * (Content-Security-Policy violations included), no request fails, and screenshots are saved under
 * `.cache/e2e/` (git-ignored). Run with `deno task test:e2e`; not part of `deno task test`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Page } from "playwright-core";
import { makeDemoRun } from "@saelab/runs";
import { startServer } from "@saelab/server";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHOTS = join(ROOT, ".cache", "e2e");
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Watch a page for console errors, uncaught exceptions and failed requests. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return problems;
}

/** Open a page, wait until every chart container reports, and check each holds a drawing. */
async function visit(page: Page, url: string, shot: string): Promise<{ charts: string[] }> {
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
    })));
  for (const c of charts) {
    assert.equal(c.state, "true", `${url}: chart ${c.id} did not render`);
    assert.ok(c.drawn, `${url}: chart ${c.id} holds no visible svg/canvas`);
  }
  await page.screenshot({ path: join(SHOTS, `${shot}.png`), fullPage: true });
  assert.deepEqual(problems, [], `${url}: ${problems.join("\n")}`);
  return { charts: charts.map((c) => c.id) };
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
      args: FLAGS,
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
        "chart-methods",
        "chart-mmcs",
        "chart-patch",
      ]);

      await visit(page, u("/runs/live"), "03-run-in-progress");
      assert.ok((await page.textContent(".banner.progress"))?.includes("In progress"));

      await visit(page, u(`/runs/${id}/dicts/r4_a3e-3?sort=score&order=desc&per=25`), "04-features");
      assert.equal(await page.locator("table.features tbody tr").count(), 25);
      await page.click("nav.pagination a.next");
      await page.waitForURL(/page=2/);
      assert.equal(await page.locator("nav.pagination a.current").textContent(), "2");

      await visit(page, u(`/runs/${id}/dicts/r4_a3e-3/features/5`), "05-feature");
      const tok = page.locator("ol.fragments .tok.a10").first();
      await tok.hover();
      const tip = await tok.evaluate((el) => getComputedStyle(el, "::after").content);
      assert.match(tip, /^"\d+\.\d{3}"$/, "hovering a token shows its activation");
      assert.ok((await page.locator(".logit-pair table").count()) === 2);
      assert.ok((await page.locator("table.neighbours tbody tr").count()) > 0);
    } finally {
      await context.close();
      await server.shutdown();
      await Deno.remove(runs, { recursive: true });
      await Deno.remove(profile, { recursive: true });
    }
  },
});
