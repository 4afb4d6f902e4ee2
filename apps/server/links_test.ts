import assert from "node:assert/strict";
import { join } from "node:path";
import { makeDemoRun } from "@saelab/runs";
import type { CircuitsJson, FeatureIndex } from "@saelab/runs";
import { openSafetensors } from "@saelab/safetensors";
import { createApp, loadAssets } from "./mod.ts";

// A finished run whose member r4_a3e-3 (d_sae 64) keeps detail files only for every fourth feature,
// as a scoring sample leaves it (the index still summarises all, and the atlas covers all), and whose circuit has a node on a companion SAE (circuits/L0_comp)
// and one on a dictionary the run does not have.
const runs = await Deno.makeTempDir({ prefix: "saelab-links-test-" });
await makeDemoRun(runs, 7, { id: "sampled" });
const run = join(runs, "sampled");
const dict = "r4_a3e-3";
const indexPath = join(run, "features", dict, "index.json");
const index: FeatureIndex = JSON.parse(await Deno.readTextFile(indexPath));
const kept = new Set(index.features.filter((f) => f.index % 4 === 0).map((f) => f.index));
for (const f of index.features) {
  if (!kept.has(f.index)) await Deno.remove(join(run, "features", dict, `${f.index}.json`));
}
await Deno.writeTextFile(
  indexPath,
  JSON.stringify({ ...index, sampled: [...kept] }),
);
await Deno.mkdir(join(run, "circuits", "L0_comp"), { recursive: true });
await Deno.copyFile(join(run, "saes", "r1_a1e-3", "cfg.json"), join(run, "circuits", "L0_comp", "cfg.json"));
const circuitsPath = join(run, "circuits.json");
const circuits: CircuitsJson = JSON.parse(await Deno.readTextFile(circuitsPath));
circuits.nodes.push(
  { id: "L0/L0_comp/3", layer: 0, dict: "L0_comp", feature: 3, label: "companion" },
  { id: "L0/gone/5", layer: 0, dict: "gone", feature: 5, label: "no such dictionary" },
);
await Deno.writeTextFile(circuitsPath, JSON.stringify(circuits));

const { assets } = await loadAssets();
const app = createApp({ runsDir: runs, assets, perPage: 25 });

const unescape = (s: string) =>
  s.replaceAll("&amp;", "&").replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">");

/** Internal links of a page: `href` attributes and the `url` fields of chart specifications. */
function linksOf(html: string): string[] {
  const hrefs = [...html.matchAll(/\bhref="([^"]*)"/g)].map((m) => unescape(m[1]));
  const specUrls = [...html.matchAll(/"url":"(\/[^"]*)"/g)].map((m) => m[1]);
  return [...hrefs, ...specUrls].filter((h) => h.startsWith("/") && !h.startsWith("//"));
}

Deno.test("a crawl from / follows every internal link of every page, chart links included, and none fails", async () => {
  // Members without harvested features are reached through their MMCS partners: start there too.
  const starts = ["/", "/runs/sampled/dicts/r1_a3e-3/features/0"];
  const seen = new Set<string>(starts);
  const queue = [...starts];
  const failures: string[] = [];
  const from = new Map<string, string>();
  while (queue.length) {
    const path = queue.shift()!;
    const res = await app.request(path);
    if (res.status !== 200) failures.push(`${path} → ${res.status} (linked from ${from.get(path)})`);
    if (!(res.headers.get("content-type") ?? "").includes("text/html")) {
      await res.body?.cancel();
      continue;
    }
    for (const link of linksOf(await res.text())) {
      if (seen.has(link)) continue;
      seen.add(link), from.set(link, path), queue.push(link);
      assert.ok(seen.size < 20_000, "the crawl does not end");
    }
  }
  assert.deepEqual(failures, []);
  assert.ok(seen.size > 200, `only ${seen.size} links`);
  // The crawl reached sampled and unsampled features, the companion's feature and the circuit links.
  for (const f of [0, 1, 63]) assert.ok(seen.has(`/runs/sampled/dicts/${dict}/features/${f}`), `#${f} linked`);
  assert.ok(seen.has("/runs/sampled/dicts/L0_comp/features/3"));
  assert.ok([...seen].some((p) => p.startsWith("/runs/sampled/dicts/r2_a3e-3/features/")), "r1 → r2 partner");
  assert.ok(![...seen].some((s) => s.includes("/dicts/gone/")), "a node on a missing dictionary is not linked");
});

