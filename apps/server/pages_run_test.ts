import assert from "node:assert/strict";
import { join } from "node:path";
import { makeDemoRun } from "@saelab/runs";
import { createApp, loadAssets } from "./mod.ts";

const runs = await Deno.makeTempDir({ prefix: "saelab-run-page-test-" });
await makeDemoRun(runs, 11, { id: "rerun" });
const runPath = join(runs, "rerun", "run.json");
const run = JSON.parse(await Deno.readTextFile(runPath));
// A second `circuits --member` with a mistyped member failed after an earlier run wrote circuits.json.
run.status = "failed";
run.error = "circuits: no member r9_a1e-3 in this run";
run.stages.circuits = { ...run.stages.circuits, status: "failed", error: "no member r9_a1e-3 in this run" };
run.model.note = "**Pythia-70m** deduped, see [its card](https://huggingface.co/EleutherAI/pythia-70m-deduped).\n\n" +
  "- 6 layers\n- <i>raw</i>";
await Deno.writeTextFile(runPath, JSON.stringify(run));
const patchPath = join(runs, "rerun", "patch.json");
await Deno.writeTextFile(patchPath, JSON.stringify({ ...JSON.parse(await Deno.readTextFile(patchPath)), pairs: 24 }));
const { assets } = await loadAssets();
const app = createApp({ runsDir: runs, assets });
const page = await (await app.request("/runs/rerun")).text();
const section = (title: string) => page.split(`<h2>${title}</h2>`)[1]?.split("</section>")[0] ?? "";

Deno.test("a failed rerun of a stage is shown beside the earlier good result, not instead of it", () => {
  const circuits = section("Circuits");
  assert.match(circuits, /The last run of <code>circuits<\/code> failed:<\/strong> no member r9_a1e-3 in this run/);
  assert.match(circuits, /id="chart-circuits"/, "the earlier graph is still drawn");
  assert.match(page, /The earlier results of <code>circuits<\/code> are kept and shown below/);
  // Stages that did not fail carry no such note.
  assert.doesNotMatch(section("Feature patching"), /The last run of/);
});

Deno.test("the model note renders its markdown and escapes raw HTML", () => {
  assert.match(
    page,
    /<dd><div class="note"><p><strong>Pythia-70m<\/strong> deduped, see <a href="https:\/\/huggingface/,
  );
  assert.match(page, /<ul><li>6 layers<\/li><li>&lt;i&gt;raw&lt;\/i&gt;<\/li><\/ul>/);
  assert.ok(!page.includes("**Pythia") && !page.includes("<i>raw"));
});

Deno.test("patching and circuit charts carry captions: the task, the pairs and which way is better", () => {
  const patch = section("Feature patching").match(/<figcaption>(.*?)<\/figcaption>/s)?.[1] ?? "";
  assert.match(patch, /^Task synthetic indirect-object task \(24 prompt pairs\)/);
  assert.match(
    patch,
    /(Lower|Higher) is further toward the counterfactual answer \(clean [-\d.]+, fully patched [-\d.]+/,
  );
  const circuits = section("Circuits").match(/<figcaption>(.*?)<\/figcaption>/s)?.[1] ?? "";
  assert.match(circuits, /^\d+ features at layers [\d, ]+, \d+ edges/);
  assert.match(circuits, /red: it lowers it/);
  // Every circuit node is in the node table, linked to its feature page.
  const nodes = section("Circuits").match(/<details class="nodes">.*?<\/details>/s)?.[0] ?? "";
  assert.equal([...nodes.matchAll(/href="\/runs\/rerun\/dicts\/[^"]+\/features\/\d+"/g)].length, 12);
});
