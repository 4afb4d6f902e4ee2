import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  ChatClient,
  type ChatClientOptions,
  ChatError,
  llmBackend,
  scoreFeature,
  tokenLookupBackend,
} from "@saelab/autointerp";
import { onCat, plantedSamples, randomText } from "./_synthetic.ts";

type Handler = (body: { messages: { role: string; content: string }[] }) => Response | Promise<Response>;

/** A chat-completions server on 127.0.0.1 that answers from a script, then with `fallback`. */
async function withServer(
  script: Handler[],
  fallback: Handler,
  fn: (url: string, seen: { bodies: unknown[]; maxActive: number }) => Promise<void>,
) {
  const seen = { bodies: [] as unknown[], maxActive: 0 };
  let active = 0;
  const app = new Hono();
  app.post("/v1/chat/completions", async (c) => {
    const body = await c.req.json();
    seen.bodies.push(body);
    active++;
    seen.maxActive = Math.max(seen.maxActive, active);
    try {
      return await (script.shift() ?? fallback)(body);
    } finally {
      active--;
    }
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/v1`, seen);
  } finally {
    await server.shutdown();
  }
}

const answer = (content: string, usage = { prompt_tokens: 10, completion_tokens: 5 }) =>
  Response.json({ choices: [{ message: { role: "assistant", content } }], usage });
const status = (code: number, headers: Record<string, string> = {}) => new Response("busy", { status: code, headers });
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function client(url: string, extra: Partial<ChatClientOptions> = {}) {
  const waits: number[] = [];
  const c = new ChatClient({
    baseUrl: url,
    model: "test-model",
    apiKey: "k",
    backoffMs: 100,
    timeoutMs: 2000,
    prices: { input: 2, output: 8 },
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    ...extra,
  });
  return { c, waits };
}

Deno.test("retries 500 and 429 with exponential back-off and Retry-After; tallies tokens and cost", async () => {
  await withServer([() => status(500), () => status(429, { "retry-after": "3" })], () => answer("ok"), async (url) => {
    const { c, waits } = client(url);
    const a = await c.chat([{ role: "user", content: "hi" }]);
    assert.equal(a.content, "ok");
    assert.deepEqual(waits, [100, 3000]); // 100·2⁰, then max(100·2¹, Retry-After 3 s)
    assert.equal(c.tally.retries, 2);
    assert.equal(c.tally.requests, 1);
    assert.equal(c.tally.promptTokens, 10);
    assert.ok(Math.abs(c.tally.cost - (10 * 2 + 5 * 8) / 1e6) < 1e-15);
  });
});

Deno.test("a request that times out is abandoned and retried", async () => {
  await withServer([async () => (await delay(400), answer("late"))], () => answer("on time"), async (url) => {
    const { c } = client(url, { timeoutMs: 100 });
    const a = await c.chat([{ role: "user", content: "hi" }]);
    assert.equal(a.content, "on time");
    assert.equal(c.tally.retries, 1);
  });
});

Deno.test("4xx other than 429 fails at once; retries run out with a ChatError", async () => {
  await withServer([() => status(400)], () => status(503), async (url, seen) => {
    const { c } = client(url, { maxRetries: 2 });
    await assert.rejects(
      () => c.chat([{ role: "user", content: "a" }]),
      (e) => e instanceof ChatError && e.status === 400,
    );
    assert.equal(seen.bodies.length, 1);
    await assert.rejects(() => c.chat([{ role: "user", content: "b" }]), /HTTP 503 \(after 3 attempts\)/);
    assert.equal(seen.bodies.length, 4);
  });
});

Deno.test("at most `concurrency` requests are in flight", async () => {
  await withServer([], async () => (await delay(30), answer("x")), async (url, seen) => {
    const { c } = client(url, { concurrency: 2 });
    await Promise.all(Array.from({ length: 7 }, (_, i) => c.chat([{ role: "user", content: `q${i}` }])));
    assert.equal(seen.bodies.length, 7);
    assert.equal(seen.maxActive, 2);
  });
});

Deno.test("answers are cached on disk by request: a second client makes no request", async () => {
  const dir = await Deno.makeTempDir({ prefix: "llm-cache-" });
  try {
    await withServer([], () => answer("cached answer"), async (url, seen) => {
      const first = client(url, { cacheDir: dir }).c;
      await first.chat([{ role: "user", content: "same" }]);
      const second = client(url, { cacheDir: dir }).c;
      const a = await second.chat([{ role: "user", content: "same" }]);
      assert.deepEqual(a, { content: "cached answer", cached: true });
      assert.equal(second.tally.cacheHits, 1);
      assert.equal(seen.bodies.length, 1);
      await second.chat([{ role: "user", content: "different" }]);
      assert.equal(seen.bodies.length, 2);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const cat = plantedSamples(randomText(300, 16, 5), [onCat])[0];
/** Answers like a model that understood the cat feature, by prompt type. */
const sensible: Handler = (body) => {
  const system = body.messages[0].content;
  // the question itself (a correction comes after it)
  const user = body.messages.findLast((m) => m.role === "user" && !m.content.startsWith("That answer"))!.content;
  if (system.includes("summarize")) return answer(" the word cat.");
  if (system.includes("predict")) {
    const block = user.slice(user.lastIndexOf("<start>\n") + 8, user.lastIndexOf("<end>"));
    const lines = block.split("\n").filter((l) => l !== "");
    const values = lines.map((l) => `${l.split("\t")[0]}\t${l.startsWith(" cat\t") ? 10 : 0}`);
    return answer(`<start>\n${values.join("\n")}\n<end>`);
  }
  const texts = user.split("\n").filter((l) => l.startsWith("Text "));
  return answer(JSON.stringify({ answers: texts.map((t) => (t.includes(" cat") ? 9 : 1)) }));
};

Deno.test("LLM backend end to end: a malformed simulation is corrected, then scored like the token-lookup backend", async () => {
  let bad = true;
  const malformedOnce: Handler = (body) => {
    if (bad && body.messages[0].content.includes("predict")) {
      bad = false;
      return answer("<start>\n the\t0\n cat"); // cut off
    }
    return sensible(body);
  };
  await withServer([() => status(500)], malformedOnce, async (url, seen) => {
    const { c } = client(url);
    const s = await scoreFeature(cat, llmBackend(c), { seed: 1 });
    assert.equal(s.backend, "openai:test-model");
    assert.equal(s.error, undefined);
    assert.equal(s.explanation, "the word cat");
    assert.ok(s.score! > 0.9, `score ${s.score}`);
    assert.ok(s.detection!.auc > 0.9 && s.detection!.n === 20);
    const correction = seen.bodies.find((b) =>
      (b as { messages: { content: string }[] }).messages.some((m) =>
        m.content.startsWith("That answer could not be used")
      )
    );
    assert.ok(correction, "a correction was sent after the malformed answer");
    const lookup = await scoreFeature(cat, tokenLookupBackend(), { seed: 1 });
    assert.ok(Math.abs(lookup.score! - s.score!) < 0.2);
  });
});

Deno.test("LLM backend: an answer that stays unusable is recorded as the feature's error", async () => {
  await withServer(
    [],
    (body) => body.messages[0].content.includes("predict") ? answer("no idea") : sensible(body),
    async (url) => {
      const { c } = client(url);
      const s = await scoreFeature(cat, llmBackend(c, { parseRetries: 1 }));
      assert.equal(s.score, null);
      assert.match(s.error!, /unusable answer after 2 tries: line "no idea" has no tab/);
    },
  );
});
