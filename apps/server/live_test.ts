import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeDemoRun } from "@saelab/runs";
import { loadDictionary, payloadSha256, writeSaeLens } from "@saelab/dictionary";
import { parseSafetensors } from "@saelab/safetensors/portable";
import { createApp, CSP } from "./mod.ts";
import { loadLiveDict } from "./live/load.ts";
import type { LiveConfig } from "./live/config.ts";

// A demo run whose run.json names a model folder, and one that names none.
const MODEL = fileURLToPath(new URL("../../fixtures/models/sotu-neox", import.meta.url));
const runs = await Deno.makeTempDir({ prefix: "saelab-live-test-" });
await makeDemoRun(runs, 1, { id: "demo" });
await makeDemoRun(runs, 2, { id: "nomodel" });
const runJson = join(runs, "demo", "run.json");
const run = JSON.parse(await Deno.readTextFile(runJson));
await Deno.writeTextFile(runJson, JSON.stringify({ ...run, model: { ...run.model, path: MODEL } }));

// A member carrying the SHA-256 of its payload, as the sweep writes them.
const signed = {
  W_enc: Float32Array.from({ length: 16 * 32 }, (_, i) => Math.sin(i)),
  b_enc: new Float32Array(32).fill(0.1),
  W_dec: Float32Array.from({ length: 32 * 16 }, (_, i) => Math.cos(i)),
  b_dec: new Float32Array(16),
};
await writeSaeLens(join(runs, "demo", "saes", "signed"), signed, {
  cfg: { d_in: 16, d_sae: 32, architecture: "standard" },
  metadata: { saelab_sha256: payloadSha256(signed) },
});

const app = createApp({ runsDir: runs });
const fetchApp = async (url: string, init?: RequestInit) => await app.request(url, init);

async function liveConfig(path: string): Promise<{ config: LiveConfig; html: string; res: Response }> {
  const res = await app.request(path);
  const html = await res.text();
  assert.equal(res.status, 200, `${path}: ${html.slice(0, 400)}`);
  const m = /<script type="application\/json" id="live-config">(.*?)<\/script>/s.exec(html);
  assert.ok(m, "the page carries its configuration");
  return { config: JSON.parse(m[1]), html, res };
}

Deno.test("the live page carries its configuration and one same-origin script, under the strict CSP", async () => {
  const { config, html, res } = await liveConfig("/runs/demo/live?dict=pca&text=%3C%2Fscript%3E%20hi&feature=3");
  assert.equal(res.headers.get("content-security-policy"), CSP);
  assert.doesNotMatch(CSP, /unsafe-eval|wasm-unsafe-eval|unsafe-inline/);
  assert.equal(config.run, "demo");
  assert.equal(config.dict, "pca");
  assert.equal(config.text, "</script> hi", "the text survives the trip through the page");
  assert.equal(config.feature, 3);
  assert.equal(config.hook, run.hook);
  assert.ok(config.dicts.some((d) => d.name === "r4_a3e-3" && d.kind === "sae"));
  assert.equal(config.dicts.find((d) => d.name === "pca")?.features, "/runs/demo/dicts/pca/features/");
  assert.equal(config.model.weights.size, (await Deno.stat(join(MODEL, "model.safetensors"))).size);
  const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
  assert.equal(scripts.length, 2);
  assert.match(scripts[0], /type="application\/json"/);
  assert.match(scripts[1], /^ type="module" src="\/live\/live\.[0-9a-f]{16}\.js"$/);
  const src = /src="([^"]+)"/.exec(scripts[1])![1];
  const js = await app.request(src);
  assert.equal(js.status, 200);
  assert.match(js.headers.get("content-type") ?? "", /text\/javascript/);
  assert.equal(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
  const body = await js.text();
  assert.ok(body.length > 10_000 && !/\bfrom\s*["']|import\(/.test(body), "one self-contained script");
  assert.equal((await app.request("/live/live.0000000000000000.js")).status, 404);
});

Deno.test("model and dictionary files answer ranges, tags and cache headers", async () => {
  const { config } = await liveConfig("/runs/demo/live");
  const url = config.model.weights.url;
  const bytes = await Deno.readFile(join(MODEL, "model.safetensors"));

  const whole = await app.request(url);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get("accept-ranges"), "bytes");
  assert.equal(whole.headers.get("cache-control"), "public, max-age=86400");
  assert.equal(whole.headers.get("content-length"), String(bytes.length));
  assert.deepEqual(new Uint8Array(await whole.arrayBuffer()), bytes);
  const etag = whole.headers.get("etag")!;
  assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);

  const part = await app.request(url, { headers: { Range: "bytes=8-107" } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get("content-range"), `bytes 8-107/${bytes.length}`);
  assert.deepEqual(new Uint8Array(await part.arrayBuffer()), bytes.subarray(8, 108));
  const tail = await app.request(url, { headers: { Range: "bytes=-16" } });
  assert.equal(tail.status, 206);
  assert.deepEqual(new Uint8Array(await tail.arrayBuffer()), bytes.subarray(bytes.length - 16));
  const open = await app.request(url, { headers: { Range: `bytes=${bytes.length - 3}-` } });
  assert.deepEqual(new Uint8Array(await open.arrayBuffer()), bytes.subarray(bytes.length - 3));

  const beyond = await app.request(url, { headers: { Range: `bytes=${bytes.length}-` } });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers.get("content-range"), `bytes */${bytes.length}`);
  const stale = await app.request(url, { headers: { Range: "bytes=0-9", "If-Range": '"other"' } });
  assert.equal(stale.status, 200, "If-Range with another tag gets the whole file");
  await stale.body?.cancel();

  const same = await app.request(url, { headers: { "If-None-Match": etag } });
  assert.equal(same.status, 304);
  assert.equal(same.headers.get("etag"), etag);
  const head = await app.request(url, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), String(bytes.length));

  const tok = await app.request(config.model.tokenizer);
  assert.equal(tok.status, 200);
  assert.match(tok.headers.get("content-type") ?? "", /application\/json/);
  assert.ok((await tok.json()).model);
  const dict = config.dicts.find((d) => d.name === "r4_a3e-3")!;
  const cfg = await app.request(dict.cfg);
  assert.equal((await cfg.json()).d_sae, dict.size);
  const w = await app.request(dict.weights.url, { headers: { Range: "bytes=0-7" } });
  assert.equal(w.status, 206);
  assert.equal(new DataView(await w.arrayBuffer()).byteLength, 8);
});

