import assert from "node:assert/strict";
import { join } from "node:path";
import { downloadModel, type DownloadProgress, parseConfig, randomWeights, resolveUrl, saveModel } from "./mod.ts";
import { serveHub } from "./_hub_fixture.ts";

const root = await Deno.makeTempDir({ prefix: "neox_hub_" });
const config = parseConfig({
  model_type: "gpt_neox",
  vocab_size: 211,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 64,
});
const weights = randomWeights(config, { seed: 9 });
await saveModel(join(root, "EleutherAI/tiny-neox"), config, weights);
await Deno.writeTextFile(join(root, "EleutherAI/tiny-neox/tokenizer.json"), JSON.stringify({ model: { type: "BPE" } }));
await saveModel(join(root, "acme/sharded"), config, weights, { maxShardBytes: 40_000 });
await Deno.copyFile(join(root, "EleutherAI/tiny-neox/tokenizer.json"), join(root, "acme/sharded/tokenizer.json"));

/** Run `fn` against a hub serving `root` and a fresh download folder; both are closed and removed after. */
async function withHub(
  options: Parameters<typeof serveHub>[1],
  fn: (hub: ReturnType<typeof serveHub>, dir: string) => Promise<void>,
): Promise<void> {
  const hub = serveHub(root, options);
  const dir = await Deno.makeTempDir();
  try {
    await fn(hub, dir);
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function same(a: string, b: string) {
  assert.deepEqual(await Deno.readFile(a), await Deno.readFile(b), `${a} equals ${b}`);
}

Deno.test("downloadModel fetches config, tokenizer and weights, checks them, and keeps complete files", () =>
  withHub({}, async (hub, dir) => {
    const progress: DownloadProgress[] = [];
    const result = await downloadModel("EleutherAI/tiny-neox", {
      endpoint: hub.endpoint,
      dir,
      onProgress: (p) => progress.push(p),
    });
    assert.equal(result.commit, "0123456789abcdef0123456789abcdef01234567");
    assert.deepEqual(result.files.map((f) => [f.name, f.verified, f.status]), [
      ["config.json", "git-sha1", "downloaded"],
      ["tokenizer.json", "git-sha1", "downloaded"],
      ["model.safetensors", "sha256", "downloaded"],
    ]);
    for (const f of ["config.json", "tokenizer.json", "model.safetensors"]) {
      await same(join(dir, f), join(root, "EleutherAI/tiny-neox", f));
    }
    const total = result.files.reduce((n, f) => n + f.size, 0);
    assert.ok(progress.length > 3, "progress after every chunk");
    assert.ok(progress.every((p, i) => p.total === total && (i === 0 || p.bytes >= progress[i - 1].bytes)));
    assert.equal(progress.at(-1)!.bytes, total);
    hub.log.length = 0;
    const again = await downloadModel("EleutherAI/tiny-neox", { endpoint: hub.endpoint, dir });
    assert.ok(again.files.every((f) => f.status === "present"));
    assert.ok(hub.log.every((l) => l.startsWith("HEAD")), "nothing is downloaded twice");
  }));

Deno.test("downloadModel follows a sharded index and fetches every shard", () =>
  withHub({}, async (hub, dir) => {
    const result = await downloadModel("acme/sharded", { endpoint: hub.endpoint, dir, revision: "refs/pr/1" });
    const shards = result.files.filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f.name));
    assert.ok(shards.length >= 2 && shards.every((f) => f.verified === "sha256"));
    assert.ok(result.files.some((f) => f.name === "model.safetensors.index.json"));
    for (const f of result.files) await same(join(dir, f.name), join(root, "acme/sharded", f.name));
    assert.ok(hub.log.some((l) => l.includes("/resolve/refs%2Fpr%2F1/config.json")));
  }));

