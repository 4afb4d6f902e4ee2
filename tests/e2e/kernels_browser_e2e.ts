/// <reference lib="dom" />
/**
 * The kernels on their own in headless Chromium: `deno task bundle:example` bundles `examples/browser/main.ts`
 * (only `@saelab/gpu` and `@saelab/kernels`) for the browser, a local server serves the page, and on the
 * browser's WebGPU (`--enable-unsafe-webgpu`) its matmul and Adam step agree with their float64 CPU
 * references. Without the flag the page reports the browser's advice for enabling WebGPU, not Deno's.
 * Run with `deno task test:e2e`; not part of `deno task test`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serveExample } from "../../examples/browser/serve.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FLAGS = ["--headless", "--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-sync"];

/** Build the bundle with the project's task. */
async function bundle(): Promise<void> {
  const r = await new Deno.Command(Deno.execPath(), { args: ["task", "bundle:example"], cwd: ROOT }).output();
  assert.equal(r.code, 0, `deno task bundle:example failed:\n${new TextDecoder().decode(r.stderr)}`);
}

/** Load the page in Chromium with these flags; its final state, report text and console messages. */
async function load(url: string, flags: string[]) {
  const profile = await Deno.makeTempDir({ prefix: "saelab-e2e-profile-" });
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: flags });
  try {
    const page = await context.newPage();
    const consoleLines: string[] = [];
    page.on("console", (m) => void consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => void consoleLines.push(`page error: ${e.message}`));
    const res = await page.goto(url, { waitUntil: "load" });
    assert.equal(res?.status(), 200);
    await page.waitForFunction(() => document.body.dataset.state !== "loading", undefined, { timeout: 120_000 });
    const state = await page.evaluate(() => document.body.dataset.state);
    return { state, text: (await page.textContent("#result")) ?? "", consoleLines };
  } finally {
    await context.close();
    await Deno.remove(profile, { recursive: true });
  }
}

Deno.test({
  name: "the kernels example runs a matmul and an Adam step on Chromium's WebGPU and matches the CPU references",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await bundle();
    const server = await serveExample({ port: 0 });
    try {
      const r = await load(server.url, [...FLAGS, "--enable-unsafe-webgpu"]);
      assert.equal(r.state, "ready", r.text);
      const report = JSON.parse(r.text) as {
        tolerance: { atol: number; rtol: number };
        checks: { what: string; maxAbs: number; ok: boolean }[];
      };
      assert.deepEqual(report.checks.map((c) => c.what.split(" ")[0]), ["matmul", "adam"]);
      for (const c of report.checks) {
        assert.ok(c.ok, `${c.what}: max |GPU − CPU| ${c.maxAbs}`);
        assert.ok(c.maxAbs < 1e-4, `${c.what}: max |GPU − CPU| ${c.maxAbs}`);
      }
      assert.deepEqual(r.consoleLines.filter((l) => /^(error|warning|page error)/.test(l)), []);

      // Without the flag Chromium on Linux gives no adapter: the page must say how to enable WebGPU there.
      const off = await load(server.url, FLAGS);
      if (off.state === "ready") console.log("note: this Chromium has WebGPU without --enable-unsafe-webgpu");
      else {
        assert.equal(off.state, "error");
        assert.match(off.text, /^GpuError: Cannot create a GPU context: .*--enable-unsafe-webgpu/s);
        assert.doesNotMatch(off.text, /Mesa|apt-get|DENO_WEBGPU_BACKEND/);
      }
    } finally {
      await server.shutdown();
    }
  },
});
