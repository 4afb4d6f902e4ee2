import assert from "node:assert/strict";
import { join } from "node:path";
import { makeDemoRun } from "@saelab/runs";
import type { FeatureIndex, FeatureSummary } from "@saelab/runs";
import { createApp, CSP, findNodeModules, loadAssets, VENDOR_FILES } from "./mod.ts";

// One fixture folder for the file: a finished run, a run caught mid-training, a run folder without
// run.json, a broken run.json, a run with corrupt result files, and links that lead outside.
const runs = await Deno.makeTempDir({ prefix: "saelab-server-test-" });
const outside = await Deno.makeTempDir({ prefix: "saelab-outside-" });
await makeDemoRun(runs, 1, { id: "demo" });
await makeDemoRun(runs, 2, { id: "live", status: "running", created: new Date(Date.UTC(2025, 0, 2)) });
await Deno.mkdir(join(runs, "fresh"));
await Deno.mkdir(join(runs, "broken"));
await Deno.writeTextFile(join(runs, "broken", "run.json"), '{"format": 1, "id": "bro');
await makeDemoRun(runs, 3, { id: "corrupt" });
await Deno.writeTextFile(join(runs, "corrupt", "scores.json"), '{"dicts": {"x": {"mean": "high"}}}');
await Deno.writeTextFile(join(runs, "corrupt", "features", "pca", "index.json"), "[1, 2");
await Deno.writeTextFile(join(runs, "corrupt", "features", "ica", "3.json"), '{"dict": "ica"}');
await makeDemoRun(outside, 4, { id: "secret" });
await Deno.symlink(join(outside, "secret"), join(runs, "escape"));
await Deno.symlink(join(outside, "secret", "features", "pca"), join(runs, "demo", "features", "leak"));

const { assets } = await loadAssets();
const app = createApp({ runsDir: runs, assets, perPage: 20 });
const get = (path: string) => app.request(path);
const text = async (path: string, status = 200) => {
  const res = await get(path);
  assert.equal(res.status, status, path);
  return await res.text();
};
const json = async (path: string, status = 200) => {
  const res = await get(path);
  assert.equal(res.status, status, path);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/, path);
  return await res.json();
};
const readIndex = async (dict: string): Promise<FeatureIndex> =>
  JSON.parse(await Deno.readTextFile(join(runs, "demo", "features", dict, "index.json")));