Deno.test("the page's loader reads a dictionary over ranges as loadDictionary reads its folder", async () => {
  const { config } = await liveConfig("/runs/demo/live");
  for (const name of ["r4_a3e-3", "pca"]) {
    const entry = config.dicts.find((d) => d.name === name)!;
    const requests: string[] = [];
    const counting = (url: string, init?: RequestInit) => {
      requests.push(new Headers(init?.headers).get("range") ?? "whole");
      return fetchApp(url, init);
    };
    const live = await loadLiveDict(entry, { fetch: counting });
    const folder = entry.kind === "sae" ? "saes" : "baselines";
    const disk = await loadDictionary(join(runs, "demo", folder, name), { kind: entry.kind });
    assert.equal(live.name, disk.name);
    assert.equal(live.kind, disk.kind);
    assert.deepEqual(live.encoder, disk.encoder);
    assert.deepEqual(live.encoderBias, disk.encoderBias);
    assert.deepEqual(live.decoder, disk.decoder);
    assert.deepEqual(live.decoderBias, disk.decoderBias);
    assert.ok(requests.filter((r) => r.startsWith("bytes=")).length >= 3, `${name}: read by ranges`);
  }
});

Deno.test("a damaged dictionary is refused by the page's loader, naming the file", async () => {
  const { config } = await liveConfig("/runs/demo/live");
  const entry = config.dicts.find((d) => d.name === "signed")!;
  assert.deepEqual((await loadLiveDict(entry, { fetch: fetchApp })).decoder, signed.W_dec, "the intact file loads");
  const path = join(runs, "demo", "saes", entry.name, "sae_weights.safetensors");
  const original = await Deno.readFile(path);
  const file = parseSafetensors(original);
  const damaged = original.slice();
  damaged[file.dataStart + file.info("W_dec").dataOffsets[0]] ^= 1;
  await Deno.writeFile(path, damaged);
  try {
    await assert.rejects(() => loadLiveDict(entry, { fetch: fetchApp }), /sae_weights\.safetensors.*SHA-256/);
    await assert.rejects(() => loadDictionary(join(runs, "demo", "saes", "signed")), /SHA-256/, "as on disk");
  } finally {
    await Deno.writeFile(path, original);
  }
});

Deno.test("missing runs, dictionaries, model folders and files answer 404; bad names 400", async () => {
  const cases: [string, number][] = [
    ["/runs/nope/live", 404],
    ["/runs/nomodel/live", 404],
    ["/runs/demo/live?dict=nope", 404],
    ["/runs/demo/live?feature=x", 400],
    ["/live/runs/nope/model/config.json", 404],
    ["/live/runs/nomodel/model/config.json", 404],
    ["/live/runs/demo/model/MODEL_CARD.md", 404],
    ["/live/runs/demo/model/..", 404],
    ["/live/runs/demo/dicts/nope/cfg.json", 404],
    ["/live/runs/demo/dicts/pca/eval.json", 404],
    ["/live/runs/demo/dicts/..%2F..%2Fx/cfg.json", 400],
    ["/live/runs/bad%20id/model/config.json", 400],
  ];
  for (const [path, status] of cases) {
    const res = await app.request(path);
    assert.equal(res.status, status, path);
    await res.body?.cancel();
  }
});

Deno.test("the JSON API answers the page's configuration, and 404 as JSON", async () => {
  const { config } = await liveConfig("/runs/demo/live?dict=pca&text=hello");
  const res = await app.request("/api/runs/demo/live?dict=pca&text=hello");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), config);
  const missing = await app.request("/api/runs/demo/live?dict=nope");
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { error: "Dictionary nope of run demo not found" });
});

Deno.test("the run page links to the live page only when the run names its model folder", async () => {
  const linked = await (await app.request("/runs/demo")).text();
  assert.ok(linked.includes(`href="/runs/demo/live"`));
  const unlinked = await (await app.request("/runs/nomodel")).text();
  assert.ok(!unlinked.includes("/live"));
});
