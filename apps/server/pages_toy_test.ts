import assert from "node:assert/strict";
import { join } from "node:path";
import { makeDemoRun, type ToyJson } from "@saelab/runs";
import { toyChoiceRuleText } from "@saelab/report";
import { createApp, CSP, loadAssets } from "./mod.ts";

const CRAFTED = `untied_r1</td><script>alert("x")</script>`;

function toyJson(chosenTruth: number): ToyJson {
  const m = { kind: "untied", l0: 5, deadFraction: 0.05 };
  return {
    members: [
      { ...m, name: CRAFTED, ratio: 1, l1: 1e-3, mmcsTruth: chosenTruth, mmcsBetween: 0.81 },
      { ...m, name: "untied_r1_a1.0e-2", ratio: 1, l1: 1e-2, mmcsTruth: 0.7, mmcsBetween: 0.62 },
      { ...m, name: "untied_r2_a1.0e-3", ratio: 2, l1: 1e-3, mmcsTruth: 0.98, mmcsBetween: null },
      { ...m, name: "untied_r2_a1.0e-2", ratio: 2, l1: 1e-2, mmcsTruth: 0.91, mmcsBetween: null },
    ],
    chosen: CRAFTED,
    truthChance: [{ ratio: 1, value: 0.3631 }, { ratio: 2, value: 0.4081 }],
    betweenChance: [{ ratio: 1, value: 0.3517 }],
    toy: { d: 32, features: 64, meanActive: 5, decay: 0.99, correlated: false, seed: 0 },
    training: { steps: 1600, batchSize: 256, lr: 3e-3, vectors: 409_600, heldOutRows: 8192 },
    choose: { maxDead: 0.1, minL0: 1, maxL0Fraction: 0.5 },
  };
}

const runs = await Deno.makeTempDir({ prefix: "saelab-server-toy-" });
await makeDemoRun(runs, 1, { id: "toy" });
await makeDemoRun(runs, 2, { id: "plain" });
await makeDemoRun(runs, 3, { id: "low" });
await makeDemoRun(runs, 4, { id: "broken" });
await Deno.writeTextFile(join(runs, "toy", "toy.json"), JSON.stringify(toyJson(0.95)));
await Deno.writeTextFile(join(runs, "low", "toy.json"), JSON.stringify(toyJson(0.55)));
await Deno.writeTextFile(join(runs, "broken", "toy.json"), JSON.stringify({ ...toyJson(0.95), chosen: "nobody" }));
await makeDemoRun(runs, 5, { id: "kinds" });
const kindEntry = {
  chosenMmcsTruth: 0.7,
  chance: 0.3631,
  best: "untied_r2_a1.0e-3",
  bestMmcsTruth: 0.98,
  recovered: false,
  pickedWell: false,
};
await Deno.writeTextFile(
  join(runs, "kinds", "toy.json"),
  JSON.stringify({ ...toyJson(0.95), kinds: [{ ...kindEntry, kind: "untied", chosen: "untied_r1_a1.0e-2" }] }),
);
// A file as `toy` now writes it: live-latent MMCS, the larger dictionary's live latents, and the partners at R 4.
const partnerToy: ToyJson = {
  ...toyJson(0.95),
  members: toyJson(0.95).members.map((m) => ({
    ...m,
    mmcsBetween: m.mmcsBetween ?? (m.l1 === 1e-3 ? 0.93 : 0.88),
    mmcsBetweenAlive: m.l1 === 1e-3 ? 0.9712 : 0.9013,
    largerAlive: m.ratio === 1 ? 41 : m.l1 === 1e-3 ? 57 : 66,
  })),
  betweenChance: [{ ratio: 1, value: 0.3517 }, { ratio: 2, value: 0.3811 }],
  training: {
    ...toyJson(0.95).training,
    partner: {
      ratio: 4,
      truthChance: 0.4567,
      members: [
        {
          kind: "untied",
          name: "untied_r4_a1.0e-3",
          ratio: 4,
          l1: 1e-3,
          l0: 6.25,
          deadFraction: 0.5547,
          mmcsTruth: 0.9871,
        },
        {
          kind: "untied",
          name: "untied_r4_a1.0e-2",
          ratio: 4,
          l1: 1e-2,
          l0: 3.5,
          deadFraction: 0.4219,
          mmcsTruth: 0.8634,
        },
      ],
    },
  },
};
await makeDemoRun(runs, 6, { id: "partner" });
await Deno.writeTextFile(join(runs, "partner", "toy.json"), JSON.stringify(partnerToy));
await makeDemoRun(runs, 7, { id: "nopartner" });
await Deno.writeTextFile(
  join(runs, "nopartner", "toy.json"),
  JSON.stringify({ ...partnerToy, training: { ...partnerToy.training, partner: null } }),
);
globalThis.addEventListener("unload", () => Deno.removeSync(runs, { recursive: true }));