Deno.test("an interrupted download resumes from its .part with an HTTP Range request", () =>
  withHub({}, async (hub, dir) => {
    hub.faults.cutAfter = { "model.safetensors": 10_000 };
    await assert.rejects(() => downloadModel("EleutherAI/tiny-neox", { endpoint: hub.endpoint, dir }));
    const part = await Deno.stat(join(dir, "model.safetensors.part"));
    assert.ok(part.size > 0 && part.size <= 10_000, `partial file of ${part.size} bytes kept`);
    const result = await downloadModel("EleutherAI/tiny-neox", { endpoint: hub.endpoint, dir });
    assert.ok(
      hub.log.includes(`GET /cdn/EleutherAI/tiny-neox/model.safetensors bytes=${part.size}-`),
      hub.log.join("\n"),
    );
    assert.deepEqual(result.files.map((f) => f.status), ["present", "present", "resumed"]);
    await same(join(dir, "model.safetensors"), join(root, "EleutherAI/tiny-neox/model.safetensors"));
    await assert.rejects(() => Deno.stat(join(dir, "model.safetensors.part")), Deno.errors.NotFound);
  }));

Deno.test("a corrupted download is refused and removed", () =>
  withHub({}, async (hub, dir) => {
    hub.faults.corrupt = new Set(["model.safetensors"]);
    await assert.rejects(
      () => downloadModel("EleutherAI/tiny-neox", { endpoint: hub.endpoint, dir }),
      /Refusing model\.safetensors: its sha256 is [0-9a-f]{64}, the Hub states [0-9a-f]{64}/,
    );
    for (const f of ["model.safetensors", "model.safetensors.part"]) {
      await assert.rejects(() => Deno.stat(join(dir, f)), Deno.errors.NotFound);
    }
    hub.faults.corrupt.clear();
    await downloadModel("EleutherAI/tiny-neox", { endpoint: hub.endpoint, dir });
    await same(join(dir, "model.safetensors"), join(root, "EleutherAI/tiny-neox/model.safetensors"));
  }));

Deno.test("tokens, missing files and unsafe names give errors that say what to do", () =>
  withHub({ token: "hf_secret" }, async (hub, dir) => {
    await assert.rejects(
      () => downloadModel("EleutherAI/tiny-neox", { endpoint: hub.endpoint, dir }),
      /answered 401 .*pass a token, e\.g\. from HF_TOKEN/,
    );
    const ok = await downloadModel("EleutherAI/tiny-neox", { endpoint: hub.endpoint, dir, token: "hf_secret" });
    assert.equal(ok.files.length, 3);
    await assert.rejects(
      () => downloadModel("EleutherAI/absent", { endpoint: hub.endpoint, dir, token: "hf_secret" }),
      /config\.json is missing at revision main/,
    );
    assert.throws(() => resolveUrl("EleutherAI/x", "../../etc/passwd"), TypeError);
    assert.throws(() => resolveUrl("no-owner", "config.json"), /owner\/name/);
  }));

globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));

Deno.test("downloadModel refuses an index whose shard names leave the folder, or is not JSON, naming the index", async () => {
  for (
    const [repo, text] of [
      ["acme/escape", JSON.stringify({ weight_map: { "embed_out.weight": "../../outside.safetensors" } })],
      ["acme/garbled", '{"weight_map": {"embed_out.weight": "model-0'],
    ]
  ) {
    await saveModel(join(root, repo), config, weights, { maxShardBytes: 40_000 });
    await Deno.writeTextFile(join(root, repo, "tokenizer.json"), "{}");
    await Deno.writeTextFile(join(root, repo, "model.safetensors.index.json"), text);
    await withHub({}, async (hub, dir) => {
      await assert.rejects(
        () => downloadModel(repo, { endpoint: hub.endpoint, dir }),
        (e) => e instanceof Error && e.message.includes(join(dir, "model.safetensors.index.json")),
      );
      assert.equal(
        (await Array.fromAsync(Deno.readDir(join(dir, "..")))).some((e) => e.name === "outside.safetensors"),
        false,
      );
    });
  }
});
