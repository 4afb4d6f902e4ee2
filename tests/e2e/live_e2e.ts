/// <reference lib="dom" />
/**
 * End-to-end check of the live page (`/runs/<id>/live`) in headless Chromium with WebGPU
 * (SwiftShader where the machine has no GPU): a run of the default model made by the pipeline,
 * the page loads the model and a dictionary into its WebGPU, and the activations it draws for a
 * text equal those computed in Deno by the project's file loaders, the same hook read and the
 * dictionary's float64 CPU encoder on the same text, within 1e-4 relative to the token's largest
 * activation (float32 forward passes on two adapters differ by rounding that scales with the sizes
 * summed, not with a small result). Prints the time from navigation to the first activations and
 * the largest relative difference seen.
 * Run with `deno task test:e2e`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Page } from "playwright-core";
import { createGpu } from "@saelab/gpu";
import { loadModel } from "@saelab/neox";
import { loadDictionary } from "@saelab/dictionary";
import { readHook } from "@saelab/activations";
import { Tokenizer } from "@saelab/tokenizer";
import { startServer } from "@saelab/server";
import { DEFAULT_MODEL, END_OF_TEXT } from "../../tasks/_model.ts";
import { makePipelineRun } from "./_pipeline_run.ts";
import { CHROMIUM, watch, WEBGPU_FLAGS } from "./_browser.ts";

const gpu = await createGpu();
globalThis.addEventListener("unload", () => gpu.destroy());

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHOTS = join(ROOT, ".cache", "e2e");
const TEXT = "The Congress of the United States will not forget the people of this nation.";
const TEXT2 = "War and peace, trade and money: the government of the union.";
const DICT = "untied_r2_a1.0e-3";
const HOOK_TIMEOUT_MS = 180_000;
const STEER_STRENGTH = 20;

const TOLERANCE = 1e-4;

/** The difference of a page value from Deno's, relative to the token's largest activation in Deno. */
const relative = (a: number, b: number, row: Float32Array) => Math.abs(a - b) / Math.max(...row.map(Math.abs), 1e-6);

/** Deno's activations of every feature on every token, and each feature's gain on its own decoder row. */
interface Reference {
  values: Float32Array;
  dDict: number;
  gains: Float64Array;
}

/**
 * Check the page's token strip against Deno's activations: one element per token, and each token's strongest
 * feature and activation as Deno has them.
 */
async function compareStrip(page: Page, ref: Reference) {
  const strip = await page.$$eval("[data-token-index]", (els) =>
    els.map((el) => ({
      index: Number(el.getAttribute("data-token-index")),
      top: el.getAttribute("data-top-feature"),
      value: Number(el.getAttribute("data-activation")),
    })));
  assert.equal(strip.length, ref.values.length / ref.dDict, "one strip element per token, the separator included");
  let worst = 0;
  for (const t of strip) {
    const row = ref.values.subarray(t.index * ref.dDict, (t.index + 1) * ref.dDict);
    const best = Math.max(...row);
    if (best <= 0) {
      assert.equal(t.top, "", `token ${t.index}: no feature is active in Deno`);
      continue;
    }
    const f = Number(t.top);
    const d = Math.max(relative(t.value, row[f], row), relative(t.value, best, row));
    assert.ok(
      d <= TOLERANCE,
      `token ${t.index}: feature ${f} is ${t.value} in the page, ${row[f]} in Deno (best ${best})`,
    );
    worst = Math.max(worst, d);
  }
  return { strip, worst };
}

/** Every feature's activation on every token of `text`, computed in Deno from the run's files. */
async function denoFeatures(
  runs: string,
  id: string,
  options: { hook: string; text: string },
): Promise<Reference> {
  const { hook, text } = options;
  const tokenizer = await Tokenizer.fromFile(join(DEFAULT_MODEL, "tokenizer.json"));
  const sep = tokenizer.tokenToId(END_OF_TEXT);
  const ids = [...(sep === undefined ? [] : [sep]), ...tokenizer.encode(text)];
  using model = await loadModel(gpu, DEFAULT_MODEL);
  const dict = await loadDictionary(join(runs, id, "saes", DICT), { kind: "sae" });
  const { data } = await readHook(model, Int32Array.from(ids), { batch: 1, contextLength: ids.length, hook });
  // How strongly each feature's encoder reads its own unit decoder row: adding s·d_j raises f_j when this is positive.
  const dirs = dict.directions();
  const gains = new Float64Array(dict.dDict);
  for (let j = 0; j < dict.dDict; j++) {
    for (let i = 0; i < dict.dIn; i++) gains[j] += dict.encoder[j * dict.dIn + i] * dirs[j * dict.dIn + i];
  }
  return { values: dict.encodeHost(data), dDict: dict.dDict, gains };
}

