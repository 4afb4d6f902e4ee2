/**
 * What the browser tests share: the Chromium to drive, its flags, and a watcher of page problems.
 *
 * @module
 */
import type { Page } from "playwright-core";

/** Debian's `chromium`, or `CHROMIUM_PATH`. */
export const CHROMIUM: string = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** Headless, offline, without a GPU process (the report pages need none). */
export const FLAGS: readonly string[] = Object.freeze([
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
]);

/** The same, with WebGPU (SwiftShader's software adapter where the machine has no GPU) for the live page. */
export const WEBGPU_FLAGS: readonly string[] = Object.freeze([
  ...FLAGS.filter((f) => f !== "--disable-gpu"),
  "--enable-unsafe-webgpu",
]);

/**
 * Watch a page for console errors and warnings, uncaught exceptions and failed requests.
 *
 * @param page The page.
 * @returns The list the problems are pushed to.
 * @example
 * ```ts ignore
 * const problems = watch(page);
 * await page.goto(url);
 * assert.deepEqual(problems, []);
 * ```
 */
export function watch(page: Page): string[] {
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
