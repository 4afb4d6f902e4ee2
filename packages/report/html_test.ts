import assert from "node:assert/strict";
import type { FeatureSummary } from "@saelab/runs";
import {
  chartHtml,
  featureTableHtml,
  fragmentsHtml,
  joinHtml,
  markup,
  metricsTableHtml,
  pageHtml,
  paginate,
  paginationHtml,
  runsTableHtml,
  scriptJson,
  shadedTokensHtml,
  sortFeatures,
  splicedLossTableHtml,
  statusBadge,
  tableHtml,
} from "./mod.ts";
import { saeEval } from "./_eval_for_tests.ts";

Deno.test("markup escapes interpolated text and scriptJson neutralises markup", () => {
  assert.equal(
    String(markup`${`<img src=x onerror="a('b')">&`}`),
    "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;",
  );
  // Fragments built by the tag pass through once; everything else is text.
  assert.equal(
    String(markup`<p>${markup`<b>${"<"}</b>`}${[markup`<i></i>`, "&"]}${false}${null}${2}</p>`),
    "<p><b>&lt;</b><i></i>&amp;2</p>",
  );
  assert.equal(String(joinHtml([markup`<i>a</i>`, markup`<i>b</i>`], "<br>")), "<i>a</i>&lt;br&gt;<i>b</i>");
  assert.throws(() => markup`${Promise.resolve("x")}`, TypeError);
  const value = { s: "</script><script>alert(1)</script>", t: "a\u2028b&", n: [1, 2] };
  const text = scriptJson(value);
  assert.ok(!text.includes("<") && !text.includes(">") && !text.includes("&") && !text.includes("\u2028"));
  assert.deepEqual(JSON.parse(text), value);
});

Deno.test("chartHtml pairs a container with its JSON spec and refuses odd ids", () => {
  const html = String(chartHtml("frontier", { description: "</script>" }, { title: "A <b>", caption: "c" }));
  assert.match(html, /<div class="chart" id="chart-frontier" data-spec="spec-frontier"/);
  assert.match(
    html,
    /<script type="application\/json" id="spec-frontier">\{"description":"\\u003c\/script\\u003e"\}<\/script>/,
  );
  assert.match(html, /<h3>A &lt;b&gt;<\/h3>/);
  assert.throws(() => chartHtml("a b", {}), TypeError);
  assert.throws(() => chartHtml('x"', {}), TypeError);
});

Deno.test("shadedTokensHtml maps activations to ten levels and escapes tokens", () => {
  const html = shadedTokensHtml({ tokens: [" <b>", "\n", " x", " y"], acts: [0, 0.01, 1, 2] }, { max: 2 });
  const levels = [...html.matchAll(/class="tok a(\d+)"/g)].map((m) => Number(m[1]));
  assert.deepEqual(levels, [0, 1, 5, 10]);
  assert.ok(html.includes(" &lt;b&gt;</span>"));
  assert.ok(html.includes(">↵</span>"));
  assert.ok(html.includes('data-act="2.000"'));
  assert.ok(html.includes('title="&quot; x&quot; → 1.000"'));
  // Without a positive max, the fragment's own peak is used.
  assert.match(String(shadedTokensHtml({ tokens: ["a"], acts: [3] }, { max: 0 })), /a10/);
  assert.match(
    String(fragmentsHtml([{ tokens: ["a", "b"], acts: [0, 4], doc: "d1", start: 7 }], { max: 4 })),
    /class="peak" title="d1 @7">4</,
  );
});

Deno.test("tables: empty text, numeric alignment, badges", () => {
  assert.equal(String(tableHtml([], { columns: [], empty: "none <yet>" })), `<p class="empty">none &lt;yet&gt;</p>`);
  const t = tableHtml([{ v: 1 }], { columns: [{ label: "v", cell: (r) => String(r.v), numeric: true, help: "h" }] });
  assert.ok(t.includes(`<th class="num" title="h">v</th>`) && t.includes(`<td class="num">1</td>`));
  assert.equal(String(statusBadge("done")), `<span class="badge st-done">done</span>`);
  assert.equal(String(statusBadge("<x>")), `<span class="badge st-unknown">&lt;x&gt;</span>`);
  // Plain cell text is escaped; cells built with markup pass through.
  const cells = tableHtml([{ v: "<b>" }], {
    columns: [{ label: "a", cell: (r) => r.v }, { label: "b", cell: (r) => markup`<i>${r.v}</i>` }],
  });
  assert.ok(cells.includes("<td>&lt;b&gt;</td><td><i>&lt;b&gt;</i></td>"));
  const runs = runsTableHtml([{ id: "r<1", href: "/runs/r", run: null, readable: "invalid", members: 2 }]);
  assert.ok(runs.includes("r&lt;1") && runs.includes("unreadable"));
});