Deno.test({
  name: "the live page draws the default model's features on a text as Deno computes them",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await Deno.mkdir(SHOTS, { recursive: true });
    const work = await Deno.makeTempDir({ prefix: "saelab-e2e-live-" });
    const profile = await Deno.makeTempDir({ prefix: "saelab-e2e-profile-" });
    const runs = join(work, "runs");
    let server: Awaited<ReturnType<typeof startServer>> | null = null;
    let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | null = null;
    try {
      const id = await makePipelineRun(runs, { gpu, work: join(work, "inputs"), id: "live", model: DEFAULT_MODEL });
      const run = JSON.parse(await Deno.readTextFile(join(runs, id, "run.json")));
      server = await startServer({ runsDir: runs, port: 0 });
      const url = `${server.url}/runs/${id}/live?dict=${DICT}&text=${encodeURIComponent(TEXT)}`;
      // The first request builds the page's script; build it before timing the page.
      const warm = await fetch(url);
      assert.equal(warm.status, 200, await warm.text());

      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: [...WEBGPU_FLAGS],
        viewport: { width: 1360, height: 900 },
      });
      const page = await context.newPage();
      const problems = watch(page);
      const res = await page.goto(url, { waitUntil: "load" });
      assert.equal(res?.status(), 200);
      await page.waitForFunction(
        () => document.body.dataset.state === "ready" || document.body.dataset.state === "error",
        undefined,
        { timeout: HOOK_TIMEOUT_MS },
      );
      const state = await page.evaluate(() => document.body.dataset.state);
      assert.equal(state, "ready", (await page.textContent("#live-status")) ?? "");
      const times = await page.evaluate(() => ({ ...document.body.dataset }));
      const loadMs = Number(times.loadMs);
      const adapter = await page.evaluate(async () => {
        const a = await (navigator as Navigator & { gpu: GPU }).gpu.requestAdapter();
        return a ? `${a.info.vendor} ${a.info.architecture} ${a.info.description}`.trim() : "none";
      });
      console.log(
        `live page: ${(loadMs / 1000).toFixed(2)} s from navigation to the first activations ` +
          `(model ${run.model.name}, dictionary ${DICT}, adapter ${adapter}; target ≤ 10 s on SwiftShader): ` +
          `script started ${times.scriptMs} ms, model loaded ${times.modelMs} ms, dictionary ${times.dictMs} ms, ` +
          `first text computed and drawn ${times.firstMs} ms`,
      );

      const ref = await denoFeatures(runs, id, { hook: run.hook, text: TEXT });
      const rowOf = (t: number) => ref.values.subarray(t * ref.dDict, (t + 1) * ref.dDict);
      const { strip, worst } = await compareStrip(page, ref);
      console.log(
        `live page: strongest feature of ${strip.length} tokens, largest relative difference from Deno ` +
          `${worst.toExponential(2)} (tolerance ${TOLERANCE})`,
      );

      // Choosing the strongest feature of the last token shades every token by it, as Deno computes it.
      const last = strip[strip.length - 1];
      assert.notEqual(last.top, "", "the last token has an active feature");
      await page.locator(`#live-rows tr:last-child button.live-pick[data-feature="${last.top}"]`).click();
      await page.waitForFunction((f) => document.getElementById("live-tokens")?.dataset.chosenFeature === f, last.top);
      const chosen = await page.$$eval(
        "[data-token-index]",
        (els) => els.map((el) => Number(el.getAttribute("data-chosen-activation"))),
      );
      const f = Number(last.top);
      let worstChosen = 0;
      chosen.forEach((v, t) => {
        const want = ref.values[t * ref.dDict + f];
        const d = relative(v, want, rowOf(t));
        assert.ok(d <= TOLERANCE, `feature ${f} on token ${t}: ${v} in the page, ${want} in Deno`);
        worstChosen = Math.max(worstChosen, d);
      });
      console.log(
        `live page: feature ${f} on every token, largest relative difference from Deno ` +
          `${worstChosen.toExponential(2)} (tolerance ${TOLERANCE})`,
      );
      assert.ok(chosen.filter((v) => v > 0).length >= 1);
      await page.screenshot({ path: join(SHOTS, "21-live.png"), fullPage: true });

      // Steering with a positive strength, by the feature active on the text whose encoder reads its own decoder
      // row with the largest gain (a briefly trained untied SAE has some that read it negatively), raises the
      // feature on the generated tokens and changes them.
      const active = [...new Set(strip.map((t) => t.top).filter((t) => t !== "").map(Number))];
      const pick = active.reduce((a, b) => (ref.gains[b] > ref.gains[a] ? b : a));
      assert.ok(ref.gains[pick] > 0, `feature ${pick} reads its decoder row with gain ${ref.gains[pick]}`);
      await page.fill("#steer-prompt", "The people of");
      await page.fill("#steer-feature", String(pick));
      await page.selectOption("#steer-mode", "add");
      await page.fill("#steer-amount", String(STEER_STRENGTH));
      await page.fill("#steer-tokens", "12");
      await page.click("#steer-form button[type=submit]");
      await page.waitForFunction(
        () =>
          ["ready", "error"].includes(document.body.dataset.steer ?? "") &&
            document.getElementById("steer-steered")?.dataset.tokens !== undefined ||
          document.body.dataset.steer === "error",
        undefined,
        { timeout: HOOK_TIMEOUT_MS },
      );
      assert.equal(
        await page.evaluate(() => document.body.dataset.steer),
        "ready",
        await page.textContent("#steer-status") ?? "",
      );
      const side = (id: string) =>
        page.$eval(id, (el) => ({
          tokens: JSON.parse((el as HTMLElement).dataset.tokens!) as number[],
          mean: Number((el as HTMLElement).dataset.meanActivation),
        }));
      const unsteered = await side("#steer-unsteered"), steered = await side("#steer-steered");
      console.log(
        `live page: steering feature ${pick} (gain ${
          ref.gains[pick].toFixed(2)
        }) by ${STEER_STRENGTH}·d: mean activation on 12 generated tokens ` +
          `${unsteered.mean.toFixed(3)} unsteered → ${steered.mean.toFixed(3)} steered; ` +
          `${steered.tokens.filter((t, i) => t !== unsteered.tokens[i]).length} of 12 tokens changed`,
      );
      assert.equal(steered.tokens.length, 12);
      assert.ok(steered.mean > unsteered.mean, "a positive strength raises the feature");
      assert.notDeepEqual(steered.tokens, unsteered.tokens, "and changes the continuation");
      await page.screenshot({ path: join(SHOTS, "22-live-steer.png"), fullPage: true });

      // A typed text, submitted, is drawn as Deno computes it, and the URL keeps it.
      const ref2 = await denoFeatures(runs, id, { hook: run.hook, text: TEXT2 });
      await page.fill("#live-text", TEXT2);
      await page.click("#live-form button[type=submit]");
      await page.waitForFunction(
        (n) => document.body.dataset.state === "ready" && document.querySelectorAll("[data-token-index]").length === n,
        ref2.values.length / ref2.dDict,
        { timeout: HOOK_TIMEOUT_MS },
      );
      const typed = await compareStrip(page, ref2);
      console.log(
        `live page: a typed text of ${typed.strip.length} tokens, largest relative difference from Deno ` +
          `${typed.worst.toExponential(2)} (tolerance ${TOLERANCE})`,
      );
      assert.equal(new URL(page.url()).searchParams.get("text"), TEXT2);

      // A feature links to its page.
      const lastTyped = typed.strip[typed.strip.length - 1];
      const href = await page.locator("#live-rows tr:last-child .live-feature a").first().getAttribute("href");
      assert.equal(href, `/runs/${id}/dicts/${DICT}/features/${lastTyped.top}`);
      await page.locator("#live-rows tr:last-child .live-feature a").first().click();
      await page.waitForURL(/\/features\/\d+$/);
      assert.ok((await page.textContent("h1"))?.includes(`#${lastTyped.top}`));
      assert.deepEqual(problems, [], problems.join("\n"));

      // A dictionary whose weights were altered is refused in the page, which says why.
      const weights = join(runs, id, "saes", "untied_r1_a1.0e-3", "sae_weights.safetensors");
      const bytes = await Deno.readFile(weights);
      bytes[bytes.length - 1] ^= 1;
      await Deno.writeFile(weights, bytes);
      const broken = await context.newPage();
      const seen = watch(broken);
      await broken.goto(`${server.url}/runs/${id}/live?dict=untied_r1_a1.0e-3`, { waitUntil: "load" });
      await broken.waitForFunction(() => ["ready", "error"].includes(document.body.dataset.state ?? ""), undefined, {
        timeout: HOOK_TIMEOUT_MS,
      });
      assert.equal(await broken.evaluate(() => document.body.dataset.state), "error");
      assert.match((await broken.textContent("#live-status")) ?? "", /sae_weights\.safetensors.*SHA-256/);
      assert.equal(seen.length, 1, seen.join("\n"));
      assert.match(seen[0], /^console error: .*SHA-256/);
    } finally {
      await context?.close();
      await server?.shutdown();
      await Deno.remove(work, { recursive: true });
      await Deno.remove(profile, { recursive: true });
    }
  },
});