Deno.test("every page answers 200 HTML with the security headers", async () => {
  const pages = [
    "/",
    "/runs/demo",
    "/runs/live",
    "/runs/demo/dicts/pca",
    "/runs/demo/dicts/r4_a3e-3?sort=density&order=asc&page=2",
    "/runs/demo/dicts/pca/features/3",
  ];
  for (const p of pages) {
    const res = await get(p);
    assert.equal(res.status, 200, p);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/);
    assert.equal(res.headers.get("content-security-policy"), CSP);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("x-frame-options"), "DENY");
    const html = await res.text();
    assert.ok(html.startsWith("<!doctype html>"), p);
    assert.ok(!/<script(?![^>]*(src="\/static\/|type="application\/json"))/.test(html), `${p} has an inline script`);
  }
  assert.match(CSP, /script-src 'self'/);
  assert.ok(!CSP.includes("unsafe"));
});

Deno.test("the runs index lists every readable run folder, newest first, links inside only", async () => {
  const html = await text("/");
  const ids = [...html.matchAll(/<a href="\/runs\/([^"]+)">/g)].map((m) => m[1]);
  assert.deepEqual(ids, ["live", "corrupt", "demo", "broken", "fresh"]);
  const api = await json("/api/runs");
  assert.deepEqual(api.runs.map((r: { id: string }) => r.id), ids);
  assert.equal(api.runs.find((r: { id: string }) => r.id === "fresh").readable, "pending");
});

Deno.test("the run page shows every chart, table and the scoring backend", async () => {
  const html = await text("/runs/demo");
  for (const id of ["curves", "frontier", "dead", "mmcs", "methods", "patch", "circuits"]) {
    assert.ok(html.includes(`id="chart-${id}"`), id);
    assert.ok(html.includes(`<script type="application/json" id="spec-${id}">`), id);
  }
  assert.ok(html.includes("Synthetic run."));
  assert.ok(html.includes('table class="data metrics"') && html.includes('table class="data spliced"'));
  assert.ok(html.includes("explainer backend") && html.includes("<code>synthetic</code>"));
  assert.ok(html.includes('href="/runs/demo/dicts/r4_a3e-3"'));
  const api = await json("/api/runs/demo");
  assert.equal(api.summary.run.status, "done");
  assert.equal(api.metrics.rows.length, 9 * 24);
  assert.equal(api.dicts.length, 13);
  assert.equal(api.scores.status, "ok");
  assert.equal(api.patch.status, "ok");
  assert.equal(api.circuits.status, "ok");
});

Deno.test("runs still being written are shown as such, never as errors", async () => {
  const live = await text("/runs/live");
  assert.ok(live.includes("In progress.") && live.includes("600 / 1200 steps"));
  assert.ok(live.includes("Not scored yet.") && live.includes("No member has been evaluated yet."));
  assert.ok(live.includes(`id="chart-curves"`));
  // Members not evaluated yet still show R and α, read from their cfg.json.
  const firstRow = live.match(/<table class="data metrics">.*?<tbody><tr>(.*?)<\/tr>/)![1];
  assert.deepEqual([...firstRow.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1]).slice(0, 4), [
    "r1_a1e-3",
    "1",
    "1e-3",
    "550",
  ]);
  assert.ok(!live.includes(`id="chart-frontier"`));
  const api = await json("/api/runs/live");
  assert.equal(api.summary.run.status, "running");
  assert.equal(api.metrics.rows.length, 9 * 12);
  assert.equal(api.scores.status, "missing");
  assert.ok((await text("/runs/fresh")).includes("being created"));
  assert.equal((await json("/api/runs/fresh")).summary.readable, "pending");
  assert.ok((await text("/runs/broken")).includes("run.json could not be read"));
  assert.equal((await json("/api/runs/broken")).summary.readable, "invalid");
});

Deno.test("corrupt files are reported on the page and in the API with 200", async () => {
  const html = await text("/runs/corrupt");
  assert.ok(html.includes("<code>scores.json</code> could not be read"));
  assert.equal((await json("/api/runs/corrupt")).scores.status, "invalid");
  assert.ok((await text("/runs/corrupt/dicts/pca")).includes("Feature index unreadable"));
  assert.equal((await json("/api/runs/corrupt/dicts/pca")).status, "invalid");
  assert.ok((await text("/runs/corrupt/dicts/ica/features/3")).includes("Feature unreadable"));
  const f = await json("/api/runs/corrupt/dicts/ica/features/3");
  assert.equal(f.status, "invalid");
  assert.ok(f.problems.length > 0);
});

