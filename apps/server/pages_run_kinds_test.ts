import assert from "node:assert/strict";
import { join } from "node:path";
import { demoMemberName, makeDemoRun } from "@saelab/runs";
import { createApp, loadAssets } from "./mod.ts";

const runs = await Deno.makeTempDir({ prefix: "saelab-run-kinds-test-" });
await makeDemoRun(runs, 12, { id: "kinds" });
// The demo's members record no kind: give each ratio one, the last a kind no list in the code names.
const KIND_OF_RATIO: Record<number, string> = { 1: "untied", 2: "tied", 4: "gated-later" };
for (const [ratio, kind] of Object.entries(KIND_OF_RATIO)) {
  for (const alpha of [1e-3, 3e-3, 1e-2]) {
    const path = join(runs, "kinds", "saes", demoMemberName(Number(ratio), alpha), "eval.json");
    const ev = JSON.parse(await Deno.readTextFile(path));
    await Deno.writeTextFile(path, JSON.stringify({ ...ev, variant: kind, deltaCe: ev.fvu / 5, klDiv: ev.fvu / 9 }));
  }
}
const { assets } = await loadAssets();
const app = createApp({ runsDir: runs, assets });
const page = await (await app.request("/runs/kinds")).text();
const section = page.split("<h2>SAE kinds</h2>")[1]?.split("</section>")[0] ?? "";

Deno.test("the run page draws a frontier per SAE kind and a matched-L0 table of every kind", () => {
  assert.match(section, /id="chart-kinds"/);
  assert.match(section, /one line per SAE kind through its Pareto-optimal members/);
  assert.match(section, /interpolated linearly in log L0/);
  const table = section.split('<table class="data matched">')[1]?.split("</table>")[0] ?? "";
  const kinds = [...table.matchAll(/<tr><td class="num">[^<]*<\/td><td>([^<]+)<\/td>/g)].map((m) => m[1]);
  assert.ok(kinds.length >= 3, `rows: ${kinds.length}`);
  assert.deepEqual([...new Set(kinds)].sort(), ["gated-later", "tied", "untied"], "every recorded kind");
  for (const label of ["FVU", "ΔCE (nats)", "KL (nats)"]) assert.ok(table.includes(`>${label}</th>`), label);
  assert.match(section, /Reference levels: FVU 1 \(every vector reconstructed as the mean\)/);
  assert.match(section, /score [\d.]+ \(random directions\)/, "the random-direction score is a reference");
});

Deno.test("the kinds chart's data holds every member and the baselines", () => {
  const script = section.match(/<script type="application\/json"[^>]*>(.*?)<\/script>/s)?.[1] ?? "";
  const spec = JSON.parse(script.replace(/\\u003c/g, "<"));
  const [fvu, ce] = spec.hconcat;
  assert.equal(fvu.layer[0].data.values.length, 9, "every member in the FVU panel");
  assert.equal(ce.layer[0].data.values.length, 9, "every member in the ΔCE panel");
  assert.deepEqual(fvu.layer[2].data.values.map((b: { name: string }) => b.name).sort(), [
    "ica",
    "neurons",
    "pca",
    "random",
  ]);
});