Deno.test("metrics and spliced-loss tables join rows and evaluations", () => {
  const html = metricsTableHtml(
    [{ member: "m1", step: 3, loss: 0.25, mse: 0.2, l0: 5 }, { member: "m1", step: 9, loss: 0.125, mse: 0.1, l0: 4 }],
    [{
      name: "m1",
      eval: saeEval({ dSae: 16, l1Coefficient: 0.003, fvu: 0.05, l0: 4.5, deadFraction: 0.25 }),
    }],
  );
  const cells = [...html.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1]);
  assert.deepEqual(cells, ["m1", "4", "3e-3", "9", "0.125", "0.1", "4", "0.05", "4.5", "25%", "–"]);
  const sp = splicedLossTableHtml([
    {
      name: "a",
      eval: saeEval({ fvu: 0, l0: 1, splicedLoss: { clean: 2, spliced: 2.5, zeroAblation: 4 } }),
    },
    { name: "b", eval: { kind: "baseline", method: "pca", dIn: 4, dSae: 4, fvu: 0, l0: 4, deadFraction: 0 } },
  ]);
  assert.ok(sp.includes(">75%<"));
  assert.ok(!sp.includes(">b<"));
});

Deno.test("sortFeatures puts unscored features last in both orders; paginate clamps", () => {
  const fs: FeatureSummary[] = [
    { index: 0, density: 0.1, maxActivation: 1, score: 0.2 },
    { index: 1, density: 0.2, maxActivation: 3 },
    { index: 2, density: 0.3, maxActivation: 2, score: 0.9 },
    { index: 3, density: 0.3, maxActivation: 2, score: 0.2 },
  ];
  assert.deepEqual(sortFeatures(fs, { sort: "score", order: "desc" }).map((f) => f.index), [2, 0, 3, 1]);
  assert.deepEqual(sortFeatures(fs, { sort: "score", order: "asc" }).map((f) => f.index), [0, 3, 2, 1]);
  assert.deepEqual(sortFeatures(fs, { sort: "maxActivation", order: "desc" }).map((f) => f.index), [1, 2, 3, 0]);
  assert.throws(() => sortFeatures(fs, { sort: "nope" as never, order: "asc" }), TypeError);
  const items = Array.from({ length: 53 }, (_, i) => i);
  assert.deepEqual(paginate(items, { page: 3, perPage: 25 }), {
    items: [50, 51, 52],
    page: 3,
    pages: 3,
    perPage: 25,
    total: 53,
  });
  assert.equal(paginate(items, { page: 99, perPage: 25 }).page, 3);
  assert.equal(paginate(items, { page: -4, perPage: 25 }).page, 1);
  assert.equal(paginate([], { page: 1, perPage: 25 }).pages, 1);
  assert.equal(paginate(items, { page: 1, perPage: 0 }).perPage, 1);
});

Deno.test("feature table headers flip the active order; pagination shows a window", () => {
  const page = paginate<FeatureSummary>([{ index: 4, density: 0.5, maxActivation: 2, explanation: "<i>" }], {
    page: 1,
    perPage: 10,
  });
  const html = featureTableHtml(page, {
    sort: "score",
    order: "desc",
    links: { feature: (i) => `/f/${i}`, sort: (k, o) => `?sort=${k}&order=${o}` },
  });
  assert.ok(html.includes(`href="?sort=score&amp;order=asc">score ▼</a>`));
  assert.ok(html.includes(`href="?sort=density&amp;order=desc">density</a>`));
  assert.ok(html.includes(`href="?sort=index&amp;order=asc">feature</a>`));
  assert.ok(html.includes(`<a href="/f/4">#4</a>`) && html.includes("&lt;i&gt;"));
  const nav = paginationHtml({ page: 6, pages: 12 }, { href: (n) => `?page=${n}` });
  const nums = [...nav.matchAll(/>(\d+)<\/a>/g)].map((m) => Number(m[1]));
  assert.deepEqual(nums, [1, 4, 5, 6, 7, 8, 12]);
  assert.equal((nav.match(/…/g) ?? []).length, 2);
  assert.ok(nav.includes(`aria-current="page">6<`));
});

Deno.test("pageHtml has no inline script or style and loads chart scripts only when asked", () => {
  const plain = pageHtml(markup`<p>x</p>`, { title: "T <1>", crumbs: [["runs", "/"], ["a"]] });
  assert.ok(plain.includes("<title>T &lt;1&gt; · SAE Lab</title>"));
  assert.ok(!plain.includes("<script"));
  const charted = pageHtml(chartHtml("c", {}), { title: "T", charts: true });
  const scripts = [...charted.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
  for (const attrs of scripts) {
    assert.ok(/src="\/static\//.test(attrs) || attrs.includes('type="application/json"'), attrs);
  }
  assert.ok(!/\sstyle=/.test(charted));
  assert.ok(charted.indexOf("vega.min.js") < charted.indexOf("vega-lite.min.js"));
  assert.ok(charted.indexOf("vega-embed.min.js") < charted.indexOf("app.js"));
});
