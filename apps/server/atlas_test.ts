import assert from "node:assert/strict";
import { join } from "node:path";
import { makeDemoRun } from "@saelab/runs";
import type { AtlasShard, FeatureIndex, FeatureSummary } from "@saelab/runs";
import { createApp, loadAssets } from "./mod.ts";

// A demo run whose member r4_a3e-3 (d_sae 64) keeps detail files for every fourth feature only, as a scoring
// sample leaves it; the atlas covers all 64.
const runs = await Deno.makeTempDir({ prefix: "saelab-atlas-test-" });
await makeDemoRun(runs, 3, { id: "atlas" });
const dict = "r4_a3e-3";
const folder = join(runs, "atlas", "features", dict);
const index: FeatureIndex = JSON.parse(await Deno.readTextFile(join(folder, "index.json")));
const kept = index.features.filter((f) => f.index % 4 === 0).map((f) => f.index);
for (const f of index.features) if (!kept.includes(f.index)) await Deno.remove(join(folder, `${f.index}.json`));
const features = index.features.map((f) =>
  kept.includes(f.index) ? f : { ...f, explanation: undefined, score: undefined }
);
await Deno.writeTextFile(join(folder, "index.json"), JSON.stringify({ ...index, features, sampled: kept }));

const { assets } = await loadAssets();
const app = createApp({ runsDir: runs, assets, cacheMs: 0 });
const json = async (path: string) => {
  const res = await app.request(path);
  assert.equal(res.status, 200, path);
  return await res.json();
};
const text = async (path: string) => {
  const res = await app.request(path);
  assert.equal(res.status, 200, path);
  return await res.text();
};

Deno.test("every feature index in [0, d_sae) answers 200 on the page and the API, with its atlas entry", async () => {
  const shard: AtlasShard = JSON.parse(await Deno.readTextFile(join(folder, "atlas", "0.json")));
  for (let i = 0; i < 64; i++) {
    const api = await json(`/api/runs/atlas/dicts/${dict}/features/${i}`);
    assert.equal(api.status, kept.includes(i) ? "ok" : "not-sampled", `#${i}`);
    assert.deepEqual(api.atlas, shard.features[i], `#${i} atlas`);
    const html = await text(`/runs/atlas/dicts/${dict}/features/${i}`);
    assert.ok(html.includes('id="intervals"') && html.includes('id="top-tokens"'), `#${i} sections`);
    assert.equal(html.includes("not sampled</span>"), !kept.includes(i));
  }
  assert.equal((await app.request(`/runs/atlas/dicts/${dict}/features/64`)).status, 404);
  assert.equal((await app.request(`/api/runs/atlas/dicts/${dict}/features/64`)).status, 404);
});