Deno.test("the feature browser sorts and paginates like an independent sort of index.json", async () => {
  const idx = await readIndex("r4_a3e-3");
  const cases: [string, (a: FeatureSummary, b: FeatureSummary) => number][] = [
    ["sort=score&order=desc", (a, b) => b.score! - a.score! || a.index - b.index],
    ["sort=density&order=asc", (a, b) => a.density - b.density || a.index - b.index],
    ["sort=maxActivation&order=desc", (a, b) => b.maxActivation - a.maxActivation || a.index - b.index],
    ["sort=index&order=desc", (a, b) => b.index - a.index],
  ];
  for (const [q, cmp] of cases) {
    const expected = [...idx.features].sort(cmp).map((f) => f.index);
    const got: number[] = [];
    for (let page = 1; page <= 4; page++) {
      const r = await json(`/api/runs/demo/dicts/r4_a3e-3?${q}&page=${page}`);
      assert.equal(r.pages, 4);
      assert.equal(r.total, 64);
      got.push(...r.features.map((f: FeatureSummary) => f.index));
    }
    assert.deepEqual(got, expected, q);
    const html = await text(`/runs/demo/dicts/r4_a3e-3?${q}&page=2`);
    const shown = [...html.matchAll(/>#(\d+)<\/a>(?: <span class="badge sampled"[^>]*>scored<\/span>)?<\/td>/g)]
      .map((m) => Number(m[1]));
    assert.deepEqual(shown, expected.slice(20, 40), q);
  }
  const def = await json("/api/runs/demo/dicts/pca");
  assert.equal(def.sort, "score");
  assert.equal(def.order, "desc");
  assert.equal((await json("/api/runs/demo/dicts/pca?page=99")).page, 1); // clamped into range
  assert.equal((await json("/api/runs/demo/dicts/r4_a3e-3?per=100")).features.length, 64);
});

Deno.test("the feature page and API carry fragments, histogram, logit effects and neighbours", async () => {
  const file = JSON.parse(await Deno.readTextFile(join(runs, "demo", "features", "pca", "3.json")));
  const api = await json("/api/runs/demo/dicts/pca/features/3");
  assert.deepEqual(api.feature, file);
  const html = await text("/runs/demo/dicts/pca/features/3");
  const scored = html.slice(0, html.indexOf('id="intervals"')); // the top and random fragments come first
  // each fragment is cut to 12 tokens either side of its first largest activation
  const shown = [...file.top, ...file.random].reduce((n: number, f: { acts: number[] }) => {
    const peak = f.acts.indexOf(Math.max(...f.acts));
    return n + Math.min(f.acts.length, peak + 13) - Math.max(0, peak - 12);
  }, 0);
  assert.ok(shown < (file.top.length + file.random.length) * 16, "some fragments are cut");
  assert.equal((scored.match(/<span class="tok a\d+( peak-tok)?"/g) ?? []).length, shown);
  // each fragment that fires is centred on its peak, which is outlined once
  const firing = [...file.top, ...file.random].filter((f: { acts: number[] }) => Math.max(...f.acts) > 0).length;
  assert.equal((scored.match(/ peak-tok"/g) ?? []).length, firing);
  assert.ok(html.includes(`id="chart-histogram"`));
  assert.ok(html.includes("promoted") && html.includes("suppressed"));
  for (const n of file.neighbours) assert.ok(html.includes(`href="/runs/demo/dicts/pca/features/${n.index}"`));
  assert.ok(
    html.includes(`href="/runs/demo/dicts/pca/features/2"`) && html.includes(`href="/runs/demo/dicts/pca/features/4"`),
  );
});

Deno.test("bad ids, traversal, encoded slashes and absolute paths answer 400 or 404", async () => {
  const cases: [string, number][] = [
    ["/runs/a%2Fb", 400],
    ["/runs/..%2F..%2Fetc", 400],
    ["/runs/%2Fetc%2Fpasswd", 400],
    ["/runs/%5C..%5Cx", 400],
    ["/runs/.hidden", 400],
    ["/runs/-x", 400],
    ["/runs/%00", 400],
    [`/runs/${"a".repeat(129)}`, 400],
    ["/runs/demo/dicts/..%2Fsaes", 400],
    ["/runs/demo/dicts/pca/features/abc", 400],
    ["/runs/demo/dicts/pca/features/-1", 400],
    ["/runs/demo/dicts/pca/features/1.5", 400],
    ["/runs/demo/dicts/pca/features/1e3", 400],
    ["/runs/demo/dicts/pca/features/9999999999", 400],
    ["/runs/demo/dicts/pca?sort=constructor", 400],
    ["/runs/demo/dicts/pca?order=sideways", 400],
    ["/runs/demo/dicts/pca?page=0", 400],
    ["/runs/demo/dicts/pca?per=5000", 400],
    ["/runs/nope", 404],
    ["/runs/demo/dicts/nope", 404],
    ["/runs/demo/dicts/pca/features/999", 404],
    ["/runs/demo/dicts/r1_a1e-3", 404], // a dictionary without harvested features
    ["/runs/escape", 404], // a link to a folder outside the runs folder
    ["/runs/demo/dicts/leak", 404], // a link inside a run that leads outside
    ["/runs/demo/dicts/leak/features/1", 404],
    ["/runs//etc/passwd", 404],
    ["/runs/%2e%2e/%2e%2e/etc/passwd", 404],
    ["/static/../deno.json", 404],
    ["/static/vendor%2F..%2F..%2Fdeno.json", 404],
    ["/static/vendor/vega.js", 404],
    ["/etc/passwd", 404],
  ];
  for (const [path, status] of cases) {
    for (const p of [path, path.replace(/^\/runs\//, "/api/runs/")]) {
      if (p.startsWith("/static") && p !== path) continue;
      const res = await get(p);
      assert.equal(res.status, status, p);
      const body = await res.text();
      assert.ok(!body.includes("    at "), `${p} leaks a stack trace`);
      assert.ok(!body.includes(outside), `${p} leaks a path`);
      // Dot segments are resolved before routing: /api/runs/%2e%2e/%2e%2e/x is the page /x.
      if (new URL(p, "http://h").pathname.startsWith("/api/")) assert.ok(typeof JSON.parse(body).error === "string", p);
    }
  }
  assert.ok(!(await text("/")).includes("escape"));
});

Deno.test("vega bundles come from node_modules byte for byte", async () => {
  const nm = findNodeModules(Deno.cwd());
  assert.ok(nm, "node_modules with vega");
  for (const [name, rel] of Object.entries(VENDOR_FILES)) {
    const res = await get(`/static/vendor/${name}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /javascript/);
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), await Deno.readFile(join(nm!, rel)));
  }
  for (const own of ["app.js", "style.css", "favicon.svg"]) assert.equal((await get(`/static/${own}`)).status, 200);
  const page = await text("/runs/demo");
  for (const name of Object.keys(VENDOR_FILES)) assert.ok(page.includes(`src="/static/vendor/${name}"`));
});

Deno.test("assets load on first use when not given", async () => {
  const lazy = createApp({ runsDir: runs });
  const res = await lazy.request("/static/app.js");
  assert.equal(res.status, 200);
  assert.ok((await res.text()).includes("vegaEmbed"));
});

Deno.test("answers are reused for cacheMs, with headers, and failures are never cached", async () => {
  let t = 0;
  const dir = await Deno.makeTempDir();
  try {
    await makeDemoRun(dir, 9, { id: "r", status: "running" });
    const cached = createApp({ runsDir: dir, assets, cacheMs: 1000, now: () => t });
    const status = async () => (await (await cached.request("/api/runs/r")).json()).summary.run.status;
    assert.equal(await status(), "running");
    const file = join(dir, "r", "run.json");
    const run = JSON.parse(await Deno.readTextFile(file));
    await Deno.writeTextFile(file, JSON.stringify({ ...run, status: "done" }));
    t = 999;
    assert.equal(await status(), "running");
    const res = await cached.request("/api/runs/r");
    assert.equal(res.headers.get("content-security-policy"), CSP);
    await res.body?.cancel();
    t = 1000;
    assert.equal(await status(), "done");
    assert.equal((await cached.request("/api/runs/later")).status, 404);
    await makeDemoRun(dir, 9, { id: "later", status: "running" });
    assert.equal((await cached.request("/api/runs/later")).status, 200);
    // Concurrent requests for one URL all get the same complete answer.
    t = 5000;
    const bodies = await Promise.all(
      Array.from({ length: 20 }, async () => await (await cached.request("/runs/r")).text()),
    );
    assert.ok(bodies.every((b) => b === bodies[0] && b.includes("</html>")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("crafted names, explanations and tokens are escaped on every page that shows them", async () => {
  const evil = `<script>alert("x")</script> & 'q' </script><!--`;
  const escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39; &lt;/script&gt;&lt;!--";
  const dir = await Deno.makeTempDir({ prefix: "saelab-crafted-" });
  // deno-lint-ignore no-explicit-any
  const edit = async (path: string, change: (value: any) => void) => {
    const file = join(dir, "crafted", path);
    const value = JSON.parse(await Deno.readTextFile(file));
    change(value);
    await Deno.writeTextFile(file, JSON.stringify(value));
  };
  try {
    await makeDemoRun(dir, 5, { id: "crafted" });
    await edit("run.json", (r) => {
      Object.assign(r.model, { name: evil, note: evil, path: evil });
      Object.assign(r, { status: "failed", hook: evil, error: evil });
      Object.assign(r.stages.train, { status: "running", error: evil, unit: evil, done: 3, total: 10 });
    });
    await edit("scores.json", (s) => {
      for (const d of Object.values(s.dicts) as object[]) {
        Object.assign(d, { backend: evil, method: evil });
      }
    });
    await edit("features/pca/index.json", (i) => {
      Object.assign(i, { backend: evil, method: evil });
      for (const f of i.features) f.explanation = evil;
    });
    await edit("features/pca/3.json", (f) => {
      Object.assign(f, { explanation: evil, backend: evil });
      f.top[0].tokens[0] = evil;
      f.top[0].doc = evil;
      f.logits.positive[0].token = evil;
    });
    const crafted = createApp({ runsDir: dir, assets });
    // Each page and how many times it shows the crafted text at least.
    const pages: [string, number][] = [
      ["/", 1], // model name
      ["/runs/crafted", 9], // model name, note, path, hook, failure, stage error and unit, backend, method
      ["/runs/crafted/dicts/pca", 3], // method, backend, explanations
      ["/runs/crafted/dicts/pca/features/3", 4], // explanation, backend, token, fragment source
      ["/runs/crafted/dicts/pca/features/2", 1], // a neighbour's explanation
    ];
    for (const [path, least] of pages) {
      const res = await crafted.request(path);
      assert.equal(res.status, 200, path);
      const html = await res.text();
      assert.ok(html.split(escaped).length - 1 >= least, `${path} shows the crafted text fewer than ${least} times`);
      assert.ok(!html.includes("<script>alert") && !html.includes("<!--"), path);
      // Outside JSON blocks (where quotes are plain JSON text) quotes are character references.
      const markupOnly = html.replace(/<script type="application\/json"[^>]*>.*?<\/script>/gs, "");
      assert.ok(!markupOnly.includes(`'q'`) && !markupOnly.includes(`alert("x")`), path);
      const opened = (html.match(/<script/g) ?? []).length, closed = (html.match(/<\/script>/g) ?? []).length;
      assert.equal(opened, closed, `${path}: a crafted value closed a script block`);
    }
    // Inside chart specifications the text is JSON with \u escapes, and parses back unchanged.
    const run = await (await crafted.request("/runs/crafted")).text();
    const spec = run.match(/<script type="application\/json" id="spec-methods">(.*?)<\/script>/)![1];
    assert.ok(JSON.stringify(JSON.parse(spec)).includes(JSON.stringify(evil).slice(1, -1)));
    // The token shows in the logit table as its text, escaped, with its JSON form (escaped) as the title.
    const feature = await (await crafted.request("/runs/crafted/dicts/pca/features/3")).text();
    assert.ok(feature.includes(`<code class="token" title="&quot;&lt;script&gt;alert(\\&quot;x\\&quot;)`));
    assert.ok(feature.includes(`&lt;!--&quot;">${escaped}</code>`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "cleanup",
  fn: async () => {
    await Deno.remove(runs, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  },
});