const { assets } = await loadAssets();
const app = createApp({ runsDir: runs, assets, cacheMs: 0 });
const page = async (path: string, status = 200) => {
  const res = await app.request(path);
  assert.equal(res.status, status, path);
  assert.match(res.headers.get("content-type") ?? "", /text\/html/, path);
  assert.equal(res.headers.get("content-security-policy"), CSP);
  return await res.text();
};
/** Text as the page escapes it. */
const escaped = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(
    /'/g,
    "&#39;",
  );
const json = async (path: string, status = 200) => {
  const res = await app.request(path);
  assert.equal(res.status, status, path);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/, path);
  return await res.json();
};

Deno.test("toy page: two charts, the members with chance levels, the chosen one marked, names escaped", async () => {
  const html = await page("/runs/toy/toy");
  assert.ok(html.startsWith("<!doctype html>"));
  assert.ok(!html.includes(`<script>alert`), "a member name reached the page unescaped");
  assert.ok(!html.includes(`</td><script`), "a member name reached the page unescaped");
  assert.ok(html.includes("untied_r1&lt;/td&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
  assert.ok(!/<script(?![^>]*(src="\/static\/|type="application\/json"))/.test(html), "inline script");
  assert.ok(html.includes(`id="chart-toy-truth"`) && html.includes(`id="chart-toy-between"`));
  assert.match(html, /<script src="\/static\/[^"]*vega/);
  // The specs carry the crafted name only in escaped JSON.
  const specs = [...html.matchAll(/<script type="application\/json" id="spec-[^"]+">([^]*?)<\/script>/g)];
  assert.equal(specs.length, 2);
  for (const [, text] of specs) assert.ok(JSON.parse(text).layer.length >= 2);
  assert.ok(JSON.parse(specs[0][1]).data.values.some((v: { member: string }) => v.member === CRAFTED));
  // Table: every member, the chosen one tagged, the chance levels of its R.
  const rows = [...html.matchAll(/<tr( class="chosen")?>\s*<td>/g)];
  assert.equal(rows.length, 4);
  assert.equal(rows.filter((r) => r[1]).length, 1);
  assert.match(
    html,
    /<tr class="chosen">\s*<td><code>untied_r1&lt;\/td&gt;[^<]*<\/code>\s*<span class="tag">chosen<\/span>/,
  );
  for (const c of ["0.363", "0.408", "0.352"]) assert.ok(html.includes(c), c);
  assert.ok(html.includes("0.950") && /\(chance 0\.363\)/.test(html));
  assert.doesNotMatch(html, /did not\s+recover/);
  assert.match(html, /Best by the ground truth:\s+<code>untied_r2_a1\.0e-3<\/code> \(0\.980\)/);
});

Deno.test("toy page: says plainly when the chosen member did not recover the features", async () => {
  assert.match(await page("/runs/low/toy"), /did not\s+recover the features/);
});

Deno.test("toy page: per kind, the chosen member against the best, and whether the choice picked well", async () => {
  const html = await page("/runs/kinds/toy");
  assert.match(html, /<h2>Per kind<\/h2>/);
  assert.match(html, /<td>untied<\/td>\s*<td><code>untied_r1_a1\.0e-2<\/code><\/td>\s*<td class="num">0\.700<\/td>/);
  assert.match(html, /not recovered; picked poorly/);
  assert.doesNotMatch(await page("/runs/toy/toy"), /Per kind/, "older files without kinds: no table");
});

Deno.test("toy page: the partners at their ratio, plainly a comparison only, and each member's larger live / size", async () => {
  const html = await page("/runs/partner/toy");
  assert.match(html, /<h2>Partners \(comparison only\)<\/h2>/);
  assert.match(html, /One dictionary per kind and α at R 4,/);
  assert.match(html, /a comparison only, not a candidate: the choice never picks one/);
  // Each partner with its own numbers, beside the largest member it was compared with.
  assert.match(
    html,
    /<td><code>untied_r4_a1\.0e-3<\/code><\/td>\s*<td>untied<\/td>\s*<td class="num">4<\/td>\s*<td class="num">1\.0e-3<\/td>\s*<td class="num">6\.25<\/td>\s*<td class="num">55\.5%<\/td>\s*<td class="num">0\.987<\/td>\s*<td class="num muted">0\.457<\/td>\s*<td><code>untied_r2_a1\.0e-3<\/code><\/td>/,
  );
  assert.match(
    html,
    /<td><code>untied_r4_a1\.0e-2<\/code><\/td>[^]*?<td class="num">0\.863<\/td>\s*<td class="num muted">0\.457<\/td>\s*<td><code>untied_r2_a1\.0e-2<\/code>/,
  );
  // The partners are not members: four member rows, as before.
  assert.equal([...html.matchAll(/<tr( class="chosen")?>\s*<td><code>untied_r4/g)].length, 2);
  assert.equal([...html.matchAll(/<tr( class="chosen")?>\s*<td>/g)].length, 4 + 2);
  // Members: between, live and larger live / size (size = R · d, d 32), as the terminal table prints them.
  assert.match(html, /<th[^>]*>between, live<\/th>\s*<th[^>]*>larger live \/ size<\/th>/);
  assert.match(html, /<td class="num">0\.901<\/td>\s*<td class="num">41\/32<\/td>\s*<\/tr>/);
  assert.match(html, /<td class="num">0\.971<\/td>\s*<td class="num">57\/64<\/td>\s*<\/tr>/);
  assert.match(html, /<td class="num">0\.901<\/td>\s*<td class="num">66\/64<\/td>\s*<\/tr>/);
  // The rule, in the words the terminal prints, with the spare-dead exception.
  const rule = toyChoiceRuleText(partnerToy.choose, { spareRecorded: true })!;
  assert.ok(html.includes(escaped(rule)), "the page's rule is the terminal's");
  assert.match(rule, /at most 10% dead latents unless they are spare \(larger live ≤ size/);
  assert.match(await page("/runs/nopartner/toy"), /No comparison-only partner dictionaries were trained/);
});

Deno.test("toy page: older files without partners or larger live still render, saying what is not recorded", async () => {
  const html = await page("/runs/toy/toy");
  assert.match(html, /Comparison-only partner dictionaries: not recorded in this toy\.json\./);
  assert.doesNotMatch(html, /Partners \(comparison only\)/);
  assert.match(html, /<td class="num">–<\/td>\s*<td class="num">–<\/td>\s*<\/tr>/, "no between, live nor larger live");
  assert.ok(html.includes(escaped(toyChoiceRuleText(toyJson(0.95).choose, { spareRecorded: false })!)));
  assert.match(html, /does not record larger live: no member&#39;s dead latents counted as spare/);
});

Deno.test("toy API: the file as written; 404 without toy.json; invalid files explained", async () => {
  assert.deepEqual(await json("/api/runs/toy/toy"), { run: "toy", status: "ok", toy: toyJson(0.95) });
  assert.deepEqual(await json("/api/runs/plain/toy", 404), { error: "toy.json of run plain not found" });
  assert.deepEqual(await json("/api/runs/nowhere/toy", 404), { error: "toy.json of run nowhere not found" });
  await page("/runs/plain/toy", 404);
  const broken = await json("/api/runs/broken/toy");
  assert.equal(broken.status, "invalid");
  assert.ok(broken.problems.some((p: string) => p.includes(`chosen "nobody" names no member`)), broken.problems);
  assert.match(await page("/runs/broken/toy"), /could not be read[^]*names no member/);
  assert.equal((await app.request("/api/runs/..%2Ftoy/toy")).status, 400);
});

Deno.test("run page: links to the toy page only when the run has toy.json", async () => {
  assert.ok((await page("/runs/toy")).includes(`href="/runs/toy/toy"`));
  assert.ok(!(await page("/runs/plain")).includes(`/runs/plain/toy`));
  const api = await json("/api/runs/toy");
  assert.equal(api.toy.status, "ok");
  assert.equal((await json("/api/runs/plain")).toy.status, "missing");
});