Deno.test("a not-sampled feature's page shows its atlas: statistics, centred top fragments, intervals, top tokens", async () => {
  const i = 5;
  const a = (await json(`/api/runs/atlas/dicts/${dict}/features/${i}`)).atlas;
  const html = await text(`/runs/atlas/dicts/${dict}/features/${i}`);
  assert.ok(html.includes(`id="chart-histogram"`));
  assert.ok(html.includes("fragments where it fires"));
  // one outlined peak per firing fragment, top list and interval examples together
  const shown = [...a.top, ...a.intervals.flatMap((q: { fragments: unknown[] }) => q.fragments)];
  assert.equal((html.match(/ peak-tok"/g) ?? []).length, shown.length);
  assert.equal((html.match(/<h3>Interval /g) ?? []).length, a.intervals.length);
  for (const t of a.topTokens) assert.ok(html.includes(`title="${JSON.stringify(t.token).replaceAll('"', "&quot;")}"`));
  assert.ok(!html.includes('id="score"'), "no score breakdown for a feature that was not scored");
  // its logit effects come from the atlas: every listed token with its value
  assert.ok(a.logits.positive.length > 0 && a.logits.negative.length > 0);
  const card = html.slice(html.indexOf("<h2>Logit effects</h2>"));
  assert.ok(card.length < html.length, "a logit effects card");
  for (const t of [...a.logits.positive, ...a.logits.negative]) assert.ok(card.includes(t.token), t.token);
  assert.ok(!card.includes("Not available"));
});

Deno.test("a scored feature's page names its backend and shows the score breakdown", async () => {
  const html = await text(`/runs/atlas/dicts/${dict}/features/${kept[1]}`);
  assert.ok(html.includes('id="score"') && html.includes("Score breakdown"));
  assert.ok(html.includes("made-up numbers of a demo run"));
});

Deno.test("search matches an index, a top token or explanation words, like an independent filter", async () => {
  const byToken = (t: string) =>
    features.filter((f: FeatureSummary) => (f.topTokens ?? []).some((x) => x.trim().toLowerCase().includes(t)));
  const token = features[7].topTokens![0].trim().toLowerCase();
  const r = await json(`/api/runs/atlas/dicts/${dict}/search?q=${encodeURIComponent(token)}&sort=index&per=1000`);
  const expected = features.filter((f: FeatureSummary) =>
    byToken(token).includes(f) || (f.explanation ?? "").toLowerCase().includes(token)
  ).map((f) => f.index);
  assert.deepEqual(r.features.map((f: { index: number }) => f.index), expected);
  assert.ok(r.features.length > 0 && r.total === expected.length);
  assert.deepEqual(
    r.features.map((f: { sampled: boolean }) => f.sampled),
    expected.map((i) => kept.includes(i)),
  );
  // "#12" is that feature only; "12" is that feature first, then text matches
  assert.deepEqual(
    (await json(`/api/runs/atlas/dicts/${dict}/search?q=%2312`)).features.map((f: FeatureSummary) => f.index),
    [12],
  );
  assert.equal((await json(`/api/runs/atlas/dicts/${dict}/search?q=12`)).features[0].index, 12);
  // explanations: every kept feature of the demo says "synthetic"
  const words = await json(`/api/runs/atlas/dicts/${dict}/search?q=SYNTHETIC&per=1000`);
  assert.deepEqual(words.features.map((f: FeatureSummary) => f.index).sort((a: number, b: number) => a - b), kept);
  // the browser page: the box, the count of matches, links that keep the search
  const html = await text(`/runs/atlas/dicts/${dict}?q=synthetic`);
  assert.ok(html.includes('<form class="search"') && html.includes('value="synthetic"'));
  assert.match(html, new RegExp(`${kept.length} features match <q>synthetic</q>`));
  assert.match(html, /class="sort[^"]*" href="[^"]*[?&;]q=synthetic"/, "sort links keep the search");
  assert.equal((await app.request(`/api/runs/atlas/dicts/${dict}/search?q=${"x".repeat(101)}`)).status, 400);
});

Deno.test("the dictionary page lists every feature, marks the scored ones and draws the log10 density histogram", async () => {
  const html = await text(`/runs/atlas/dicts/${dict}?per=100&sort=index`);
  assert.equal((html.match(/<tr>/g) ?? []).length - 1, 64);
  assert.equal((html.match(/ class="badge sampled" title/g) ?? []).length, kept.length);
  assert.ok(html.includes('id="chart-density"'));
  assert.ok(html.includes("/static/app.js"), "the script that sends the search box");
});

Deno.test("crafted tokens in the atlas and the search text are escaped", async () => {
  const shardPath = join(folder, "atlas", "0.json");
  const shard: AtlasShard = JSON.parse(await Deno.readTextFile(shardPath));
  const evil = '<img src=x onerror="alert(1)">';
  shard.features[1].topTokens = [{ token: evil, max: 1, count: 1 }];
  shard.features[1].intervals[0].fragments = [{ tokens: [evil, "b"], acts: [1, 0], peak: 0 }];
  await Deno.writeTextFile(shardPath, JSON.stringify(shard));
  const html = await text(`/runs/atlas/dicts/${dict}/features/1`);
  assert.ok(!html.includes("<img") && html.includes("&lt;img"));
  const q = await text(`/runs/atlas/dicts/${dict}?q=${encodeURIComponent('"><script>x</script>')}`);
  assert.ok(!q.includes("<script>x") && q.includes("&lt;script&gt;x"));
});

Deno.test("cleanup", async () => {
  await Deno.remove(runs, { recursive: true });
});
