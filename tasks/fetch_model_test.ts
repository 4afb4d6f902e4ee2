import assert from "node:assert/strict";
import { join } from "node:path";
import { Hono } from "hono";
import type { ProgressEvent, StageDeps } from "@saelab/runs";
import { testDeps } from "@saelab/runs/testing";
import { run } from "./fetch_model.ts";

const FILES: Record<string, string> = {
  "config.json": '{"model_type":"gpt_neox"}',
  "tokenizer.json": '{"model":{"type":"BPE"}}',
  "model.safetensors": "x".repeat(5000),
};

function deps(events: ProgressEvent[], env?: Record<string, string>): StageDeps {
  return testDeps("runs", { progress: (e) => events.push(e), env });
}

Deno.test("fetch-model downloads through HF_ENDPOINT with HF_TOKEN and reports byte progress", async () => {
  const seen: string[] = [];
  const app = new Hono();
  app.on(["GET", "HEAD"], "/:owner/:name/resolve/:rev/:file", (c) => {
    seen.push(`${c.req.method} ${c.req.param("rev")} ${c.req.header("authorization")}`);
    const body = FILES[c.req.param("file")];
    if (body === undefined) return c.text("no", 404);
    const headers = { "Content-Length": String(body.length) };
    return c.req.method === "HEAD" ? c.body(null, 200, headers) : c.body(body, 200, headers);
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const dir = await Deno.makeTempDir();
  try {
    const events: ProgressEvent[] = [];
    const env = { HF_ENDPOINT: `http://127.0.0.1:${server.addr.port}`, HF_TOKEN: "hf_abc" };
    const result = await run({ repo: "org/tiny", revision: "v1", out: dir }, deps(events, env));
    assert.match(result.message!, /org\/tiny: 3 files .* in /);
    for (const [name, body] of Object.entries(FILES)) assert.equal(await Deno.readTextFile(join(dir, name)), body);
    assert.ok(seen.every((s) => s.endsWith(" v1 Bearer hf_abc")), seen.join("\n"));
    const last = events.at(-1)!;
    assert.equal(last.label, "fetch-model");
    assert.equal(last.done, 5000 + FILES["config.json"].length + FILES["tokenizer.json"].length);
    assert.equal(last.total, last.done);
    // the repository may be given as the argument instead
    const positional = join(dir, "positional");
    await run({ _: ["org/tiny"], revision: "v1", out: positional }, deps([], env));
    assert.equal(await Deno.readTextFile(join(positional, "config.json")), FILES["config.json"]);
    await assert.rejects(() => run({}, deps([])), { name: "TypeError", message: /name a Hub repository/ });
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