Deno.test("every feature index below d_sae answers 200 on the page and the API; d_sae and above 404", async () => {
  for (let i = 0; i < 64; i++) {
    const page = await app.request(`/runs/sampled/dicts/${dict}/features/${i}`);
    assert.equal(page.status, 200, `page ${i}`);
    const html = await page.text();
    assert.equal(html.includes("not sampled"), !kept.has(i), `page ${i} says whether it was sampled`);
    const api = await app.request(`/api/runs/sampled/dicts/${dict}/features/${i}`);
    assert.equal(api.status, 200, `api ${i}`);
    const body = await api.json();
    assert.equal(body.status, kept.has(i) ? "ok" : "not-sampled", `api ${i}`);
    if (!kept.has(i)) assert.equal(body.d_sae, 64);
  }
  for (const path of [`/runs/sampled/dicts/${dict}/features/64`, `/api/runs/sampled/dicts/${dict}/features/64`]) {
    const res = await app.request(path);
    assert.equal(res.status, 404, path);
    await res.body?.cancel();
  }
  // A companion answers up to its own d_sae (16); a dictionary the run lacks answers 404.
  assert.equal((await app.request("/runs/sampled/dicts/L0_comp/features/15")).status, 200);
  assert.equal((await app.request("/runs/sampled/dicts/L0_comp/features/16")).status, 404);
  assert.equal((await app.request("/runs/sampled/dicts/gone/features/5")).status, 404);
});

Deno.test("prev/next step over every index in range, with jumps to the nearest sampled features", async () => {
  const html = await (await app.request(`/runs/sampled/dicts/${dict}/features/5`)).text();
  const nav = html.match(/<span class="featnav">(.*?)<\/span>/s)?.[1] ?? "";
  const targets = [...nav.matchAll(/href="([^"]+)"/g)].map((m) => Number(m[1].split("/").at(-1)));
  assert.deepEqual(targets, [4, 6, 8]);
  const first = await (await app.request(`/runs/sampled/dicts/${dict}/features/0`)).text();
  assert.ok(!first.includes('rel="prev"') && first.includes('rel="next"'));
  const last = await (await app.request(`/runs/sampled/dicts/${dict}/features/63`)).text();
  assert.ok(last.includes('rel="prev"') && !last.includes('rel="next"'));
  // The browser lists every feature and says which were sampled.
  const browser = await (await app.request(`/runs/sampled/dicts/${dict}`)).text();
  assert.match(browser, /the 16 marked\s+<span class="badge sampled">scored<\/span> were sampled/);
  const all = await (await app.request(`/runs/sampled/dicts/${dict}?per=100`)).text();
  assert.equal((all.match(/ class="badge sampled" title/g) ?? []).length, 16);
  // Breadcrumbs: a companion has no browser, so its crumb is text, not a link.
  const comp = await (await app.request("/runs/sampled/dicts/L0_comp/features/3")).text();
  assert.match(comp, /<nav class="crumbs">.*<a href="\/runs\/sampled">sampled<\/a>.*L0_comp.*#3/s);
  assert.ok(!comp.includes('href="/runs/sampled/dicts/L0_comp"'));
});

/** W_dec of a member as float64 rows, read independently of the server. */
async function decoder64(member: string): Promise<number[][]> {
  using f = await openSafetensors(join(run, "saes", member, "sae_weights.safetensors"));
  const [n, d] = f.info("W_dec").shape;
  const w = await f.getFloat32("W_dec");
  return [...Array(n)].map((_, i) => Array.from(w.subarray(i * d, (i + 1) * d), Number));
}
const cos64 = (a: number[], b: number[]) => {
  let ab = 0, aa = 0, bb = 0;
  for (let k = 0; k < a.length; k++) ab += a[k] * b[k], aa += a[k] * a[k], bb += b[k] * b[k];
  return ab / Math.sqrt(aa * bb);
};

Deno.test("the MMCS partner and a not-sampled feature's neighbours match a float64 computation", async () => {
  const small = await decoder64("r2_a3e-3"), large = await decoder64("r4_a3e-3");
  for (const i of [0, 7, 31]) {
    const html = await (await app.request(`/runs/sampled/dicts/r2_a3e-3/features/${i}`)).text();
    const m = html.match(
      /MMCS partner.*?href="\/runs\/sampled\/dicts\/r4_a3e-3\/features\/(\d+)">#\d+<\/a>, decoder cosine (-?\d+\.\d+)/s,
    );
    assert.ok(m, `feature ${i} names its partner`);
    const cosines = large.map((row) => cos64(small[i], row));
    const best = cosines.indexOf(Math.max(...cosines));
    assert.equal(Number(m[1]), best, `feature ${i}`);
    assert.ok(Math.abs(Number(m[2]) - cosines[best]) < 1e-3, `feature ${i}: ${m[2]} vs ${cosines[best]}`);
  }
  // Neighbours on a not-sampled page: the 5 most similar other rows of its own decoder.
  const html = await (await app.request(`/runs/sampled/dicts/${dict}/features/5`)).text();
  const section = html.split("Nearest features by decoder cosine")[1] ?? "";
  const shown = [...section.matchAll(/features\/(\d+)">#/g)].slice(0, 5).map((x) => Number(x[1]));
  const expected = large.map((row, j) => ({ j, c: cos64(large[5], row) })).filter((x) => x.j !== 5)
    .sort((a, b) => b.c - a.c).slice(0, 5).map((x) => x.j);
  assert.deepEqual(shown, expected);
});
